"""Rewrapping stored keys under the keyring's primary key (``modelgate keys rotate``).

Rotation runs beside live gateways, so a tenant may PUT a new key between the
moment rotation reads a row and the moment it writes it back. Every write is
therefore a compare-and-swap: ``UPDATE … WHERE id = :id AND ciphertext = :read``.
When it matches no row, the row changed under us; it is read again and, unless
the new blob is already under the primary key, rewrapped and swapped again.
No rows are locked while rotation works, on either database.
"""

from __future__ import annotations

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from modelgate.errors import KeyUnavailable
from modelgate.keys.crypto import KeyBinding, blob_key_id, rewrap
from modelgate.keys.keyring import KeyProvider
from modelgate.keys.models import ProviderKey

__all__ = ["RotationError", "rotate_all"]

# A row that changes this many times while we rewrap it is being written in a
# loop; give up (and roll back) rather than spin.
MAX_ATTEMPTS = 5

_COLUMNS = (
    ProviderKey.id,
    ProviderKey.tenant_id,
    ProviderKey.provider,
    ProviderKey.base_url,
    ProviderKey.ciphertext,
    ProviderKey.key_id,
)


class RotationError(Exception):
    """Some stored keys cannot be unwrapped; nothing was changed."""


async def rotate_all(session: AsyncSession, *, keyring: KeyProvider) -> int:
    """Rewrap every key not yet under the primary keyring key; all or nothing.

    The payload stays as it is; ``rewrap`` opens it in memory only to check that
    the row is intact, so a broken row is reported instead of carried forward.
    Returns how many rows this call rewrapped (a row that a concurrent PUT has
    already stored under the primary key is not counted).
    """
    primary = keyring.primary_key_id
    rows = (
        await session.execute(
            select(*_COLUMNS).where(ProviderKey.key_id != primary).order_by(ProviderKey.id)
        )
    ).all()
    # Every row is opened before any is written, so a broken one changes nothing.
    rewrapped: list[tuple[Row, bytes]] = []
    failed: list[str] = []
    for row in rows:
        try:
            rewrapped.append((row, _rewrap(keyring, row)))
        except KeyUnavailable:
            failed.append(f"{row.tenant_id}/{row.provider}")
    if failed:
        raise _unwrappable(failed)
    count = 0
    for row, blob in rewrapped:
        count += await _swap(session, keyring, row, blob)
    return count


async def _swap(session: AsyncSession, keyring: KeyProvider, row: Row, blob: bytes) -> int:
    """Write ``blob`` over ``row`` if the row still holds what was read; 1 if written."""
    for _ in range(MAX_ATTEMPTS):
        result = await session.execute(
            update(ProviderKey)
            .where(ProviderKey.id == row.id, ProviderKey.ciphertext == row.ciphertext)
            .values(ciphertext=blob, key_id=blob_key_id(blob))
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            return 1
        # Changed since it was read: a PUT replaced it, or a DELETE removed it.
        current = (
            await session.execute(select(*_COLUMNS).where(ProviderKey.id == row.id))
        ).one_or_none()
        if current is None or current.key_id == keyring.primary_key_id:
            return 0
        try:
            row, blob = current, _rewrap(keyring, current)
        except KeyUnavailable:
            raise _unwrappable([f"{current.tenant_id}/{current.provider}"]) from None
    raise RotationError(
        f"the stored key {row.tenant_id}/{row.provider} kept changing during rotation; "
        "nothing was rotated, run it again"
    )


def _rewrap(keyring: KeyProvider, row: Row) -> bytes:
    return rewrap(keyring, row.ciphertext, KeyBinding(row.tenant_id, row.provider, row.base_url))


def _unwrappable(failed: list[str]) -> RotationError:
    shown = ", ".join(failed[:5]) + (f" and {len(failed) - 5} more" if len(failed) > 5 else "")
    return RotationError(
        f"{len(failed)} stored key(s) cannot be unwrapped ({shown}); nothing was rotated"
    )
