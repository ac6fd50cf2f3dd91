"""Benchmark: the usage API for a tenant with a million events (not a test).

Creates a PostgreSQL database, seeds 1,000,000 usage events for one tenant in one
month through the recorder's own batch writer (so the daily roll-up is built the
way production builds it, and the write rate is measured too), adds noise tenants
with generate_series, then times the month aggregate and the events page through
the same query functions the endpoints call. Drops the database at the end.

    .venv/bin/python bench/usage_seed.py [--events 1000000] [--server URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from modelgate import migrate
from modelgate.db import create_engine, session_factory
from modelgate.metering.batch_write import write_batch
from modelgate.metering.events import UsageEvent
from modelgate.metering.partitions import prepare_months
from modelgate.metering.query import UsageFilter, aggregate, events_page

DEFAULT_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
TENANT = "ten_bench_main"
MONTH = date(2026, 11, 1)
MODELS = [("gpt-4o-mini", "openai"), ("gpt-4o", "openai"), ("claude-sonnet", "anthropic"),
          ("gemini-2.0-flash", "google"), ("llama-3.3-70b", "groq")]
TOKENS = [f"mg_bench{n:03d}" for n in range(7)]
BATCH = 5000


async def _admin(server: str, statement: str) -> None:
    engine = create_async_engine(server, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def _events(count: int) -> list[UsageEvent]:
    start = datetime(MONTH.year, MONTH.month, 1, tzinfo=UTC)
    step = timedelta(days=30) / count
    out = []
    for n in range(count):
        created = start + step * n
        model, provider = MODELS[n % len(MODELS)]
        out.append(UsageEvent(
            id=f"ue_{int(created.timestamp() * 1000):012x}{n:012x}", tenant_id=TENANT,
            request_id=f"req-{n}", created_at=created, model=model, base_model=model,
            provider=provider, source="hosted" if n % 3 else "byok",
            token_prefix=TOKENS[n % len(TOKENS)], endpoint="chat", stream=bool(n % 2),
            status=500 if n % 97 == 0 else 200, input_tokens=100 + n % 50, output_tokens=200,
            cached_input_tokens=n % 10, reasoning_tokens=0, usage_source="provider",
            cost_nusd=123_456 + n % 1000, credits_n=172_838, latency_ms=300, ttft_ms=None,
        ))
    return out


NOISE = """
INSERT INTO usage_events SELECT
  'ue_' || lpad(to_hex(i), 24, '0'), timestamptz '2026-10-01' + i * interval '7 second',
  'ten_noise_' || (i % 100), 'r', 'gpt-4o', 'gpt-4o', 'openai', 'hosted', 'mg_noise000',
  'chat', false, 200, 100, 200, 0, 0, 'provider', 1000, 1400, 300, NULL, 1
FROM generate_series(1, :count) AS i
"""
NOISE_ROLLUP = """
INSERT INTO usage_daily SELECT tenant_id, CAST(created_at AT TIME ZONE 'UTC' AS DATE), model,
  provider, source, token_prefix, count(*), 0, sum(input_tokens), sum(output_tokens), 0, 0,
  sum(cost_nusd), sum(credits_n)
FROM usage_events WHERE tenant_id LIKE 'ten_noise_%' GROUP BY 1, 2, 3, 4, 5, 6
"""


async def _timed(label: str, runs: int, call) -> None:  # type: ignore[no-untyped-def]
    await call()  # warm: the first run plans and prepares
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    print(f"{label:<46} median {statistics.median(times):7.2f} ms   "
          f"p95 {times[int(len(times) * 0.95) - 1]:7.2f} ms   max {times[-1]:7.2f} ms")


async def main(events: int, server: str) -> None:
    name = f"modelgate_bench_usage_{uuid.uuid4().hex[:8]}"
    await _admin(server, f'CREATE DATABASE "{name}"')
    url = f"{server.rsplit('/', 1)[0]}/{name}"
    engine = create_engine(url)
    try:
        await migrate.upgrade_async(url)
        async with engine.begin() as connection:
            await prepare_months(connection, {date(2026, 10, 1), MONTH, date(2026, 12, 1)},
                                 now=datetime(2026, 12, 1, tzinfo=UTC), retention_months=0)
        seeded = _events(events)
        started = time.perf_counter()
        for offset in range(0, len(seeded), BATCH):
            async with engine.begin() as connection:
                await write_batch(connection, seeded[offset : offset + BATCH])
        seconds = time.perf_counter() - started
        print(f"seeded {events:,} events for {TENANT} through write_batch in {seconds:.1f} s "
              f"({events / seconds:,.0f} events/s, batches of {BATCH})")
        # No command timeout here: the bulk noise statements take longer than a request may.
        bulk = create_async_engine(url)
        async with bulk.begin() as connection:
            await connection.execute(text(NOISE), {"count": events})
            await connection.execute(text(NOISE_ROLLUP))
            await connection.execute(text("ANALYZE"))
            rollup = (await connection.execute(text(
                "SELECT count(*) FROM usage_daily WHERE tenant_id = :t"), {"t": TENANT})).scalar()
        await bulk.dispose()
        print(f"plus {events:,} noise events for 100 other tenants; "
              f"{rollup} roll-up rows for {TENANT} this month")
        sessions = session_factory(engine)
        last_day = date(2026, 11, 30)

        def month(group_by: tuple[str, ...]):  # type: ignore[no-untyped-def]
            async def run() -> None:
                async with sessions() as session:
                    await aggregate(session, tenant_id=TENANT, start=MONTH, end=last_day,
                                    group_by=group_by)
            return run

        async def first_page() -> None:
            async with sessions() as session:
                await events_page(session, tenant_id=TENANT, limit=100, after=None,
                                  filters=UsageFilter())

        middle = seeded[len(seeded) // 2].id

        async def deep_page() -> None:
            async with sessions() as session:
                await events_page(session, tenant_id=TENANT, limit=100, after=middle,
                                  filters=UsageFilter(model="gpt-4o"))

        await _timed("month aggregate, group_by=day", 30, month(("day",)))
        await _timed("month aggregate, group_by=day,model,provider,source,token", 30,
                     month(("day", "model", "provider", "source", "token")))
        await _timed("events page (limit 100), newest", 30, first_page)
        await _timed("events page (limit 100), mid-month, model filter", 30, deep_page)
    finally:
        await engine.dispose()
        await _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--server", default=os.environ.get("MODELGATE_BENCH_POSTGRES", DEFAULT_SERVER))
    args = parser.parse_args()
    asyncio.run(main(args.events, args.server))
