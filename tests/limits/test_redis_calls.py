"""The engine's lean Redis pool (limits/redis_calls.py) on a real, throwaway Redis:
its bound, its hand-over and wait limit, NOSCRIPT, and a cancelled call."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError, TimeoutError

from modelgate.config import load_settings
from modelgate.limits.redis_calls import LeanPool
from modelgate.limits.redis_engine import RedisLimits
from modelgate.limits.types import TenantLimits
from tests.limits.redis_server import RedisServer


@pytest.fixture
async def client(redis_server: RedisServer) -> AsyncIterator[Redis]:
    redis = Redis.from_url(redis_server.url, socket_timeout=5.0)  # a reply may take 5 s
    yield redis
    await redis.aclose()


def hold(seconds: float) -> tuple[bytes, ...]:
    """A command that holds its connection for ``seconds`` and answers 0: WAIT for a
    replica that this Redis does not have."""
    return (b"WAIT", b"1", b"%d" % int(seconds * 1000))


async def test_at_most_size_connections_and_a_waiter_gets_the_next_one_free(
    client: Redis,
) -> None:
    pool = LeanPool(client, size=2, timeout=5.0)
    try:
        started = time.monotonic()
        replies = await asyncio.gather(*(pool.command(*hold(0.2)) for _ in range(6)))
        elapsed = time.monotonic() - started
        assert replies == [0] * 6  # every one ran, none timed out
        # 6 calls of 0.2 s over 2 connections: 3 rounds. More connections would be faster.
        assert elapsed >= 0.55, elapsed
        assert len(pool._all) == 2
    finally:
        await pool.aclose()


async def test_a_caller_waits_at_most_the_timeout_then_the_pool_still_serves(
    client: Redis,
) -> None:
    pool = LeanPool(client, size=1, timeout=0.1)
    try:
        busy = asyncio.create_task(pool.command(*hold(0.5)))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        with pytest.raises(ConnectionError, match="No connection available"):
            await pool.command(b"PING")
        assert time.monotonic() - started < 0.4
        assert await busy == 0
        # The waiter that gave up left nothing behind: the one connection serves again.
        assert await pool.command(b"ECHO", b"after") == b"after"
    finally:
        await pool.aclose()


async def test_a_cancelled_call_never_hands_its_reply_to_the_next_caller(
    client: Redis,
) -> None:
    pool = LeanPool(client, size=1, timeout=5.0)
    try:
        held = asyncio.create_task(pool.command(*hold(0.3)))
        await asyncio.sleep(0.05)
        held.cancel()
        with pytest.raises(asyncio.CancelledError):
            await held
        # Same and only connection: it must answer ECHO, not hand over WAIT's 0.
        assert await pool.command(b"ECHO", b"mine") == b"mine"
    finally:
        await pool.aclose()


async def test_a_reply_that_does_not_come_in_time_drops_the_connection(
    redis_server: RedisServer,
) -> None:
    slow = Redis.from_url(redis_server.url, socket_timeout=0.1)
    pool = LeanPool(slow, size=1, timeout=5.0)
    try:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await pool.command(*hold(0.5))
        assert time.monotonic() - started < 0.4
        # WAIT's late 0 must not be read as the next reply.
        assert await pool.command(b"ECHO", b"next") == b"next"
    finally:
        await pool.aclose()
        await slow.aclose()


async def test_scripts_flushed_by_a_redis_restart_are_loaded_again(
    redis_server: RedisServer, client: Redis
) -> None:
    engine = RedisLimits.from_settings(load_settings(redis_url=redis_server.url,
                                                     redis_timeout=2.0))
    tenant = f"tn_{uuid.uuid4().hex[:12]}"
    limits = TenantLimits(rpm=100)
    try:
        first = await engine.admit(tenant, limits, request_id="req_1", tokens=1, credits_n=0,
                                   hosted=False)
        await client.script_flush()  # what a restarted Redis has: no scripts
        second = await engine.admit(tenant, limits, request_id="req_2", tokens=1, credits_n=0,
                                    hosted=False)
        assert first.headers["x-ratelimit-remaining-requests"] == "99"
        assert second.headers["x-ratelimit-remaining-requests"] == "98"
        assert await engine.settle(second, tokens=1, credits_n=0) is True
    finally:
        await engine.aclose()
