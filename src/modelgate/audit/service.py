"""Writing and reading audit entries. Every query takes the tenant explicitly."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from modelgate.audit.models import AuditEntry
from modelgate.logs import request_id_var
from modelgate.tenants.auth import Principal


async def record(
    session: AsyncSession, *, principal: Principal, action: str, provider: str | None = None
) -> None:
    """Add an entry in the caller's transaction, so it commits with the change it records."""
    session.add(
        AuditEntry(
            tenant_id=principal.tenant_id,
            action=action,
            provider=provider,
            token_prefix=principal.token_prefix,
            request_id=request_id_var.get(),
        )
    )
    await session.flush()


async def page(
    session: AsyncSession, *, tenant_id: str, limit: int, after: int | None
) -> tuple[list[AuditEntry], bool]:
    """Newest first; ``after`` is the id of the last entry of the previous page."""
    query = select(AuditEntry).where(AuditEntry.tenant_id == tenant_id)
    if after is not None:
        query = query.where(AuditEntry.id < after)
    rows = list(await session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit + 1)))
    return rows[:limit], len(rows) > limit
