"""How the events table grows for years: monthly partitions and a retention horizon.

PostgreSQL: ``usage_events`` is partitioned by month of ``created_at``. The
recorder calls ``prepare_months`` before it writes a batch holding a month it has
not seen yet (once a month per process): the month's partition is created if it
is missing, and partitions older than the retention horizon are dropped, which is
instant and leaves no dead rows to vacuum, unlike a DELETE of millions of rows.
SQLite (one small node) keeps one table and deletes expired rows instead.

``usage_retention_months`` = N keeps the current month and the N-1 before it;
0 keeps everything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime

from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncConnection

from modelgate.metering.models import UsageDaily, UsageEventRow

PARTITION_NAME = re.compile(r"^usage_events_(\d{4})_(\d{2})$")
# Two processes creating the same partition at once would collide in the catalog.
_LOCK = "SELECT pg_advisory_xact_lock(hashtext('modelgate.usage_events.partitions'))"


def month_of(moment: datetime) -> date:
    moment = moment.astimezone(UTC)
    return date(moment.year, moment.month, 1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def retention_cutoff(now: datetime, retention_months: int) -> date | None:
    """The first month kept (None: keep everything)."""
    if retention_months <= 0:
        return None
    return add_months(month_of(now), -(retention_months - 1))


def partition_name(month: date) -> str:
    return f"usage_events_{month:%Y_%m}"


async def prepare_months(
    connection: AsyncConnection, months: Iterable[date], *, now: datetime, retention_months: int
) -> None:
    """Make the given months writable and expire what is past the horizon."""
    cutoff = retention_cutoff(now, retention_months)
    if connection.dialect.name == "postgresql":
        await connection.execute(text(_LOCK))
        for month in sorted(set(months)):
            # Names and bounds come from dates we computed, never from input.
            await connection.execute(text(
                f"CREATE TABLE IF NOT EXISTS {partition_name(month)} PARTITION OF usage_events "
                f"FOR VALUES FROM ('{month.isoformat()}T00:00:00+00:00') "
                f"TO ('{add_months(month, 1).isoformat()}T00:00:00+00:00')"
            ))
        if cutoff is not None:
            for name in await _partitions_before(connection, cutoff):
                await connection.execute(text(f"DROP TABLE IF EXISTS {name}"))
    elif cutoff is not None:
        start = datetime(cutoff.year, cutoff.month, 1, tzinfo=UTC)
        await connection.execute(delete(UsageEventRow).where(UsageEventRow.created_at < start))
    if cutoff is not None:
        await connection.execute(delete(UsageDaily).where(UsageDaily.day < cutoff))


async def _partitions_before(connection: AsyncConnection, cutoff: date) -> list[str]:
    rows = await connection.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'usage_events'::regclass"
    ))
    expired = []
    for (name,) in rows:
        match = PARTITION_NAME.match(name)
        if match and date(int(match[1]), int(match[2]), 1) < cutoff:
            expired.append(name)
    return expired
