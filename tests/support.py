"""Test support: real databases, a real server on loopback, seeded tenants.

Nothing here mocks gateway code: tests talk HTTP to a uvicorn server running
the real app in a background thread, backed by a real SQLite file or a real
PostgreSQL database created for this test run.
"""

from __future__ import annotations

import asyncio
import io
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine

from modelgate.app import create_app
from modelgate.config import Settings, load_settings
from modelgate.db import session_factory
from modelgate.keys.keyring import generate_keyring_spec
from modelgate.tenants import service as tenants
from modelgate.tenants.tokens import Scope
from tests import canaries

# One keyring for the whole run, so that every gateway a test starts can read
# what another one stored (PostgreSQL requires an explicit keyring).
TEST_KEYRING = generate_keyring_spec("test-primary")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


LOG_STREAMS: list["LogStream"] = []  # every gateway's log, for the canary scan


class LogStream(io.TextIOBase):
    """A thread-safe in-memory stream that the app's JSON log handler writes to."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parts: list[str] = []

    def write(self, text: str) -> int:
        with self._lock:
            self._parts.append(text)
        return len(text)

    def text(self) -> str:
        with self._lock:
            return "".join(self._parts)


@dataclass
class RunningGateway:
    url: str
    settings: Settings
    logs: LogStream
    server: uvicorn.Server
    app: object

    @property
    def gateway(self):
        """The app's lifetime state (caches, engine), for checks from the outside."""
        return self.app.state.gateway  # type: ignore[attr-defined]


@contextmanager
def run_gateway(
    *, register_sent_secrets: bool = True, lean_routes: bool = True, **overrides: object
) -> Iterator[RunningGateway]:
    """Serve the real app on a free loopback port until the block ends. Bearer
    tokens and keys sent to it count as secrets for the canary scan, unless
    ``register_sent_secrets`` is off (see tests/canaries.py). ``lean_routes=False``
    serves the calls through FastAPI's routes only (src/modelgate/lean_routes.py)."""
    overrides.setdefault("encryption_keys", TEST_KEYRING)
    overrides.setdefault("log_level", "DEBUG")  # the most verbose: the canaries must hold even so
    settings = load_settings(**overrides)
    _register_secrets(settings)
    logs = LogStream()
    LOG_STREAMS.append(logs)
    app = create_app(settings, log_stream=logs, lean_routes=lean_routes)
    port = free_port()
    config = uvicorn.Config(
        canaries.ResponseTee(app, register_sent=register_sent_secrets),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test gateway did not start")
        time.sleep(0.01)
    try:
        yield RunningGateway(
            url=f"http://127.0.0.1:{port}", settings=settings, logs=logs, server=server, app=app
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _register_secrets(settings: Settings) -> None:
    for name, value in settings:
        if name.endswith("_api_key") and value is not None:
            canaries.register(value.get_secret_value())
    if settings.encryption_keys is not None:
        canaries.register_keyring(settings.encryption_keys.get_secret_value())
    canaries.register_sqlite(settings.database_url)


@dataclass(frozen=True)
class SeededTenant:
    id: str
    name: str
    tokens: dict[str, str]  # "admin" / "read" / "write" / "none"

    def headers(self, which: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[which]}"}


_counter = iter(range(1_000_000))


async def seed_tenant(engine: AsyncEngine, name: str | None = None) -> SeededTenant:
    """A tenant with one token per scope set, created through the real service layer."""
    name = name or f"tenant-{next(_counter)}-{time.monotonic_ns()}"
    async with session_factory(engine)() as session, session.begin():
        tenant = await tenants.create_tenant(session, name=name)
        tokens = {
            "admin": await tenants.create_token(
                session, tenant=tenant, scopes=[Scope.ADMIN], name="admin"
            ),
            "read": await tenants.create_token(
                session, tenant=tenant, scopes=[Scope.RUNS_READ], name="read"
            ),
            "write": await tenants.create_token(
                session, tenant=tenant, scopes=[Scope.RUNS_WRITE], name="write"
            ),
        }
    canaries.register(*tokens.values())
    return SeededTenant(id=tenant.id, name=name, tokens=tokens)


def run(coro):
    """Run a coroutine to completion from sync code (CLI-style tests)."""
    return asyncio.run(coro)
