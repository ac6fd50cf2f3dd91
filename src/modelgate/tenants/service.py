"""Tenant and token operations. Services flush; the caller's transaction commits."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from modelgate import api_version
from modelgate.db import utcnow
from modelgate.tenants.models import ApiToken, Tenant, TenantSettings
from modelgate.tenants.tokens import (
    Scope,
    new_token,
    token_digest,
    token_prefix,
)

# last_used_at is informational; writing it on every request would put a write
# on the hot path, so it is refreshed at most this often per token.
LAST_USED_RESOLUTION = timedelta(seconds=60)


class TenantError(Exception):
    """A tenant or token operation that cannot be done, with a one-line reason."""


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """What an authenticated request knows about its token and tenant."""

    tenant_id: str
    token_prefix: str
    scopes: str
    api_version: str
    hosted_keys_enabled: bool


async def create_tenant(session: AsyncSession, *, name: str) -> Tenant:
    name = name.strip()
    if not name:
        raise TenantError("tenant name must not be empty")
    if await session.scalar(select(Tenant.id).where(Tenant.name == name)):
        raise TenantError(f"a tenant named {name!r} already exists")
    tenant = Tenant(id="tn_" + uuid.uuid4().hex, name=name)
    session.add(tenant)
    # New tenants are pinned to the newest API version, Stripe-style.
    session.add(TenantSettings(tenant_id=tenant.id, api_version=api_version.LATEST))
    try:
        await session.flush()
    except IntegrityError:
        raise TenantError(f"a tenant named {name!r} already exists") from None
    return tenant


async def find_tenant(session: AsyncSession, *, id_or_name: str) -> Tenant:
    tenant = await session.scalar(
        select(Tenant).where(or_(Tenant.id == id_or_name, Tenant.name == id_or_name))
    )
    if tenant is None:
        raise TenantError(f"no tenant with id or name {id_or_name!r}")
    return tenant


async def create_token(
    session: AsyncSession, *, tenant: Tenant, scopes: list[Scope], name: str | None
) -> str:
    """Store a new token's digest and return the token itself (shown once, never again)."""
    if not scopes:
        raise TenantError("a token needs at least one --scope")
    token = new_token()
    session.add(
        ApiToken(
            tenant_id=tenant.id,
            prefix=token_prefix(token),
            digest=token_digest(token),
            name=name,
            scopes=" ".join(scope.value for scope in scopes),
        )
    )
    await session.flush()
    return token


async def list_tokens(session: AsyncSession, *, tenant: Tenant) -> list[ApiToken]:
    rows = await session.scalars(
        select(ApiToken).where(ApiToken.tenant_id == tenant.id).order_by(ApiToken.id)
    )
    return list(rows)


@dataclass(frozen=True, slots=True)
class Revocation:
    token: ApiToken
    # False when the token was already revoked: nothing changed, nothing to audit.
    newly_revoked: bool


async def revoke_token(session: AsyncSession, *, prefix: str) -> Revocation:
    token = await session.scalar(select(ApiToken).where(ApiToken.prefix == prefix))
    if token is None:
        raise TenantError(f"no token with prefix {prefix!r}")
    if token.revoked_at is not None:
        return Revocation(token, newly_revoked=False)
    token.revoked_at = utcnow()
    await session.flush()
    return Revocation(token, newly_revoked=True)


async def lookup_token(session: AsyncSession, *, digest: str) -> TokenRecord | None:
    """One query: the live token with this digest, its tenant's settings; None if none."""
    row = (
        await session.execute(
            select(
                ApiToken.id,
                ApiToken.digest,
                ApiToken.tenant_id,
                ApiToken.prefix,
                ApiToken.scopes,
                ApiToken.last_used_at,
                TenantSettings.api_version,
                TenantSettings.hosted_keys_enabled,
            )
            .join(TenantSettings, TenantSettings.tenant_id == ApiToken.tenant_id)
            .where(ApiToken.digest == digest, ApiToken.revoked_at.is_(None))
        )
    ).one_or_none()
    # The index look-up is by digest; the final comparison is constant-time anyway,
    # so no timing difference depends on how much of a guess was right.
    if row is None or not hmac.compare_digest(row.digest, digest):
        return None
    now = utcnow()
    if is_stale(row.last_used_at, now):
        await session.execute(
            update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now)
        )
    return TokenRecord(
        tenant_id=row.tenant_id,
        token_prefix=row.prefix,
        scopes=row.scopes,
        api_version=row.api_version,
        hosted_keys_enabled=row.hosted_keys_enabled,
    )


def is_stale(last: datetime | None, now: datetime) -> bool:
    return last is None or now - last > LAST_USED_RESOLUTION
