"""GET /v1/tenant/usage (aggregates) and GET /v1/tenant/usage/events (paged), admin only.

Money leaves as JSON numbers written from the exact Decimal (orjson fragments),
never through a float: 0.000001234 stays 0.000001234. The pydantic models below
describe the answers for the OpenAPI document; the bodies are rendered directly.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel

from modelgate.deps import AdminPrincipal, SessionDep
from modelgate.errors import ValidationFailed
from modelgate.metering import query
from modelgate.metering.query import GROUPS, UsageFilter

router = APIRouter(tags=["usage"])

MAX_RANGE_DAYS = 366
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
EVENT_ID_PATTERN = r"^ue_[0-9a-f]{24}$"


class UsageFigures(BaseModel):
    requests: int
    errors: int  # calls whose status was 400 or more (499: the client left)
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    reasoning_tokens: int
    cost_usd: float  # exact decimal; the sum over priced calls
    credits: float


class UsageGroup(UsageFigures):
    day: str | None = None
    model: str | None = None
    provider: str | None = None
    source: str | None = None
    token: str | None = None  # the token prefix


class UsageReport(BaseModel):
    data: list[UsageGroup]
    totals: UsageFigures


class UsageEventOut(BaseModel):
    id: str
    request_id: str
    created_at: datetime
    model: str
    base_model: str | None
    provider: str | None
    source: str | None
    token_prefix: str
    endpoint: str
    stream: bool
    status: int
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    reasoning_tokens: int
    usage_source: str
    cost_usd: float | None
    credits: float
    latency_ms: int
    ttft_ms: int | None
    attempts: int


class UsageEventPage(BaseModel):
    data: list[UsageEventOut]
    has_more: bool


def _decimal_as_number(value: Any) -> orjson.Fragment:
    if isinstance(value, Decimal):
        return orjson.Fragment(format(value.normalize(), "f").encode())
    raise TypeError(type(value).__name__)


def _json(body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body, default=_decimal_as_number), media_type="application/json")


def _day(value: str | None, param: str, default: date) -> date:
    if value is None:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"{param}: {value!r} is not a date (YYYY-MM-DD).", param=param) from None


def _groups(value: str) -> tuple[str, ...]:
    names = [name.strip() for name in value.split(",")]
    unknown = [name for name in names if name not in GROUPS]
    if unknown or not names:
        raise ValidationFailed(
            f"group_by: unknown {unknown[0]!r}; use a comma list of {', '.join(GROUPS)}.",
            param="group_by",
        )
    return tuple(dict.fromkeys(names))  # each once, in the order given


@router.get("/v1/tenant/usage", response_model=UsageReport)
async def usage(
    principal: AdminPrincipal,
    session: SessionDep,
    start: Annotated[
        str | None, Query(pattern=DATE_PATTERN, description="First day (UTC), inclusive; default: the 1st of this month")
    ] = None,
    end: Annotated[
        str | None, Query(pattern=DATE_PATTERN, description="Last day (UTC), inclusive; default: today")
    ] = None,
    group_by: Annotated[
        str, Query(max_length=100, description="Comma list of day, model, provider, source, token")
    ] = "day",
) -> Response:
    today = datetime.now(UTC).date()
    first, last = _day(start, "start", today.replace(day=1)), _day(end, "end", today)
    if first > last:
        raise ValidationFailed("start: must not be after end.", param="start")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise ValidationFailed(f"end: the range is over {MAX_RANGE_DAYS} days.", param="end")
    data, totals = await query.aggregate(
        session, tenant_id=principal.tenant_id, start=first, end=last, group_by=_groups(group_by)
    )
    return _json({"data": data, "totals": totals})


@router.get("/v1/tenant/usage/events", response_model=UsageEventPage)
async def usage_events(
    principal: AdminPrincipal,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    after: Annotated[
        str | None, Query(pattern=EVENT_ID_PATTERN, description="id of the last event seen")
    ] = None,
    model: Annotated[str | None, Query(max_length=200)] = None,
    provider: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[int | None, Query(ge=100, le=599)] = None,
) -> Response:
    data, has_more = await query.events_page(
        session,
        tenant_id=principal.tenant_id,
        limit=limit,
        after=after,
        filters=UsageFilter(model=model, provider=provider, status=status),
    )
    return _json({"data": data, "has_more": has_more})
