"""GET /v1/tenant/limits (runs:read): the tenant's platform limits and the month's credits.

Read-only by design: limits are the platform's, set by the operator's CLI, so no
write route exists here (PUT, PATCH, POST and DELETE get 405).

Money leaves as JSON numbers written from the exact Decimal (orjson fragments),
never through a float, as in the usage API. When the gateway runs a limits engine
(``gateway.limits``), its counts are used: they include the calls settled in the
last seconds that the usage recorder has not written yet, and the reservations of
calls in flight. Without one, the month's credits come from the daily roll-up and
nothing is reserved.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import orjson
from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from modelgate.db import utcnow
from modelgate.deps import GatewayDep, ReadPrincipal, SessionDep
from modelgate.limits import service
from modelgate.metering.events import to_decimal

router = APIRouter(tags=["limits"])


class LimitsOut(BaseModel):
    rpm: int | None = Field(description="Requests per minute; null: unlimited")
    tpm: int | None = Field(description="Tokens per minute; null: unlimited")
    concurrency: int | None = Field(description="Calls in flight at once; null: unlimited")
    monthly_credits: float | None = Field(
        description="Hosted credits per calendar month (UTC), exact decimal; null: unlimited"
    )
    credits_used: float = Field(description="Credits of hosted calls this month, exact decimal")
    credits_reserved: float = Field(description="Credits held by hosted calls in flight")
    period_start: date = Field(description="The first day (UTC) of the month counted")


def _decimal_as_number(value: Any) -> orjson.Fragment:
    if isinstance(value, Decimal):
        return orjson.Fragment(format(value.normalize(), "f").encode())
    raise TypeError(type(value).__name__)


@router.get("/v1/tenant/limits", response_model=LimitsOut)
async def get_limits(
    principal: ReadPrincipal, session: SessionDep, gateway: GatewayDep
) -> Response:
    now = utcnow()
    limits = await service.get_limits(session, principal.tenant_id)
    engine = getattr(gateway, "limits", None)
    if engine is not None:
        used_n, reserved_n = await engine.usage(principal.tenant_id, now)
    else:
        used_n = await service.credits_used_this_month(session, principal.tenant_id, now)
        reserved_n = 0
    body = {
        "rpm": limits.rpm,
        "tpm": limits.tpm,
        "concurrency": limits.concurrency,
        "monthly_credits": to_decimal(limits.monthly_credits_n),
        "credits_used": to_decimal(used_n),
        "credits_reserved": to_decimal(reserved_n),
        "period_start": service.month_start(now).isoformat(),
    }
    return Response(
        orjson.dumps(body, default=_decimal_as_number), media_type="application/json"
    )
