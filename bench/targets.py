"""How each target is started on loopback, pointed at the fake upstream, and what
each call must carry. Every starter is a context manager: leaving it stops the
server (its whole process group) and drops whatever it created.

Worker policy: every proxy runs ``workers`` server processes (1 by default) with
the same server stack where it is ours (uvicorn, uvloop, httptools, no access
log); ``direct`` is the fake upstream itself, always one process.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import litellm_proxy
import procs
from seed import HIGH_LIMIT, seeded_database

HERE = Path(__file__).parent
CHAT_PATH = "/v1/chat/completions"


@dataclass
class Context:
    upstream: procs.Server  # the fake, already running
    workdir: Path  # temporary: configs, SQLite file, logs
    workers: int
    postgres: str | None  # server URL to create a database on, or None for SQLite


@dataclass
class Running:
    server: procs.Server
    headers: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # goes to the JSON's meta

    @property
    def url(self) -> str:
        return self.server.url + CHAT_PATH


@contextmanager
def _started(name: str, argv: list[str], ctx: Context, **kwargs) -> Iterator[procs.Server]:
    port = procs.free_port()
    server = procs.start(
        name, [arg.replace("{port}", str(port)) for arg in argv],
        port=port, log_dir=ctx.workdir, cwd=ctx.workdir, **kwargs,
    )
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def direct(ctx: Context) -> Iterator[Running]:
    yield Running(ctx.upstream, notes={"processes": "1 (the fake upstream)"})


def passthrough(transport: str):
    @contextmanager
    def start(ctx: Context) -> Iterator[Running]:
        argv = [
            sys.executable, str(HERE / "passthrough.py"), "--port", "{port}",
            "--upstream", ctx.upstream.url, "--transport", transport,
            "--workers", str(ctx.workers),
        ]
        with _started(f"passthrough-{transport}", argv, ctx) as server:
            yield Running(server, notes={"transport": transport, "workers": str(ctx.workers)})

    return start


@contextmanager
def modelgate(ctx: Context, *, limited: bool = False) -> Iterator[Running]:
    executable = Path(sys.executable).with_name("modelgate")
    name = "modelgate_limits" if limited else "modelgate"
    with seeded_database(
        ctx.workdir, ctx.upstream.url, postgres=ctx.postgres, limited=limited
    ) as seeded:
        argv = [
            str(executable), "serve", "--host", "127.0.0.1", "--port", "{port}",
            "--workers", str(ctx.workers),
        ]
        notes = {"database": seeded.database, "key": "BYOK openai, base_url = the fake",
                 "workers": str(ctx.workers),
                 "metering": "on: every call's usage event written to that database"}
        with contextlib.ExitStack() as stack:
            env = dict(seeded.env)
            if limited:
                redis = stack.enter_context(_redis(ctx))
                env["MODELGATE_REDIS_URL"] = f"redis://127.0.0.1:{redis.port}/0"
                notes["limits"] = (f"rpm, tpm, concurrency {HIGH_LIMIT} each (never refuse); "
                                   "MODELGATE_REDIS_URL = a throwaway redis-server")
            # cwd is the run's temp dir, so a developer's .env is not read.
            server = stack.enter_context(
                _started(name, argv, ctx, env=env, ready_path="/readyz"))
            yield Running(
                server,
                headers={"Authorization": f"Bearer {seeded.token}", "IC-Api-Version": "2026-05-01"},
                notes=notes,
            )


@contextmanager
def modelgate_limits(ctx: Context) -> Iterator[Running]:
    """``modelgate`` with the bench tenant's limits set and the engine on Redis."""
    with modelgate(ctx, limited=True) as running:
        yield running


@contextmanager
def _redis(ctx: Context) -> Iterator[procs.Server]:
    """A throwaway redis-server on loopback: no persistence, stopped at the end."""
    argv = ["redis-server", "--port", "{port}", "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(ctx.workdir)]
    with _started("redis", argv, ctx) as server:
        yield server


@contextmanager
def litellm(ctx: Context) -> Iterator[Running]:
    executable = litellm_proxy.ensure_installed()
    config = litellm_proxy.write_config(ctx.workdir / "litellm.yaml", ctx.upstream.url, "gpt-5.5")
    argv = litellm_proxy.command(executable, config, 0, ctx.workers)
    argv[argv.index("--port") + 1] = "{port}"
    with _started(
        "litellm", argv, ctx, env=litellm_proxy.ENV, ready_path="/health/liveliness", timeout=120
    ) as server:
        yield Running(
            server,
            headers={"Authorization": f"Bearer {litellm_proxy.MASTER_KEY}"},
            notes={"version": litellm_proxy.VERSION, "database": "none",
                   "workers": str(ctx.workers)},
        )


def registry(floor_transport: str) -> dict[str, object]:
    """Target name → starter, in the order they run. The floor's transport is reported
    as ``passthrough``; the other transport as ``passthrough_<name>``."""
    other = "aiohttp" if floor_transport == "httpx" else "httpx"
    return {
        "direct": direct,
        "passthrough": passthrough(floor_transport),
        f"passthrough_{other}": passthrough(other),
        "modelgate": modelgate,
        "modelgate_limits": modelgate_limits,
        "litellm": litellm,
    }
