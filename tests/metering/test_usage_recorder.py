"""The usage recorder against real databases: batches within the interval, one
statement per batch on PostgreSQL, nothing lost on close, nothing written twice,
the oldest dropped (and counted) when the buffer is full."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import delete, event
from sqlalchemy.ext.asyncio import AsyncEngine

from modelgate import migrate
from modelgate.db import create_engine
from modelgate.metering.models import UsageDaily, UsageEventRow
from modelgate.metering.recorder import UsageRecorder
from tests.metering.usage_helpers import make_event, rollup_requests, stored_ids


def recorder_for(engine: AsyncEngine, **overrides: object) -> UsageRecorder:
    options: dict = dict(flush_interval=0.2, buffer_max=10_000, batch_max=100, retention_months=13)
    options.update(overrides)
    return UsageRecorder(engine, **options)


def tenant_id() -> str:
    return f"ten_{uuid.uuid4().hex[:12]}"


async def wait_for(check: Callable, timeout: float = 5.0) -> float:
    """Seconds until ``await check()`` is true (fails after ``timeout``)."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > timeout:
            raise AssertionError("timed out")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def test_a_batch_is_written_within_the_flush_interval(clean_engine: AsyncEngine) -> None:
    tenant = tenant_id()
    recorder = recorder_for(clean_engine, flush_interval=0.3)
    recorder.start()
    try:
        await asyncio.sleep(0.05)  # the writer is waiting: the event lands mid-interval
        events = [make_event(tenant) for _ in range(7)]
        for item in events:
            recorder.record(item)
        assert await stored_ids(clean_engine, tenant) == []  # record() wrote nothing itself

        async def all_written() -> bool:
            return len(await stored_ids(clean_engine, tenant)) == 7

        elapsed = await wait_for(all_written)
        assert elapsed < 0.3 + 0.5  # the interval, plus the time of one write
        assert sorted(await stored_ids(clean_engine, tenant)) == sorted(e.id for e in events)
        assert await rollup_requests(clean_engine, tenant) == 7
    finally:
        await recorder.close()


async def test_one_insert_statement_per_batch_on_postgres(postgres_server_url: str) -> None:
    await migrate.upgrade_async(postgres_server_url)
    engine = create_engine(postgres_server_url)
    statements: list[str] = []

    def count(_conn, _cursor, statement, _parameters, _context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(("many: " if executemany else "") + statement)

    tenant = tenant_id()
    recorder = recorder_for(engine, flush_interval=2.0, batch_max=100)
    try:
        # The month's partition is made once per process, before its first batch.
        recorder.record(make_event(tenant))
        recorder.start()
        await asyncio.sleep(0)
        recorder._wake.set()

        async def first_written() -> bool:
            return recorder.pending == 0

        await wait_for(first_written)
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        for _ in range(250):
            recorder.record(make_event(tenant))
        await recorder.close()
        writes = [s for s in statements if "usage_events" in s or "usage_daily" in s]
        assert len(writes) == 3, writes  # 100 + 100 + 50: one statement each
        assert all(not s.startswith("many: ") and s.lstrip().startswith("WITH") for s in writes)
        assert len(await stored_ids(engine, tenant)) == 251
        assert await rollup_requests(engine, tenant) == 251
    finally:
        async with engine.begin() as connection:
            await connection.execute(delete(UsageEventRow).where(UsageEventRow.tenant_id == tenant))
            await connection.execute(delete(UsageDaily).where(UsageDaily.tenant_id == tenant))
        await engine.dispose()


async def test_close_writes_everything_left(clean_engine: AsyncEngine) -> None:
    tenant = tenant_id()
    recorder = recorder_for(clean_engine, flush_interval=2.0, batch_max=400)
    recorder.start()
    events = [make_event(tenant) for _ in range(1000)]
    for item in events:
        recorder.record(item)
    await recorder.close()
    assert sorted(await stored_ids(clean_engine, tenant)) == sorted(e.id for e in events)
    assert recorder.pending == 0 and recorder.dropped == 0


async def test_nothing_is_written_twice(clean_engine: AsyncEngine) -> None:
    """A duplicate record() call, and a batch retried after its commit went through
    but the acknowledgment was lost: each event is stored and counted once."""
    tenant = tenant_id()
    lost_acks = []

    def note_batch(conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if "INSERT INTO usage_events" in statement:
            conn.info["batch_written"] = True

    def commit_then_fail(conn) -> None:  # type: ignore[no-untyped-def]
        # The batch's real commit happens, then the client hears an error: the ambiguous case.
        if conn.info.pop("batch_written", False) and not lost_acks:
            conn.connection.dbapi_connection.commit()
            lost_acks.append(1)
            raise ConnectionResetError("acknowledgment lost")

    recorder = recorder_for(clean_engine, flush_interval=0.05)
    first, second = make_event(tenant), make_event(tenant)
    recorder.record(first)
    recorder.record(first)  # the same event twice
    recorder.record(second)
    event.listen(clean_engine.sync_engine, "before_cursor_execute", note_batch)
    event.listen(clean_engine.sync_engine, "commit", commit_then_fail)
    try:
        recorder.start()

        async def retried() -> bool:
            return bool(lost_acks) and recorder.pending == 0

        await wait_for(retried)
    finally:
        await recorder.close()
        event.remove(clean_engine.sync_engine, "commit", commit_then_fail)
        event.remove(clean_engine.sync_engine, "before_cursor_execute", note_batch)
    assert lost_acks == [1] and recorder.rejected == 0
    assert sorted(await stored_ids(clean_engine, tenant)) == sorted([first.id, second.id])
    assert await rollup_requests(clean_engine, tenant) == 2


async def test_a_full_buffer_drops_the_oldest_and_counts_them(
    clean_engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    tenant = tenant_id()
    recorder = recorder_for(clean_engine, buffer_max=3)
    events = [make_event(tenant) for _ in range(5)]
    with caplog.at_level(logging.WARNING, logger="modelgate.metering"):
        for item in events:
            recorder.record(item)
    assert recorder.dropped == 2 and recorder.pending == 3
    assert len([r for r in caplog.records if "buffer full" in r.getMessage()]) == 1  # rate-limited
    recorder.start()
    await recorder.close()
    assert sorted(await stored_ids(clean_engine, tenant)) == sorted(e.id for e in events[2:])


async def test_record_is_synchronous_and_never_touches_the_database() -> None:
    """An engine that cannot connect: record() still returns at once, and holds."""
    engine = create_engine("postgresql+asyncpg://postgres@127.0.0.1:9/nowhere")
    recorder = recorder_for(engine)
    started = time.perf_counter()
    for _ in range(10_000):
        recorder.record(make_event("ten_x"))
    assert time.perf_counter() - started < 1.0
    assert recorder.pending == 10_000
    await engine.dispose()
