"""Invalidation over PostgreSQL LISTEN/NOTIFY, when there is no Redis.

SQLAlchemy's pooled connections cannot hold a LISTEN (they go back to the pool),
so each process keeps one dedicated asyncpg connection for it. Publishing is a
``pg_notify`` on a pooled connection: PostgreSQL delivers it at commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from modelgate.cluster.invalidation import PG_CHANNEL

# An idle LISTEN connection that the network dropped raises nothing: check it.
_CHECK_EVERY = 5.0
_CHECK_TIMEOUT = 5.0
_CONNECT_TIMEOUT = 5.0
# How the listener's connection shows in pg_stat_activity (one per process).
APPLICATION_NAME = "modelgate-invalidation"


def asyncpg_dsn(database_url: str) -> str:
    """``postgresql+asyncpg://…`` as the plain DSN asyncpg itself accepts."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class PgPublisher:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def publish(self, payload: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": PG_CHANNEL, "payload": payload},
            )

    async def close(self) -> None:
        return None  # the engine is the application's


class PgSubscription:
    name = "PostgreSQL"

    def __init__(self, database_url: str) -> None:
        self._dsn = asyncpg_dsn(database_url)

    async def listen(
        self, deliver: Callable[[str | bytes], None], connected: Callable[[], None]
    ) -> None:
        lost = asyncio.Event()
        connection = await asyncpg.connect(
            self._dsn,
            timeout=_CONNECT_TIMEOUT,
            server_settings={"application_name": APPLICATION_NAME},
        )
        try:
            connection.add_termination_listener(lambda _connection: lost.set())
            await connection.add_listener(
                PG_CHANNEL, lambda _connection, _pid, _channel, payload: deliver(payload)
            )
            connected()
            while not lost.is_set():
                try:
                    await asyncio.wait_for(lost.wait(), _CHECK_EVERY)
                except TimeoutError:
                    await connection.fetchval("SELECT 1", timeout=_CHECK_TIMEOUT)
        finally:
            connection.terminate()  # no goodbye needed, and none can hang
