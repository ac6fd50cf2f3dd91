"""Two gateways on one PostgreSQL database, as two replicas: a config or group
changed through one is what the other lists next, although both would cache the
tenant's names for an hour. Only the invalidation channel (LISTEN/NOTIFY) can
explain that. (On SQLite there is one process, so nothing to tell.)"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from modelgate import migrate
from modelgate.db import create_engine
from modelgate.models import Base
from tests import canaries
from tests.support import SeededTenant, run_gateway, seed_tenant
from tests.tenant_models.helpers import CONFIGS, GROUPS

HOSTED_OPENAI = "sk-hosted-openai-for-replica-tests"
# Not a deadline under test: a bound on waiting, far below the caches' hour.
PATIENCE = 10.0


@pytest.fixture
async def pg_engine(postgres_server_url: str) -> AsyncIterator[AsyncEngine]:
    await migrate.upgrade_async(postgres_server_url)
    engine = create_engine(postgres_server_url)
    yield engine
    await canaries.scan_rows(engine, Base.metadata.sorted_tables)
    async with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(table.delete())
    await engine.dispose()


def listed(url: str, tenant: SeededTenant) -> set[str]:
    response = httpx.get(f"{url}/v1/models", headers=tenant.headers("read"), timeout=10)
    assert response.status_code == 200, response.text
    return {model["id"] for model in response.json()["data"]}


def eventually(check: Callable[[], bool]) -> bool:
    give_up = time.monotonic() + PATIENCE
    while not check():
        if time.monotonic() > give_up:
            return False
        time.sleep(0.02)
    return True


async def test_a_change_through_one_replica_reaches_the_other(
    postgres_server_url: str, pg_engine: AsyncEngine
) -> None:
    tenant = await seed_tenant(pg_engine)
    settings = {
        "database_url": postgres_server_url, "openai_api_key": HOSTED_OPENAI, "key_cache_ttl": 3600,
    }
    with run_gateway(**settings) as one, run_gateway(**settings) as two:
        admin = tenant.headers("admin")
        assert "Fast" not in listed(two.url, tenant)  # two caches "no configs" from here on
        config = httpx.post(f"{one.url}{CONFIGS}", headers=admin,
                            json={"name": "Fast", "base_model": "gpt-4o-mini"}).json()
        assert eventually(lambda: "Fast" in listed(two.url, tenant))
        httpx.patch(f"{one.url}{CONFIGS}/{config['id']}", headers=admin, json={"enabled": False})
        assert eventually(lambda: "Fast" not in listed(two.url, tenant))
        group = httpx.post(f"{two.url}{GROUPS}", headers=admin,
                           json={"name": "Pool", "members": [{"model": "gpt-4o"}]}).json()
        assert eventually(lambda: "Pool" in listed(one.url, tenant))
        httpx.delete(f"{two.url}{GROUPS}/{group['id']}", headers=admin)
        assert eventually(lambda: "Pool" not in listed(one.url, tenant))
