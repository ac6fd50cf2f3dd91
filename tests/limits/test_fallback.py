"""Redis stopped in the middle of traffic: FallbackLimits keeps answering from this
process, says so, and when Redis is back it uses it again and catches up."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from pathlib import Path

import pytest

from modelgate.config import load_settings
from modelgate.limits.fallback import UNREACHABLE, FallbackLimits
from modelgate.limits.local import LocalLimits
from modelgate.limits.redis_engine import RedisLimits
from modelgate.limits.types import Admission, TenantLimits
from tests.limits.redis_server import RedisServer

WORST_N = 1000
LIMITS = TenantLimits(concurrency=10, monthly_credits_n=100_000)


class Traffic:
    """Calls through one engine; ``recorded`` is what the usage events would sum to
    (the database), which is also the month's seed."""

    def __init__(self, server: RedisServer) -> None:
        self.tenant = f"tn_{uuid.uuid4().hex[:12]}"
        self.recorded = 0
        settings = load_settings(redis_url=server.url, redis_timeout=0.25)
        self.engine = FallbackLimits(
            RedisLimits.from_settings(settings, seed=self._seed),
            LocalLimits(reservation_ttl=900, seed=self._seed),
            retry_interval=0.2,
        )

    async def _seed(self, tenant_id: str, month: str) -> int:
        return self.recorded

    async def admit(self) -> Admission:
        return await self.engine.admit(
            self.tenant, LIMITS, request_id=uuid.uuid4().hex, tokens=10, credits_n=WORST_N,
            hosted=True,
        )

    async def settle(self, admission: Admission, credits_n: int) -> None:
        await self.engine.settle(admission, tokens=10, credits_n=credits_n)
        self.recorded += credits_n

    async def call(self, credits_n: int) -> Admission:
        admission = await self.admit()
        await self.settle(admission, credits_n)
        return admission


async def test_a_killed_redis_is_replaced_by_local_limits_and_caught_up_after_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = RedisServer(data_dir=tmp_path).start()  # AOF: a restart keeps the data
    traffic = Traffic(server)
    try:
        for _ in range(5):
            assert (await traffic.call(100)).engine == "redis"
        in_flight = await traffic.admit()  # admitted by Redis, finishes during the outage
        assert await traffic.engine.usage(traffic.tenant) == (500, WORST_N)

        server.kill()
        with caplog.at_level(logging.WARNING, logger="modelgate.limits"):
            during = [await traffic.call(100) for _ in range(3)]
            await traffic.settle(in_flight, 200)
        assert {a.engine for a in during} == {"local"}
        assert traffic.engine.status == UNREACHABLE == "local (redis unreachable)"
        warnings = [r for r in caplog.records if "redis unreachable" in r.getMessage()]
        assert len(warnings) == 1  # one warning per outage, not one per call

        server.start()  # same port
        await asyncio.sleep(0.25)  # the retry interval
        assert (await traffic.call(100)).engine == "redis"
        assert traffic.engine.status == "redis"
        # Caught up: the 300 settled locally, the 200 of the call Redis had admitted
        # (its reservation given back), and nothing counted twice.
        assert await traffic.engine.usage(traffic.tenant) == (1100, 0)
        assert traffic.recorded == 1100
    finally:
        await traffic.engine.aclose()
        server.kill()


async def test_a_redis_that_stops_answering_costs_one_timeout_and_a_lost_admit_is_given_back(
    tmp_path: Path,
) -> None:
    server = RedisServer().start()
    traffic = Traffic(server)
    try:
        await traffic.call(100)
        server.pause()  # SIGSTOP: the socket stays open, nothing answers
        started = time.monotonic()
        first = await traffic.admit()  # Redis times out; this one is served locally
        assert time.monotonic() - started < 1.0
        assert first.engine == "local" and traffic.engine.status == UNREACHABLE
        started = time.monotonic()
        await traffic.settle(first, 100)
        await traffic.call(100)
        assert time.monotonic() - started < 0.1  # no more waiting on Redis meanwhile

        # The admit that timed out is still in Redis's input; it runs on resume and
        # takes a reservation nobody will settle. The catch-up releases it.
        server.resume()
        await asyncio.sleep(0.25)
        assert (await traffic.call(100)).engine == "redis"
        assert await traffic.engine.usage(traffic.tenant) == (400, 0)
    finally:
        await traffic.engine.aclose()
        server.kill()


async def test_without_redis_at_start_every_call_is_still_answered() -> None:
    server = RedisServer()  # never started: connections are refused
    traffic = Traffic(server)
    try:
        calls = [await traffic.call(100) for _ in range(3)]
        assert {a.engine for a in calls} == {"local"}
        assert traffic.engine.status == UNREACHABLE
        assert await traffic.engine.usage(traffic.tenant) == (300, 0)
    finally:
        await traffic.engine.aclose()
