"""The hot-path caches keep the contract: a token revoked, or a key deleted, by
another process stops working within the configured TTL (and at once when the
change goes through this process)."""

from __future__ import annotations

import time

import httpx
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncEngine

from modelgate.db import utcnow
from modelgate.keys.models import ProviderKey
from modelgate.tenants.models import ApiToken
from tests.support import SeededTenant, run_gateway

TTL = 1.0


def wait_past(started: float) -> None:
    time.sleep(max(0.0, started + TTL + 0.2 - time.monotonic()))


async def test_a_revoked_token_stops_within_the_ttl(
    database_url: str, tenant: SeededTenant, clean_engine: AsyncEngine
) -> None:
    with run_gateway(database_url=database_url, token_cache_ttl=TTL) as gw:
        url, headers = f"{gw.url}/v1/tenant/settings", tenant.headers("admin")
        assert httpx.get(url, headers=headers).status_code == 200  # now cached
        started = time.monotonic()
        async with clean_engine.begin() as connection:  # as `modelgate token revoke` does
            await connection.execute(
                update(ApiToken).where(ApiToken.prefix == tenant.tokens["admin"][:11]).values(revoked_at=utcnow())
            )
        wait_past(started)
        assert httpx.get(url, headers=headers).status_code == 401


async def test_a_key_deleted_elsewhere_stops_within_the_ttl(
    database_url: str, tenant: SeededTenant, clean_engine: AsyncEngine
) -> None:
    with run_gateway(database_url=database_url, key_cache_ttl=TTL) as gw:
        httpx.put(f"{gw.url}/v1/tenant/model_keys/openai", json={"api_key": "sk-doomed"}, headers=tenant.headers())
        model = f"{gw.url}/v1/tenant/models/gpt-4o"
        assert httpx.get(model, headers=tenant.headers("read")).json()["source"] == "byok"
        started = time.monotonic()
        async with clean_engine.begin() as connection:  # another process's DELETE
            await connection.execute(delete(ProviderKey).where(ProviderKey.tenant_id == tenant.id))
        wait_past(started)
        assert httpx.get(model, headers=tenant.headers("read")).json()["source"] is None


def test_changes_through_this_process_apply_at_once(database_url: str, tenant: SeededTenant) -> None:
    with run_gateway(database_url=database_url, key_cache_ttl=3600, token_cache_ttl=3600, openai_api_key="sk-hosted") as gw:
        model = f"{gw.url}/v1/tenant/models/gpt-4o"
        httpx.put(f"{gw.url}/v1/tenant/model_keys/openai", json={"api_key": "sk-own"}, headers=tenant.headers())
        assert httpx.get(model, headers=tenant.headers("read")).json()["source"] == "byok"
        httpx.delete(f"{gw.url}/v1/tenant/model_keys/openai", headers=tenant.headers())
        assert httpx.get(model, headers=tenant.headers("read")).json()["source"] == "hosted"
        httpx.patch(f"{gw.url}/v1/tenant/settings", json={"hosted_keys_enabled": False}, headers=tenant.headers())
        assert httpx.get(model, headers=tenant.headers("read")).json()["source"] is None


def test_unknown_tokens_are_remembered(database_url: str) -> None:
    from sqlalchemy import event

    with run_gateway(database_url=database_url, token_cache_ttl=60) as gw:
        statements: list[str] = []
        engine = gw.gateway.engine.sync_engine
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            headers = {"Authorization": "Bearer mg_" + "u" * 43}
            for _ in range(20):
                assert httpx.get(f"{gw.url}/v1/models", headers=headers).status_code == 401
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        assert len(statements) == 1
