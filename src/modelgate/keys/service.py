"""Writing and reading stored (BYOK) provider keys. Ciphertext in, ciphertext out:
only ``resolver`` ever decrypts, and only to call a provider."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from modelgate.db import utcnow
from modelgate.keys.crypto import KeyBinding, blob_key_id, encrypt_key
from modelgate.keys.keyring import KeyProvider
from modelgate.keys.models import ProviderKey
from modelgate.keys.rotation import RotationError, rotate_all

__all__ = [
    "KeyChange",
    "RotationError",
    "StoredKeyInfo",
    "delete_key",
    "last_change",
    "list_keys",
    "put_key",
    "rotate_all",
]

# Where put_key/delete_key leave what they changed, for the audit entry that
# the endpoint writes in the same transaction (``last_change``).
_CHANGES = "modelgate.keys.changes"


@dataclass(frozen=True, slots=True)
class KeyChange:
    """What a put or delete did to one (tenant, provider) key: where the
    provider's calls went before (None: the default URL) and go now."""

    existed_before: bool
    previous_base_url: str | None
    existed_after: bool
    base_url: str | None

    @property
    def destination_changed(self) -> bool:
        return self.previous_base_url != self.base_url


def _insert_for(session: AsyncSession):
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _remember(session: AsyncSession, tenant_id: str, provider: str, change: KeyChange) -> None:
    session.info.setdefault(_CHANGES, {})[(tenant_id, provider)] = change


def last_change(session: AsyncSession, *, tenant_id: str, provider: str) -> KeyChange | None:
    """The change the last ``put_key``/``delete_key`` of this session made to the key."""
    return session.info.get(_CHANGES, {}).get((tenant_id, provider))


async def put_key(
    session: AsyncSession,
    *,
    keyring: KeyProvider,
    tenant_id: str,
    provider: str,
    api_key: str,
    base_url: str | None,
) -> KeyChange:
    """Store (or replace) the tenant's key for a provider, encrypted and bound to all three."""
    ciphertext = encrypt_key(keyring, api_key, KeyBinding(tenant_id, provider, base_url))
    now = utcnow()
    # A no-op UPDATE … RETURNING reads the previous base_url for the audit entry
    # under the write lock (a row lock on PostgreSQL, the database's on SQLite),
    # so a concurrent PUT cannot slip between this read and the upsert.
    previous = (
        await session.execute(
            update(ProviderKey)
            .where(ProviderKey.tenant_id == tenant_id, ProviderKey.provider == provider)
            .values(base_url=ProviderKey.base_url)
            .returning(ProviderKey.base_url)
            .execution_options(synchronize_session=False)
        )
    ).one_or_none()
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
    change = KeyChange(
        existed_before=previous is not None,
        previous_base_url=previous.base_url if previous is not None else None,
        existed_after=True,
        base_url=base_url,
    )
    _remember(session, tenant_id, provider, change)
    return change


async def delete_key(session: AsyncSession, *, tenant_id: str, provider: str) -> bool:
    """Remove the tenant's key for a provider; True when there was one."""
    removed = (
        await session.execute(
            delete(ProviderKey)
            .where(ProviderKey.tenant_id == tenant_id, ProviderKey.provider == provider)
            .returning(ProviderKey.base_url)
            .execution_options(synchronize_session=False)
        )
    ).one_or_none()
    if removed is None:
        return False
    change = KeyChange(
        existed_before=True, previous_base_url=removed.base_url, existed_after=False, base_url=None
    )
    _remember(session, tenant_id, provider, change)
    return True


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
