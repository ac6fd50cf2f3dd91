"""Exactness under concurrency: 3 OS processes on one Redis, and one process
without it. Each process fires all its admits at once (released together on a
"go"), so every call is in flight at the same time: the peers' failure case
(LiteLLM: 544 of 1,022 calls passed a limit of 100)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from dataclasses import asdict
from pathlib import Path

from modelgate.config import load_settings
from modelgate.errors import GatewayError
from modelgate.limits.local import LocalLimits
from modelgate.limits.redis_engine import RedisLimits
from modelgate.limits.types import Admission, TenantLimits
from tests.limits.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]
WORST_CASE_N = 2_000_000  # one call's worst-case credits (0.002)


def run_workers(
    server: RedisServer, tenant: str, limits: TenantLimits, *, processes: int, calls: int
) -> list[dict]:
    """Start the workers, release them together, let them settle; their reports."""
    workers = [
        subprocess.Popen(
            [
                sys.executable, "-m", "tests.limits.burst_worker", server.url, tenant,
                str(calls), json.dumps(asdict(limits)), str(WORST_CASE_N),
            ],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        for _ in range(processes)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        for worker in workers:  # the "go": all at once
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        reports = [json.loads(w.stdout.readline()) for w in workers]  # type: ignore[union-attr]
        for worker in workers:
            worker.stdin.write("settle\n")  # type: ignore[union-attr]
            worker.stdin.flush()  # type: ignore[union-attr]
        for worker in workers:
            assert worker.stdout.readline().strip() == "settled"  # type: ignore[union-attr]
            assert worker.wait(timeout=30) == 0
        return reports
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()


async def _usage(server: RedisServer, tenant: str) -> tuple[int, int]:
    engine = RedisLimits.from_settings(load_settings(redis_url=server.url))
    try:
        return await engine.usage(tenant)
    finally:
        await engine.aclose()


async def test_a_budget_for_10_calls_admits_exactly_10_of_60_over_3_processes(
    redis_server: RedisServer,
) -> None:
    tenant = f"tn_{uuid.uuid4().hex[:12]}"
    limits = TenantLimits(monthly_credits_n=10 * WORST_CASE_N)
    reports = await asyncio.to_thread(
        run_workers, redis_server, tenant, limits, processes=3, calls=20
    )
    assert sum(r["admitted"] for r in reports) == 10
    assert sum(r["refused"].get("insufficient_quota", 0) for r in reports) == 50
    # Settled at 70% of the worst case each: the month holds exactly what was spent.
    assert await _usage(redis_server, tenant) == (10 * WORST_CASE_N * 7 // 10, 0)


async def test_rpm_100_admits_exactly_100_of_300_over_3_processes(
    redis_server: RedisServer,
) -> None:
    tenant = f"tn_{uuid.uuid4().hex[:12]}"
    reports = await asyncio.to_thread(
        run_workers, redis_server, tenant, TenantLimits(rpm=100), processes=3, calls=100
    )
    # One request drains every 600 ms: the bursts must all fit in that to be "at once".
    assert max(r["ms"] for r in reports) < 600, reports
    assert sum(r["admitted"] for r in reports) == 100
    assert sum(r["refused"].get("rate_limit_exceeded", 0) for r in reports) == 200


async def _burst(engine: LocalLimits, tenant: str, limits: TenantLimits, calls: int) -> int:
    async def one() -> bool:
        try:
            admission = await engine.admit(
                tenant, limits, request_id=uuid.uuid4().hex, tokens=10,
                credits_n=WORST_CASE_N, hosted=True,
            )
        except GatewayError:
            return False
        assert isinstance(admission, Admission)
        await asyncio.sleep(0.05)  # in flight together
        await engine.settle(admission, tokens=10, credits_n=WORST_CASE_N * 7 // 10)
        return True

    return sum(await asyncio.gather(*(one() for _ in range(calls))))


async def test_the_same_exactness_in_one_process_without_redis() -> None:
    engine = LocalLimits(reservation_ttl=900)
    budget = TenantLimits(monthly_credits_n=10 * WORST_CASE_N)
    assert await _burst(engine, "tn_budget", budget, 60) == 10
    assert await engine.usage("tn_budget") == (10 * WORST_CASE_N * 7 // 10, 0)
    assert await _burst(engine, "tn_rpm", TenantLimits(rpm=100), 300) == 100
