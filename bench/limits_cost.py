"""What the tenant limits cost per call, in CPU µs, with Redis: the chat path's
limits work, run in one process, with limits and without, in one run (issue 14, item 7).

    python bench/limits_cost.py [--calls 50000] [--concurrency 1,16]

A throwaway ``redis-server`` (loopback, no persistence) is started and stopped
here. Per call, "limited" does what ``chat/router.py`` and ``metering/sink.py``
do for a BYOK call of a tenant with limits (rpm, tpm and concurrency set, each
far too high ever to refuse): ``limits.gate.admit`` on the engine the gateway
builds when ``MODELGATE_REDIS_URL`` is set (``FallbackLimits`` over
``RedisLimits``: one admit script), then ``Settlements.settle`` with the call's
usage event (a task running the finish script). The measurement ends only after
every settle has finished, so their cost is in the figure.

"Unlimited" runs the same loop without any of it. Both yield to the event loop
once per call (``asyncio.sleep(0)``), as the gateway does between calls. The
difference, over ``--calls`` calls, is the limits' CPU per call in this process
(``time.process_time()``: the gateway's side). Redis's own CPU is another process,
read from ``/proc`` and printed beside it, not added.

``--concurrency`` runs that many callers at once (1 is chat_c1, 16 chat_c16); the
figures are per call. The last line is machine-readable:

    c1_us=A c1_unlimited_us=B c1_redis_us=C c16_us=… …
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

import orjson
import procs
import uvloop
from fake_upstream import completion_body

from modelgate.catalog import load_catalog
from modelgate.config import load_settings
from modelgate.limits.engine import build_limits
from modelgate.limits.gate import Settlements, admit
from modelgate.limits.types import TenantLimits
from modelgate.logs import request_id_var
from modelgate.metering.events import UsageEvent
from modelgate.metering.meter import CallMeter
from modelgate.tenants.auth import Principal
from modelgate.tenants.tokens import Scope

MODEL = "gpt-4o"
BODY = {"model": MODEL, "messages": [{"role": "user", "content": "Say hello."}],
        "max_tokens": 32}
BODY_BYTES = len(orjson.dumps(BODY))
HIGH = 2**31 - 1  # the largest limit the CLI takes: never reached
LIMITS = TenantLimits(rpm=HIGH, tpm=HIGH, concurrency=HIGH)
TENANT = "tn_bench_limits"
PRINCIPAL = Principal(
    tenant_id=TENANT, token_prefix="mg_benchlim", scopes=frozenset({Scope.RUNS_WRITE}),
    api_version="2026-05-01", hosted_keys_enabled=False,
)


def start_redis(workdir: Path) -> procs.Server:
    """A throwaway redis-server on a free loopback port, no persistence."""
    port = procs.free_port()
    return procs.start(
        "redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                  "--appendonly", "no", "--dir", str(workdir)],
        port=port, log_dir=workdir,
    )


def usage_event(settings) -> UsageEvent:
    """The event a BYOK call of the benchmark's fake upstream leaves (real counts)."""
    spec = load_catalog().get(MODEL)
    assert spec is not None
    meter = CallMeter.open(PRINCIPAL, endpoint="chat")
    meter.requested(BODY, stream=False)
    meter.settle(spec=spec, provider="openai", source="byok")
    meter.sent()
    meter.answered(orjson.loads(completion_body()))
    return meter.close(200, margin=settings.credit_margin)


async def measure(redis_url: str, calls: int, concurrency: int, redis_pid: int) -> dict:
    settings = load_settings(redis_url=redis_url)
    spec = load_catalog().get(MODEL)
    assert spec is not None
    event = usage_event(settings)
    engine = build_limits(settings)
    settlements = Settlements(engine)
    per_caller = calls // concurrency
    total = per_caller * concurrency

    async def limited(caller: int) -> None:
        for i in range(per_caller):
            admission = await admit(
                engine, LIMITS, tenant_id=TENANT, request_id=f"req_{caller}_{i}",
                body_bytes=BODY_BYTES, requested_output=32, model=spec, hosted=False,
                margin=settings.credit_margin,
            )
            assert admission is not None
            settlements.settle(admission, event)
            await asyncio.sleep(0)

    async def unlimited(caller: int) -> None:
        for _ in range(per_caller):
            await asyncio.sleep(0)

    async def timed(caller) -> tuple[float, float]:
        redis_before = procs.cpu_seconds(redis_pid)
        started = time.process_time()
        await asyncio.gather(*(caller(n) for n in range(concurrency)))
        await settlements.wait()  # every settle done: theirs is in the figure
        return time.process_time() - started, procs.cpu_seconds(redis_pid) - redis_before

    try:
        await engine.admit(TENANT, LIMITS, request_id="warm", tokens=1, credits_n=0,
                           hosted=False)  # the pool's first connection, the scripts loaded
        for _ in range(2):  # a warm-up, then the measurement
            off, _ = await timed(unlimited)
            on, redis_cpu = await timed(limited)
        if engine.status != "redis":
            raise SystemExit(f"the engine fell back to this process ({engine.status})")
    finally:
        await settlements.close()
    out = {
        f"c{concurrency}_us": round((on - off) * 1e6 / total, 1),
        f"c{concurrency}_unlimited_us": round(off * 1e6 / total, 1),
        f"c{concurrency}_redis_us": round(redis_cpu * 1e6 / total, 1),
    }
    print(f"c={concurrency:<3} {total:,} calls: limited {on * 1e6 / total:.1f} µs/call, "
          f"unlimited {off * 1e6 / total:.1f} µs/call → limits "
          f"{out[f'c{concurrency}_us']} µs/call (redis-server "
          f"{out[f'c{concurrency}_redis_us']} µs/call)", flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=50_000, help="calls per concurrency")
    parser.add_argument("--concurrency", default="1,16",
                        help="comma-separated numbers of callers at once")
    args = parser.parse_args()
    request_id_var.set("req_bench_limits")
    workdir = Path(tempfile.mkdtemp(prefix="modelgate-limits-cost-"))
    redis = start_redis(workdir)
    try:
        print(f"limits cost: {args.calls:,} calls per concurrency, redis on loopback, uvloop",
              flush=True)
        figures: dict = {}
        for concurrency in (int(c) for c in args.concurrency.split(",")):
            url = f"redis://127.0.0.1:{redis.port}/{len(figures) // 3}"  # a fresh db each
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                figures.update(runner.run(
                    measure(url, args.calls, concurrency, redis.proc.pid)))
        print(" ".join(f"{key}={value}" for key, value in figures.items()))
    finally:
        redis.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
