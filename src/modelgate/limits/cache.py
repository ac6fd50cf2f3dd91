"""Each tenant's limits, cached per process like its keys: one query per tenant
per TTL at most, dropped at once when an operator changes them (the CLI
announces "limits"; cluster/invalidation.py calls ``drop``)."""

from __future__ import annotations

import time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from modelgate.limits.service import get_limits
from modelgate.limits.types import TenantLimits


class LimitsCache:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, ttl: float) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._entries: dict[str, tuple[float, TenantLimits]] = {}
        self._epoch = 0  # a drop during a look-up keeps that look-up out of the cache

    async def get(self, tenant_id: str) -> TenantLimits:
        entry = self._entries.get(tenant_id)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        epoch = self._epoch
        async with self._sessions() as session:
            limits = await get_limits(session, tenant_id)
        if self._ttl > 0 and epoch == self._epoch:
            self._entries[tenant_id] = (time.monotonic() + self._ttl, limits)
        return limits

    def drop(self, tenant_id: str) -> None:
        self._epoch += 1
        self._entries.pop(tenant_id, None)

    def clear(self) -> None:
        self._epoch += 1
        self._entries.clear()
