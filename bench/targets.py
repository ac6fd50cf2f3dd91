"""How each target is started on loopback, pointed at the fake upstream, and what
each call must carry. Every starter is a context manager: leaving it stops the
server (its whole process group) and drops whatever it created.

Worker policy: every proxy runs ``workers`` server processes (1 by default) with
the same server stack where it is ours (uvicorn, uvloop, httptools, no access
log); ``direct`` is the fake upstream itself, always one process, and Portkey's
gateway is one Node process (it has no worker option).

``modelgate`` is measured as issue 17 asks: metering on, the bench tenant's limits
set (every one far too high ever to refuse) and ``MODELGATE_REDIS_URL`` set: the
machine's Redis (``127.0.0.1:6379``, database ``REDIS_DB``; the tenant's keys are
deleted at the end) when it answers, else a throwaway ``redis-server``.
"""

from __future__ import annotations

import contextlib
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import litellm_proxy
import portkey_gateway
import procs
from seed import HIGH_LIMIT, seeded_database

HERE = Path(__file__).parent
CHAT_PATH = "/v1/chat/completions"
MACHINE_REDIS = ("127.0.0.1", 6379)
REDIS_DB = 9  # a database of its own on the machine's Redis: nothing else's keys
# The fair share of custom endpoints per tenant (MODELGATE_CUSTOM_ENDPOINT_TENANT_CONCURRENCY,
# 32 by default) is a limit too: never triggered at c=64 either.
TENANT_CONCURRENCY = "1000"


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
    # Why its streams are expected to fail (recorded with what the probe saw), if known.
    stream_failure: str | None = None

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
def modelgate(ctx: Context) -> Iterator[Running]:
    """``modelgate serve`` as issue 17 measures it: metering on, limits set (never
    reached), ``MODELGATE_REDIS_URL`` set."""
    executable = Path(sys.executable).with_name("modelgate")
    with seeded_database(
        ctx.workdir, ctx.upstream.url, postgres=ctx.postgres, limited=True
    ) as seeded:
        argv = [
            str(executable), "serve", "--host", "127.0.0.1", "--port", "{port}",
            "--workers", str(ctx.workers),
        ]
        notes = {"database": seeded.database, "key": "BYOK openai, base_url = the fake",
                 "workers": str(ctx.workers),
                 "metering": "on: every call's usage event written to that database",
                 "custom_endpoint_tenant_concurrency": TENANT_CONCURRENCY}
        with contextlib.ExitStack() as stack:
            env = {**seeded.env, "MODELGATE_CUSTOM_ENDPOINT_TENANT_CONCURRENCY": TENANT_CONCURRENCY}
            redis_url, where = stack.enter_context(_redis_for(ctx, seeded.tenant_id))
            env["MODELGATE_REDIS_URL"] = redis_url
            notes["limits"] = (f"rpm, tpm, concurrency {HIGH_LIMIT} each (never refuse); "
                               f"MODELGATE_REDIS_URL = {where}")
            # cwd is the run's temp dir, so a developer's .env is not read.
            server = stack.enter_context(
                _started("modelgate", argv, ctx, env=env, ready_path="/readyz"))
            yield Running(
                server,
                headers={"Authorization": f"Bearer {seeded.token}", "IC-Api-Version": "2026-05-01"},
                notes=notes,
            )


def _machine_redis_answers() -> bool:
    try:
        with socket.create_connection(MACHINE_REDIS, timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def _redis_for(ctx: Context, tenant_id: str) -> Iterator[tuple[str, str]]:
    """(MODELGATE_REDIS_URL, what it is): the machine's Redis, else a throwaway one."""
    if _machine_redis_answers():
        host, port = MACHINE_REDIS
        url = f"redis://{host}:{port}/{REDIS_DB}"
        try:
            yield url, f"the machine's Redis ({host}:{port}, db {REDIS_DB})"
        finally:
            _drop_tenant_keys(url, tenant_id)
        return
    argv = ["redis-server", "--port", "{port}", "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(ctx.workdir)]
    with _started("redis", argv, ctx) as server:
        yield f"redis://127.0.0.1:{server.port}/0", "a throwaway redis-server"


def _drop_tenant_keys(url: str, tenant_id: str) -> None:
    """The bench tenant's limit keys (``…{tenant}…``), nothing else."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        keys = list(client.scan_iter(match=f"*{{{tenant_id}}}*", count=1000))
        if keys:
            client.delete(*keys)
    except redis.RedisError as exc:
        print(f"   could not delete the bench tenant's Redis keys: {exc}", flush=True)
    finally:
        client.close()


@contextmanager
def portkey(ctx: Context) -> Iterator[Running]:
    server_js, node_version = portkey_gateway.ensure_installed()
    argv = portkey_gateway.command(server_js, "{port}")
    with _started("portkey", argv, ctx, timeout=60) as server:
        yield Running(
            server,
            headers=portkey_gateway.headers(ctx.upstream.url),
            notes={"version": portkey_gateway.VERSION, "node": node_version,
                   "processes": "1 (Node; no worker option)", "database": "none"},
            stream_failure=portkey_gateway.KNOWN_STREAM_FAILURE,
        )


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
        "portkey": portkey,
        "litellm": litellm,
    }
