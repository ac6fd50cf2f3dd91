"""What the application holds for its lifetime: built once in the lifespan, never per request."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from modelgate.catalog import Catalog
from modelgate.config import Settings
from modelgate.keys.keyring import KeyProvider
from modelgate.keys.resolver import KeyResolver
from modelgate.providers.registry import ProviderRegistry
from modelgate.tenants.auth import TokenCache


@dataclass
class Gateway:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    tokens: TokenCache
    catalog: Catalog
    keyring: KeyProvider
    keys: KeyResolver
    providers: ProviderRegistry
    # Where each provider's calls go: MODELGATE_<PROVIDER>_BASE_URL, else the catalog's.
    upstream_base_urls: dict[str, str]
