"""What the application holds for its lifetime: built once in the lifespan, never per request."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from modelgate.catalog import Catalog
from modelgate.cluster import Invalidations
from modelgate.config import Settings
from modelgate.keys.keyring import KeyProvider
from modelgate.keys.resolver import KeyResolver
from modelgate.limits.cache import LimitsCache
from modelgate.limits.engine import LimitsEngine
from modelgate.metering.sink import UsageSink
from modelgate.providers.registry import ProviderRegistry
from modelgate.providers.tenant_slots import TenantSlots
from modelgate.routing.cooldown import Cooldowns
from modelgate.tenant_cache import TenantCache
from modelgate.tenant_models.entries import TenantModels
from modelgate.tenants.auth import TokenCache


@dataclass
class Gateway:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    tokens: TokenCache
    # Drops cached tokens, keys, settings… here and in every other process (cluster/).
    invalidations: Invalidations
    catalog: Catalog
    keyring: KeyProvider
    keys: KeyResolver
    providers: ProviderRegistry
    # Each tenant's calls in flight through its own base_url, capped (tenant_slots.py).
    custom_endpoint_slots: TenantSlots
    # Usage events: priced, counted in /metrics, written in batches (metering/).
    usage: UsageSink
    # Platform limits per tenant: the counting engine and each tenant's cached figures.
    limits: LimitsEngine
    tenant_limits: LimitsCache
    # Each tenant's model configs and groups (tenant_models/), matched before the catalog.
    tenant_models: TenantCache[TenantModels]
    # Where each provider's calls go: MODELGATE_<PROVIDER>_BASE_URL, else the catalog's.
    upstream_base_urls: dict[str, str]
    # Group members that just failed, tried last for a few seconds (routing/cooldown.py).
    cooldowns: Cooldowns = field(default_factory=Cooldowns)
