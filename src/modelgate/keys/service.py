"""Writing and reading stored (BYOK) provider keys. Ciphertext in, ciphertext out:
only ``resolver`` ever decrypts, and only to call a provider."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from modelgate.db import utcnow
from modelgate.errors import KeyUnavailable
from modelgate.keys.crypto import KeyBinding, blob_key_id, encrypt_key, rewrap
from modelgate.keys.keyring import KeyProvider
from modelgate.keys.models import ProviderKey


def _insert_for(session: AsyncSession):
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


async def put_key(
    session: AsyncSession,
    *,
    keyring: KeyProvider,
    tenant_id: str,
    provider: str,
    api_key: str,
    base_url: str | None,
) -> None:
    """Store (or replace) the tenant's key for a provider, encrypted and bound to all three."""
    ciphertext = encrypt_key(keyring, api_key, KeyBinding(tenant_id, provider, base_url))
    now = utcnow()
    values = {
        "ciphertext": ciphertext,
        "key_id": blob_key_id(ciphertext),
        "base_url": base_url,
        "updated_at": now,
    }
    # One atomic upsert: two concurrent PUTs cannot both insert.
    statement = _insert_for(session)(ProviderKey).values(
        tenant_id=tenant_id, provider=provider, created_at=now, **values
    )
    await session.execute(
        statement.on_conflict_do_update(index_elements=["tenant_id", "provider"], set_=values)
    )


async def delete_key(session: AsyncSession, *, tenant_id: str, provider: str) -> bool:
    """Remove the tenant's key for a provider; True when there was one."""
    result = await session.execute(
        delete(ProviderKey).where(
            ProviderKey.tenant_id == tenant_id, ProviderKey.provider == provider
        )
    )
    return bool(result.rowcount)


@dataclass(frozen=True, slots=True)
class StoredKeyInfo:
    provider: str
    base_url: str | None
    updated_at: object


async def list_keys(session: AsyncSession, *, tenant_id: str) -> dict[str, StoredKeyInfo]:
    rows = await session.execute(
        select(ProviderKey.provider, ProviderKey.base_url, ProviderKey.updated_at).where(
            ProviderKey.tenant_id == tenant_id
        )
    )
    return {row.provider: StoredKeyInfo(row.provider, row.base_url, row.updated_at) for row in rows}


class RotationError(Exception):
    """Some stored keys cannot be unwrapped; nothing was changed."""


async def rotate_all(session: AsyncSession, *, keyring: KeyProvider) -> int:
    """Rewrap every key not yet under the primary keyring key; all or nothing.

    The payload stays as it is; ``rewrap`` opens it in memory only to check that
    the row is intact, so a broken row is reported instead of carried forward.
    Returns how many rows were rewrapped.
    """
    primary = keyring.primary_key_id
    query = select(ProviderKey).where(ProviderKey.key_id != primary).order_by(ProviderKey.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    rows = list(await session.scalars(query))
    failed: list[str] = []
    for row in rows:
        binding = KeyBinding(row.tenant_id, row.provider, row.base_url)
        try:
            row.ciphertext = rewrap(keyring, row.ciphertext, binding)
        except KeyUnavailable:
            failed.append(f"{row.tenant_id}/{row.provider}")
            continue
        row.key_id = blob_key_id(row.ciphertext)
    if failed:
        shown = ", ".join(failed[:5]) + (f" and {len(failed) - 5} more" if len(failed) > 5 else "")
        raise RotationError(f"{len(failed)} stored key(s) cannot be unwrapped ({shown}); nothing was rotated")
    await session.flush()
    return len(rows)
