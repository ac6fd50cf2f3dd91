"""A per-process cache of one value per tenant, read from the database.

Limits, configs and groups are read on every call and change rarely: one query
per tenant per TTL at most, dropped at once when someone changes them (the
change is announced; cluster/invalidation.py calls ``drop`` in every process).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

T = TypeVar("T")

# Past this many tenants the cache starts afresh rather than grow without bound.
MAX_TENANTS = 100_000


class TenantCache(Generic[T]):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        load: Callable[[AsyncSession, str], Awaitable[T]],
        *,
        ttl: float,
        max_tenants: int = MAX_TENANTS,
    ) -> None:
        self._sessions = sessions
        self._load = load
        self._ttl = ttl
        self._max = max_tenants
        self._entries: dict[str, tuple[float, T]] = {}
        self._epoch = 0  # a drop during a look-up keeps that look-up out of the cache

    async def get(self, tenant_id: str) -> T:
        entry = self._entries.get(tenant_id)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        epoch = self._epoch
        async with self._sessions() as session:
            value = await self._load(session, tenant_id)
        if self._ttl > 0 and epoch == self._epoch:
            if len(self._entries) >= self._max:
                self._entries.clear()
            self._entries[tenant_id] = (time.monotonic() + self._ttl, value)
        return value

    def drop(self, tenant_id: str) -> None:
        self._epoch += 1
        self._entries.pop(tenant_id, None)

    def clear(self) -> None:
        self._epoch += 1
        self._entries.clear()
