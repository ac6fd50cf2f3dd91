"""GET /v1/tenant/audit_log (admin): key, settings and token changes, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from modelgate.audit import service
from modelgate.audit.models import AuditEntry
from modelgate.deps import AdminPrincipal, SessionDep

router = APIRouter(tags=["audit"])


class AuditEntryOut(BaseModel):
    id: int = Field(description="Number of the entry in this tenant's own sequence (1, 2, 3, …)")
    action: str
    provider: str | None
    token_prefix: str | None = Field(description="The token that made the change; null: the CLI")
    request_id: str | None
    created_at: datetime
    base_url_origin: str | None = Field(
        description="model_key.*: scheme://host:port the provider's calls go to (put) or went "
        "to (delete); null: the provider's default"
    )
    base_url_changed: bool | None = Field(
        description="model_key.*: whether the action changed where the calls go"
    )
    target_token_prefix: str | None = Field(description="token.*: the token created or revoked")

    @classmethod
    def of(cls, row: AuditEntry) -> AuditEntryOut:
        # The global primary key stays inside: it would count other tenants' entries.
        return cls(
            id=row.seq,
            action=row.action,
            provider=row.provider,
            token_prefix=row.token_prefix,
            request_id=row.request_id,
            created_at=row.created_at,
            base_url_origin=row.base_url_origin,
            base_url_changed=row.base_url_changed,
            target_token_prefix=row.target_token_prefix,
        )


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
        data=[AuditEntryOut.of(row) for row in rows],
        has_more=has_more,
    )
