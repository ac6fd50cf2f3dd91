"""One OS process of the cross-process exactness test (test_exact_across_processes.py).

    python -m tests.limits.burst_worker <redis url> <tenant> <calls> <limits json> <credits_n>

It connects and loads the scripts, prints ``ready``, waits for ``go`` on stdin,
then sends all its admits at once; it prints one JSON line of what it got, waits
for ``settle``, settles every admitted call to ``credits_n * 7 // 10`` credits
and prints ``settled``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid

from modelgate.config import load_settings
from modelgate.errors import GatewayError
from modelgate.limits.redis_engine import RedisLimits
from modelgate.limits.types import Admission, TenantLimits


async def main(url: str, tenant: str, calls: int, limits: TenantLimits, credits_n: int) -> None:
    settings = load_settings(redis_url=url, redis_pool_size=20, redis_timeout=5.0)
    engine = RedisLimits.from_settings(settings)
    # Scripts loaded and the pool's 20 connections open before the "go".
    await asyncio.gather(*(engine.usage(tenant) for _ in range(20)))
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)

    async def one() -> Admission | str:
        try:
            return await engine.admit(
                tenant, limits, request_id=uuid.uuid4().hex, tokens=10, credits_n=credits_n,
                hosted=True,
            )
        except GatewayError as error:
            return error.code

    started = time.perf_counter()
    results = await asyncio.gather(*(one() for _ in range(calls)))
    elapsed_ms = (time.perf_counter() - started) * 1000
    admitted = [r for r in results if isinstance(r, Admission)]
    refused = [r for r in results if isinstance(r, str)]
    codes = {code: refused.count(code) for code in set(refused)}
    print(json.dumps({"admitted": len(admitted), "refused": codes, "ms": elapsed_ms}), flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    for admission in admitted:
        await engine.settle(admission, tokens=10, credits_n=credits_n * 7 // 10)
    print("settled", flush=True)
    await engine.aclose()


if __name__ == "__main__":
    url, tenant, calls, limits_json, credits = sys.argv[1:6]
    limits = TenantLimits(**json.loads(limits_json))
    asyncio.run(main(url, tenant, int(calls), limits, int(credits)))
