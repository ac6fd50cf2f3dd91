"""The usage recorder: a bounded in-memory buffer, written in batches off the hot path.

``record(event)`` is what a call does when it ends: an O(1) append that never
awaits and never touches the database. A background task takes up to
``usage_batch_max`` events at a time and writes each batch in one statement
(batch_write.py), at most ``usage_flush_interval`` after the event was recorded,
sooner when a full batch is waiting.

When the database is down the batch that failed is kept and retried first, with
a backoff (one warning per outage, one info line on recovery); new events keep
filling the buffer. The buffer holds at most ``usage_buffer_max`` events (plus
the batch being retried): when it is full the OLDEST is dropped and counted in
``dropped``, which the metrics read, with at most one warning a minute. A batch
the database rejects as data (an over-long value, say) is retried event by event,
so that only the bad events are lost, counted in ``rejected``.

``close()`` flushes what is left within a bounded time: the lifespan shutdown
(uvicorn runs it on SIGTERM) awaits it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Sequence
from datetime import date

from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from modelgate.config import Settings
from modelgate.db import utcnow
from modelgate.metering.metrics import count_dropped
from modelgate.metering.batch_write import write_batch
from modelgate.metering.events import UsageEvent
from modelgate.metering.partitions import month_of, prepare_months, retention_cutoff

log = logging.getLogger("modelgate.metering")

MAX_BACKOFF = 30.0  # seconds between attempts while the database is down
DROP_WARNING_EVERY = 60.0  # seconds
SHUTDOWN_TIMEOUT = 10.0  # uvicorn's graceful shutdown should leave room for this


class UsageRecorder:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        flush_interval: float,
        buffer_max: int,
        batch_max: int,
        retention_months: int,
        shutdown_timeout: float = SHUTDOWN_TIMEOUT,
    ) -> None:
        self._engine = engine
        self._interval = flush_interval
        self._buffer_max = buffer_max
        self._batch_max = batch_max
        self._retention_months = retention_months
        self._shutdown_timeout = shutdown_timeout
        self._buffer: deque[UsageEvent] = deque()
        self._retry: list[UsageEvent] = []  # the batch whose write failed, written first
        self._prepared: set[date] = set()  # months whose partition this process made sure of
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._outage = False
        self._drops_unreported = 0
        self._last_drop_warning = float("-inf")
        self.dropped = 0  # events lost because the buffer was full
        self.rejected = 0  # events the database refused as data
        self.written = 0  # events written (a retried duplicate counts again)

    @classmethod
    def from_settings(cls, engine: AsyncEngine, settings: Settings) -> UsageRecorder:
        return cls(
            engine,
            flush_interval=settings.usage_flush_interval,
            buffer_max=settings.usage_buffer_max,
            batch_max=settings.usage_batch_max,
            retention_months=settings.usage_retention_months,
        )

    @property
    def pending(self) -> int:
        """Events recorded and not written yet."""
        return len(self._buffer) + len(self._retry)

    def record(self, event: UsageEvent) -> None:
        """Queue one event. Synchronous and O(1): safe anywhere on the request path."""
        if len(self._buffer) >= self._buffer_max:
            self._buffer.popleft()
            self.dropped += 1
            count_dropped()  # modelgate_usage_events_dropped_total
            self._drops_unreported += 1
            self._warn_drops()
        self._buffer.append(event)
        # A full batch goes now; but not while the database is down (that is the backoff's).
        if len(self._buffer) >= self._batch_max and not self._outage:
            self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="usage-recorder")

    async def close(self) -> None:
        """Write what is left, giving up after ``shutdown_timeout`` seconds."""
        if self._task is None:
            return
        self._closing = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), self._shutdown_timeout)
        except TimeoutError:
            self._task.cancel()
        if self.pending:
            log.error("usage recorder closed with %d events unwritten", self.pending)

    async def _run(self) -> None:
        backoff = 0.0
        while True:
            try:
                async with asyncio.timeout(backoff or self._interval):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            written = await self._flush()
            if self._closing:
                return
            backoff = 0.0 if written else min(max(backoff * 2, self._interval), MAX_BACKOFF)

    async def _flush(self) -> bool:
        """Write every pending event; False when the database could not be reached."""
        while self._retry or self._buffer:
            if not self._retry:
                count = min(self._batch_max, len(self._buffer))
                self._retry = [self._buffer.popleft() for _ in range(count)]
            try:
                try:
                    await self._write(self._retry)
                except (DataError, IntegrityError):
                    await self._write_one_by_one()
            except Exception as exc:  # the database is unreachable, or anything else: retry
                if not self._outage:
                    self._outage = True
                    log.warning(
                        "usage events cannot be written (%s); holding %d and retrying",
                        type(exc).__name__, self.pending,
                    )
                return False
            self.written += len(self._retry)
            self._retry = []
            if self._outage:
                self._outage = False
                log.info("usage events are written again; %d pending", self.pending)
        return True

    async def _write(self, batch: Sequence[UsageEvent]) -> None:
        now = utcnow()
        cutoff = retention_cutoff(now, self._retention_months)
        if cutoff is not None:  # past the horizon: its partition is gone, and so would it be
            batch = [event for event in batch if month_of(event.created_at) >= cutoff]
        months = {month_of(event.created_at) for event in batch} - self._prepared
        if months:
            async with self._engine.begin() as connection:
                await prepare_months(
                    connection, months, now=now, retention_months=self._retention_months
                )
            self._prepared |= months
        async with self._engine.begin() as connection:
            await write_batch(connection, batch)

    async def _write_one_by_one(self) -> None:
        """Isolate the events the database refuses; the rest are written. An event
        leaves ``_retry`` only once it is written or refused, so an outage midway
        keeps the others for the next attempt."""
        while self._retry:
            event = self._retry[0]
            try:
                await self._write([event])
                self.written += 1
            except (DataError, IntegrityError) as exc:
                self.rejected += 1
                log.error(
                    "usage event %s rejected by the database: %s (SQLSTATE %s)",
                    event.id, type(exc).__name__, getattr(exc.orig, "sqlstate", "?"),
                )
            self._retry.pop(0)

    def _warn_drops(self) -> None:
        now = time.monotonic()
        if now - self._last_drop_warning >= DROP_WARNING_EVERY:
            log.warning(
                "usage buffer full (%d events): dropped the oldest %d",
                self._buffer_max, self._drops_unreported,
            )
            self._drops_unreported = 0
            self._last_drop_warning = now
