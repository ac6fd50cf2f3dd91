"""Writing one batch of usage events: exactly once, with its daily roll-up.

PostgreSQL: ONE statement per batch, one round trip. The events travel as one
array per column (``unnest``), so the statement text never changes with the
batch size (asyncpg prepares it once per connection, and no batch can hit the
32767-parameter limit); a data-modifying CTE inserts them with ON CONFLICT DO
NOTHING and feeds only the rows it really inserted to the roll-up upsert.

SQLite: under the transaction's write lock, the ids already stored are looked
up, the others inserted with one executemany, and added to the roll-up.

Either way a batch retried after an ambiguous failure (the commit happened, its
acknowledgment was lost) inserts nothing and adds nothing to the roll-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC

from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from modelgate.metering.events import UsageEvent
from modelgate.metering.models import ROLLUP_KEY, SUMMED, UsageDaily, UsageEventRow

EVENTS = UsageEventRow.__table__
DAILY = UsageDaily.__table__
COLUMNS = tuple(column.name for column in EVENTS.columns)


def _pg_batch_statement() -> str:
    dialect = postgresql.dialect()
    arrays = ", ".join(
        f"CAST(:{name} AS {EVENTS.c[name].type.compile(dialect=dialect)}[])" for name in COLUMNS
    )
    names = ", ".join(COLUMNS)
    key = ", ".join(ROLLUP_KEY)
    sums = ", ".join(SUMMED)
    updates = ", ".join(f"{name} = usage_daily.{name} + EXCLUDED.{name}" for name in SUMMED)
    return f"""
WITH batch AS (
    SELECT * FROM unnest({arrays}) AS b({names})
), inserted AS (
    INSERT INTO usage_events ({names}) SELECT {names} FROM batch
    ON CONFLICT DO NOTHING
    RETURNING tenant_id, created_at, model, provider, source, token_prefix, status,
              input_tokens, output_tokens, cached_input_tokens, reasoning_tokens,
              cost_nusd, credits_n
)
INSERT INTO usage_daily ({key}, {sums})
SELECT tenant_id, CAST(created_at AT TIME ZONE 'UTC' AS DATE), model,
       COALESCE(provider, ''), COALESCE(source, ''), token_prefix,
       count(*), count(*) FILTER (WHERE status >= 400),
       sum(input_tokens), sum(output_tokens), sum(cached_input_tokens),
       sum(reasoning_tokens), COALESCE(sum(cost_nusd), 0), sum(credits_n)
FROM inserted
GROUP BY 1, 2, 3, 4, 5, 6
-- One order for every writer, so that concurrent batches cannot deadlock.
ORDER BY 1, 2, 3, 4, 5, 6
ON CONFLICT ({key}) DO UPDATE SET {updates}
"""


PG_BATCH = text(_pg_batch_statement())


def unique(events: Sequence[UsageEvent]) -> list[UsageEvent]:
    """The batch without repeats of one event (a duplicate ``record`` call)."""
    return list({event.id: event for event in events}.values())


async def write_batch(connection: AsyncConnection, events: Sequence[UsageEvent]) -> None:
    """Insert the events that are not stored yet and add them to the roll-up.
    The caller owns the transaction."""
    events = unique(events)
    if not events:
        return
    if connection.dialect.name == "postgresql":
        columns = {name: [getattr(event, name) for event in events] for name in COLUMNS}
        await connection.execute(PG_BATCH, columns)
        return
    await _sqlite_batch(connection, events)


# SQLite: one fixed statement, run with executemany over tuples (building and
# compiling a multi-row INSERT per batch cost ~35x the write itself). The
# parameters go through each column type's own bind processor (UTC datetimes,
# booleans), as SQLAlchemy would have done.
SQLITE_INSERT = (
    f"INSERT INTO usage_events ({', '.join(COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in COLUMNS)}) ON CONFLICT DO NOTHING"
)
# A write that changes nothing: it takes SQLite's write lock for the transaction,
# so no other writer can insert between the look-up of ids below and the insert.
SQLITE_TAKE_WRITE_LOCK = "UPDATE usage_daily SET requests = requests WHERE 0"
SQLITE_IDS_PER_LOOKUP = 900


async def _sqlite_batch(connection: AsyncConnection, events: Sequence[UsageEvent]) -> None:
    await connection.exec_driver_sql(SQLITE_TAKE_WRITE_LOCK)
    ids = [event.id for event in events]
    stored: set[str] = set()
    for start in range(0, len(ids), SQLITE_IDS_PER_LOOKUP):
        chunk = ids[start : start + SQLITE_IDS_PER_LOOKUP]
        marks = ", ".join("?" for _ in chunk)
        result = await connection.exec_driver_sql(
            f"SELECT id FROM usage_events WHERE id IN ({marks})", tuple(chunk)
        )
        stored.update(row[0] for row in result)
    new = [event for event in events if event.id not in stored]
    if not new:
        return
    processors = _sqlite_processors(connection)
    rows = [
        tuple(
            value if process is None else process(value)
            for value, process in zip(
                (getattr(event, name) for name in COLUMNS), processors, strict=True
            )
        )
        for event in new
    ]
    await connection.exec_driver_sql(SQLITE_INSERT, rows)
    await _add_to_rollup(connection, new)


def _sqlite_processors(connection: AsyncConnection) -> list:
    dialect = connection.dialect
    return [EVENTS.c[name].type._cached_bind_processor(dialect) for name in COLUMNS]


async def _add_to_rollup(connection: AsyncConnection, events: Sequence[UsageEvent]) -> None:
    totals: dict[tuple, dict[str, int]] = {}
    for event in events:
        key = (
            event.tenant_id, event.created_at.astimezone(UTC).date(), event.model,
            event.provider or "", event.source or "", event.token_prefix,
        )
        row = totals.setdefault(key, dict.fromkeys(SUMMED, 0))
        row["requests"] += 1
        row["errors"] += event.status >= 400
        row["input_tokens"] += event.input_tokens
        row["output_tokens"] += event.output_tokens
        row["cached_input_tokens"] += event.cached_input_tokens
        row["reasoning_tokens"] += event.reasoning_tokens
        row["cost_nusd"] += event.cost_nusd or 0
        row["credits_n"] += event.credits_n
    if not totals:
        return
    rows = [dict(zip(ROLLUP_KEY, key, strict=True), **sums) for key, sums in sorted(totals.items())]
    per_statement = 32766 // len(DAILY.columns)
    for start in range(0, len(rows), per_statement):
        statement = sqlite_insert(DAILY).values(rows[start : start + per_statement])
        statement = statement.on_conflict_do_update(
            index_elements=list(ROLLUP_KEY),
            set_={name: DAILY.c[name] + statement.excluded[name] for name in SUMMED},
        )
        await connection.execute(statement)
