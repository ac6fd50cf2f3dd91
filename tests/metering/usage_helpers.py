"""Building usage events for the storage and API tests."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from itertools import count

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from modelgate.metering.events import UsageEvent
from modelgate.metering.models import UsageDaily, UsageEventRow

_sequence = count(1)


def event_id(moment: datetime) -> str:
    """An id in creation order, as new_event_id makes them, for a chosen moment."""
    return f"ue_{int(moment.timestamp() * 1000):012x}{next(_sequence):04x}{os.urandom(4).hex()}"


def make_event(tenant_id: str, **fields: object) -> UsageEvent:
    created_at = fields.pop("created_at", None) or datetime.now(UTC)
    base = dict(
        id=event_id(created_at),  # type: ignore[arg-type]
        tenant_id=tenant_id,
        request_id=f"req-{next(_sequence)}",
        created_at=created_at,
        model="gpt-4o-mini",
        base_model="gpt-4o-mini",
        provider="openai",
        source="hosted",
        token_prefix="mg_abcdefgh",
        endpoint="chat",
        stream=False,
        status=200,
        input_tokens=10,
        output_tokens=20,
        cached_input_tokens=0,
        reasoning_tokens=0,
        usage_source="provider",
        cost_nusd=1_500,
        credits_n=2_100,
        latency_ms=120,
        ttft_ms=None,
    )
    base.update(fields)
    return UsageEvent(**base)  # type: ignore[arg-type]


async def stored_ids(engine: AsyncEngine, tenant_id: str | None = None) -> list[str]:
    query = select(UsageEventRow.id)
    if tenant_id is not None:
        query = query.where(UsageEventRow.tenant_id == tenant_id)
    async with engine.connect() as connection:
        return list((await connection.execute(query)).scalars())


async def rollup_requests(engine: AsyncEngine, tenant_id: str) -> int:
    query = select(func.coalesce(func.sum(UsageDaily.requests), 0)).where(
        UsageDaily.tenant_id == tenant_id
    )
    async with engine.connect() as connection:
        return int((await connection.execute(query)).scalar_one())


async def empty_usage(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("DELETE FROM usage_events"))
        await connection.execute(text("DELETE FROM usage_daily"))
