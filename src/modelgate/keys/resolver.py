"""Which key a call uses: the tenant's own (BYOK), else the platform's, else none.

The listing and the chat path both ask this one object. A tenant's stored keys
are read in one query and kept (decrypted lazily, per provider) for a short
TTL, so the steady-state hot path does not touch the database; a write drops the
tenant's entry at once in this process and, once announced (cluster/), in every
other one; the TTL bounds staleness only while a process's listener is down.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from modelgate.errors import KeyUnavailable
from modelgate.keys.crypto import KeyBinding, decrypt_key
from modelgate.keys.keyring import KeyProvider
from modelgate.keys.models import ProviderKey
from modelgate.tenants.auth import Principal

KeySource = Literal["byok", "hosted"]
_MAX_TENANTS = 10_000


@dataclass(frozen=True, slots=True)
class ResolvedKey:
    provider: str
    source: KeySource
    api_key: SecretStr
    # A custom endpoint; only ever set for the tenant's own key, never a hosted one.
    base_url: str | None = None


@dataclass(frozen=True, slots=True)
class Availability:
    # Per provider with any key: its source, or None for a stored key that cannot be used.
    sources: dict[str, KeySource | None]
    # Providers for which the tenant has stored a key (usable or not).
    configured: frozenset[str]


@dataclass(slots=True)
class _StoredKey:
    ciphertext: bytes
    base_url: str | None
    decrypted: SecretStr | None = None
    error: KeyUnavailable | None = None


@dataclass(slots=True)
class _TenantKeys:
    expires: float
    keys: dict[str, _StoredKey] = field(default_factory=dict)


class KeyResolver:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        keyring: KeyProvider,
        hosted_keys: dict[str, SecretStr],
        hosted_enabled: bool,
        ttl: float,
    ) -> None:
        self._sessions = sessions
        self._keyring = keyring
        self._hosted = hosted_keys if hosted_enabled else {}
        self._ttl = ttl
        self._tenants: dict[str, _TenantKeys] = {}
        # Bumped by every invalidation; a read that began before one is not cached.
        self._epoch = 0

    def hosted_available(self, principal: Principal, provider: str) -> bool:
        return principal.hosted_keys_enabled and provider in self._hosted

    def hosted_providers(self) -> frozenset[str]:
        return frozenset(self._hosted)

    def invalidate(self, tenant_id: str) -> None:
        self._epoch += 1
        self._tenants.pop(tenant_id, None)

    def clear(self) -> None:
        self._epoch += 1
        self._tenants.clear()

    async def _stored(self, tenant_id: str) -> dict[str, _StoredKey]:
        entry = self._tenants.get(tenant_id)
        if entry is not None and entry.expires >= time.monotonic():
            return entry.keys
        epoch = self._epoch
        async with self._sessions() as session:
            rows = await session.execute(
                select(ProviderKey.provider, ProviderKey.ciphertext, ProviderKey.base_url).where(
                    ProviderKey.tenant_id == tenant_id
                )
            )
            keys = {row.provider: _StoredKey(row.ciphertext, row.base_url) for row in rows}
        if self._ttl > 0 and epoch == self._epoch:
            if len(self._tenants) >= _MAX_TENANTS:
                self._tenants.clear()
            self._tenants[tenant_id] = _TenantKeys(time.monotonic() + self._ttl, keys)
        return keys

    def _decrypt(self, tenant_id: str, provider: str, stored: _StoredKey) -> SecretStr:
        if stored.decrypted is None and stored.error is None:
            try:
                stored.decrypted = decrypt_key(
                    self._keyring, stored.ciphertext, KeyBinding(tenant_id, provider, stored.base_url)
                )
            except KeyUnavailable as exc:
                stored.error = exc
        if stored.error is not None:
            raise stored.error
        assert stored.decrypted is not None
        return stored.decrypted

    async def resolve(self, principal: Principal, provider: str) -> ResolvedKey | None:
        """The key for a call, or None. A stored key that fails to decrypt raises
        KeyUnavailable: it is never used, and never silently replaced by a hosted one."""
        stored = (await self._stored(principal.tenant_id)).get(provider)
        if stored is not None:
            api_key = self._decrypt(principal.tenant_id, provider, stored)
            return ResolvedKey(provider, "byok", api_key, stored.base_url)
        if self.hosted_available(principal, provider):
            return ResolvedKey(provider, "hosted", self._hosted[provider])
        return None

    async def availability(self, principal: Principal) -> Availability:
        """Where each provider's key comes from, for listings: one query at most."""
        sources: dict[str, KeySource | None] = {}
        if principal.hosted_keys_enabled:
            sources.update(dict.fromkeys(self._hosted, "hosted"))
        stored = await self._stored(principal.tenant_id)
        for provider, key in stored.items():
            try:
                self._decrypt(principal.tenant_id, provider, key)
            except KeyUnavailable:
                sources[provider] = None  # stored but unusable: not available, not hosted
            else:
                sources[provider] = "byok"
        return Availability(sources=sources, configured=frozenset(stored))
