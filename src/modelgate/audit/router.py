"""GET /v1/tenant/audit_log (admin): key and settings changes, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from modelgate.audit import service
from modelgate.deps import AdminPrincipal, SessionDep

router = APIRouter(tags=["audit"])


class AuditEntryOut(BaseModel):
    id: int
    action: str
    provider: str | None
    token_prefix: str | None
    request_id: str | None
    created_at: datetime


class AuditPage(BaseModel):
    data: list[AuditEntryOut]
    has_more: bool


@router.get("/v1/tenant/audit_log", response_model=AuditPage)
async def list_audit_log(
    principal: AdminPrincipal,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    after: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="id of the last entry seen")
    ] = None,
) -> AuditPage:
    rows, has_more = await service.page(
        session, tenant_id=principal.tenant_id, limit=limit, after=after
    )
    return AuditPage(
        data=[AuditEntryOut.model_validate(row, from_attributes=True) for row in rows],
        has_more=has_more,
    )
