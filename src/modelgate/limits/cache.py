"""Each tenant's limits, cached per process like its keys: one query per tenant
per TTL at most, dropped at once when an operator changes them (the CLI
announces "limits"; cluster/invalidation.py calls ``drop``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from modelgate.limits.service import get_limits
from modelgate.limits.types import TenantLimits
from modelgate.tenant_cache import TenantCache


class LimitsCache(TenantCache[TenantLimits]):
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, ttl: float) -> None:
        super().__init__(sessions, get_limits, ttl=ttl)
