"""Writing and reading audit entries. Every query takes the tenant explicitly.

Entries are numbered per tenant (``seq``), so the ids a tenant sees say nothing
about any other tenant. A number is taken as ``max + 1`` inside the INSERT
itself, under a lock per tenant on PostgreSQL (SQLite has one writer at a
time); the unique ``(tenant_id, seq)`` constraint is the backstop.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from modelgate.audit.models import AuditEntry
from modelgate.audit.origin import base_url_origin
from modelgate.db import utcnow
from modelgate.logs import request_id_var

if TYPE_CHECKING:  # runtime imports would be circular (tenants.auth -> tenants.service -> here)
    from modelgate.keys.service import KeyChange
    from modelgate.tenants.auth import Principal

# Namespaces the advisory-lock key, so it cannot collide with another use of one.
_LOCK_LABEL = b"modelgate/audit-seq\x00"


async def record(
    session: AsyncSession,
    *,
    principal: Principal,
    action: str,
    provider: str | None = None,
    key_change: KeyChange | None = None,
) -> None:
    """Add an entry for a change made through the API, in the caller's transaction,
    so it commits with the change it records. ``key_change`` (model_key.*) adds
    where the provider's calls now go and whether that changed."""
    fields: dict[str, object] = {}
    if key_change is not None:
        # A put shows the new destination; a delete the one that was removed.
        shown = key_change.base_url if key_change.existed_after else key_change.previous_base_url
        fields["base_url_origin"] = base_url_origin(shown)
        fields["base_url_changed"] = key_change.destination_changed
    await _insert(
        session,
        tenant_id=principal.tenant_id,
        action=action,
        provider=provider,
        token_prefix=principal.token_prefix,
        **fields,
    )


async def record_token_event(
    session: AsyncSession,
    *,
    tenant_id: str,
    action: str,
    target_token_prefix: str,
    principal: Principal | None = None,
) -> None:
    """Audit a token created or revoked (``token.create`` / ``token.revoke``); the
    entry names the token by its prefix only. No principal: an operator's CLI."""
    await _insert(
        session,
        tenant_id=tenant_id,
        action=action,
        token_prefix=principal.token_prefix if principal else None,
        target_token_prefix=target_token_prefix,
    )


async def _insert(session: AsyncSession, *, tenant_id: str, **values: object) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # Held to the end of the transaction: the next writer of this tenant's
        # log reads max(seq) only after this entry is committed.
        lock = text("SELECT pg_advisory_xact_lock(:key)")
        await session.execute(lock, {"key": _lock_key(tenant_id)})
    next_seq = (
        select(func.coalesce(func.max(AuditEntry.seq), 0) + 1)
        .where(AuditEntry.tenant_id == tenant_id)
        .scalar_subquery()
    )
    await session.execute(
        insert(AuditEntry).values(
            tenant_id=tenant_id,
            seq=next_seq,
            request_id=request_id_var.get(),
            created_at=utcnow(),
            **values,
        )
    )


def _lock_key(tenant_id: str) -> int:
    digest = hashlib.blake2b(_LOCK_LABEL + tenant_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def page(
    session: AsyncSession, *, tenant_id: str, limit: int, after: int | None
) -> tuple[list[AuditEntry], bool]:
    """Newest first; ``after`` is the ``seq`` of the last entry of the previous page.
    Cursors are numbers of the tenant's own sequence, so any value is safe to take."""
    query = select(AuditEntry).where(AuditEntry.tenant_id == tenant_id)
    if after is not None:
        query = query.where(AuditEntry.seq < after)
    rows = list(await session.scalars(query.order_by(AuditEntry.seq.desc()).limit(limit + 1)))
    return rows[:limit], len(rows) > limit
