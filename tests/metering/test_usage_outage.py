"""The database goes away while calls keep ending: the recorder holds their usage
events (bounded), warns once, and writes them all once the database is back."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator

import pytest

from modelgate.db import create_engine
from modelgate.metering.recorder import UsageRecorder
from tests.metering.usage_helpers import make_event, rollup_requests, stored_ids
from tests.reliability.pg_cluster import PrivateCluster, migrated_cluster



@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    yield from migrated_cluster()


async def test_events_are_held_through_an_outage_and_written_after(
    cluster: PrivateCluster, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_engine(cluster.url)
    recorder = UsageRecorder(
        engine, flush_interval=0.1, buffer_max=50, batch_max=10, retention_months=13
    )
    recorder.start()
    before = make_event("ten_outage")
    recorder.record(before)
    try:
        while recorder.pending:
            await asyncio.sleep(0.01)
        await asyncio.to_thread(cluster.stop)
        with caplog.at_level(logging.INFO, logger="modelgate.metering"):
            during = [make_event("ten_outage") for _ in range(60)]
            for item in during:
                recorder.record(item)
                await asyncio.sleep(0.01)  # the writer keeps trying meanwhile
            await asyncio.sleep(1.0)
            # Bounded: 50 in the buffer (+ at most one batch being retried); the oldest went.
            assert 50 <= recorder.pending <= 60 and recorder.dropped == 60 - recorder.pending
            held = list(recorder._retry) + list(recorder._buffer)
            await asyncio.to_thread(cluster.start)
            started = time.monotonic()
            while recorder.pending and time.monotonic() - started < 40:
                await asyncio.sleep(0.05)
        warnings = [r for r in caplog.records if "cannot be written" in r.getMessage()]
        assert len(warnings) == 1  # once per outage, not once per attempt
        assert any("written again" in r.getMessage() for r in caplog.records)
        stored = sorted(await stored_ids(engine, "ten_outage"))
        assert stored == sorted([before.id, *(e.id for e in held)])
        assert held[-1].id == during[-1].id  # the newest were kept
        assert await rollup_requests(engine, "ten_outage") == len(stored)
    finally:
        await recorder.close()
        await engine.dispose()
