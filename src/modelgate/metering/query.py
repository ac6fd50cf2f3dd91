"""Reading usage: the aggregates and the events page. Every query takes the tenant explicitly.

Aggregates read the daily roll-up (``usage_daily``), never the events: a month of
a tenant with a million calls is a few hundred roll-up rows, read by the primary
key's (tenant_id, day, …) prefix. The events page reads ``usage_events`` by its
(tenant_id, id) index; ids sort by creation time, so "newest first, after this
id" is one index range. A cursor from another tenant only bounds the range: it
matches nothing of theirs and tells nothing about them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from modelgate.metering.events import to_decimal
from modelgate.metering.models import SUMMED, UsageDaily, UsageEventRow

# group_by name -> roll-up column
GROUPS = {
    "day": UsageDaily.day,
    "model": UsageDaily.model,
    "provider": UsageDaily.provider,
    "source": UsageDaily.source,
    "token": UsageDaily.token_prefix,
}
# Roll-up keys stored as "" where the event had none (see models.py).
_EMPTY_MEANS_NONE = {"provider", "source"}


@dataclass(frozen=True)
class UsageFilter:
    model: str | None = None
    provider: str | None = None
    status: int | None = None


def _figures(row: Any) -> dict[str, Any]:
    """Sums as the API shows them: integer counts, money as exact Decimals."""
    values = {name: int(getattr(row, name) or 0) for name in SUMMED}
    return {
        "requests": values["requests"],
        "errors": values["errors"],
        "input_tokens": values["input_tokens"],
        "output_tokens": values["output_tokens"],
        "cached_input_tokens": values["cached_input_tokens"],
        "reasoning_tokens": values["reasoning_tokens"],
        "cost_usd": to_decimal(values["cost_nusd"]),
        "credits": to_decimal(values["credits_n"]),
    }


async def aggregate(
    session: AsyncSession, *, tenant_id: str, start: date, end: date, group_by: tuple[str, ...]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per group (in ``group_by`` order) and in total, for the days start..end inclusive."""
    sums = [func.sum(getattr(UsageDaily, name)).label(name) for name in SUMMED]
    where = (UsageDaily.tenant_id == tenant_id, UsageDaily.day.between(start, end))
    keys = [GROUPS[name].label(name) for name in group_by]
    query = select(*keys, *sums).where(*where).group_by(*keys).order_by(*keys)
    data = []
    for row in await session.execute(query):
        group = {}
        for name in group_by:
            value = getattr(row, name)
            if name == "day":
                value = value.isoformat()
            elif name in _EMPTY_MEANS_NONE and value == "":
                value = None
            group[name] = value
        data.append({**group, **_figures(row)})
    totals = _figures((await session.execute(select(*sums).where(*where))).one())
    return data, totals


async def events_page(
    session: AsyncSession,
    *,
    tenant_id: str,
    limit: int,
    after: str | None,
    filters: UsageFilter,
) -> tuple[list[dict[str, Any]], bool]:
    """Newest first; ``after`` is the id of the last event of the previous page."""
    query = select(UsageEventRow).where(UsageEventRow.tenant_id == tenant_id)
    if after is not None:
        query = query.where(UsageEventRow.id < after)
    if filters.model is not None:
        query = query.where(UsageEventRow.model == filters.model)
    if filters.provider is not None:
        query = query.where(UsageEventRow.provider == filters.provider)
    if filters.status is not None:
        query = query.where(UsageEventRow.status == filters.status)
    query = query.order_by(UsageEventRow.id.desc()).limit(limit + 1)
    rows = list(await session.scalars(query))
    return [_event(row) for row in rows[:limit]], len(rows) > limit


def _event(row: UsageEventRow) -> dict[str, Any]:
    cost: Decimal | None = to_decimal(row.cost_nusd)
    return {
        "id": row.id,
        "request_id": row.request_id,
        "created_at": row.created_at,
        "model": row.model,
        "base_model": row.base_model,
        "provider": row.provider,
        "source": row.source,
        "token_prefix": row.token_prefix,
        "endpoint": row.endpoint,
        "stream": row.stream,
        "status": row.status,
        "input_tokens": row.input_tokens,
        "output_tokens": row.output_tokens,
        "cached_input_tokens": row.cached_input_tokens,
        "reasoning_tokens": row.reasoning_tokens,
        "usage_source": row.usage_source,
        "cost_usd": cost,
        "credits": to_decimal(row.credits_n),
        "latency_ms": row.latency_ms,
        "ttft_ms": row.ttft_ms,
        "attempts": row.attempts,
    }
