"""Audit ids are numbered per tenant, so they say nothing about other tenants.

They used to be the table's global primary key: a tenant that saw ids 1, 7
and 12 knew that the other tenants had made 9 changes in between, and when.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from modelgate import migrate
from modelgate.audit.models import AuditEntry
from modelgate.db import utcnow
from modelgate.tenants.models import Tenant
from tests.conftest import PG_ADMIN_URL, _pg_admin
from tests.support import RunningGateway, SeededTenant

AUDIT = "/v1/tenant/audit_log"
PROVIDERS = ["openai", "anthropic", "google", "deepseek", "groq", "openrouter", "hyperbolic",
             "inceptionlabs", "inference-net"]


async def listing(client: httpx.AsyncClient, who: SeededTenant, **params: int) -> dict:
    answer = await client.get(AUDIT, params={"limit": 100, **params}, headers=who.headers())
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_ids_count_only_the_tenants_own_entries(
    gateway: RunningGateway, tenant: SeededTenant, other_tenant: SeededTenant
) -> None:
    a, b = tenant, other_tenant
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        for n in range(3):  # interleaved: A once, then B twice
            for who, times in ((a, 1), (b, 2)):
                for m in range(times):
                    put = await client.put(
                        f"/v1/tenant/model_keys/{PROVIDERS[n]}", json={"api_key": f"sk-{n}{m}"},
                        headers={**who.headers(), "X-Request-Id": f"rq-{who.id}-{n}{m}"},
                    )
                    assert put.status_code == 200, put.text
        a_log, b_log = await listing(client, a), await listing(client, b)
        assert [e["id"] for e in a_log["data"]] == [3, 2, 1]
        assert [e["id"] for e in b_log["data"]] == [6, 5, 4, 3, 2, 1]

        # Any number is a safe cursor: it is read in the caller's own sequence only.
        for after in range(1, 9):
            page = await listing(client, a, after=after)
            assert [e["id"] for e in page["data"]] == list(range(min(after - 1, 3), 0, -1))
            assert all(e["request_id"].startswith(f"rq-{a.id}-") for e in page["data"])
        # Paging one by one walks A's entries and nothing else.
        seen, after = [], None
        while True:
            page = await listing(client, a, limit=1, **({"after": after} if after else {}))
            seen += [e["request_id"] for e in page["data"]]
            if not page["has_more"]:
                break
            after = page["data"][-1]["id"]
        assert seen == [f"rq-{a.id}-{n}0" for n in (2, 1, 0)]


async def test_concurrent_changes_get_distinct_consecutive_ids(
    gateway: RunningGateway, tenant: SeededTenant
) -> None:
    """Nine PUTs at once, one per provider (so no key row serialises them): each
    takes the next number of the tenant's sequence, and none fails on it."""
    headers = tenant.headers()
    async with httpx.AsyncClient(base_url=gateway.url, headers=headers, timeout=30) as client:
        answers = await asyncio.gather(*(
            client.put(f"/v1/tenant/model_keys/{provider}", json={"api_key": "sk-concurrent"})
            for provider in PROVIDERS
        ))
        assert [answer.status_code for answer in answers] == [200] * len(PROVIDERS)
        log = await listing(client, tenant)
    assert sorted(e["id"] for e in log["data"]) == list(range(1, len(PROVIDERS) + 1))
    assert sorted(e["provider"] for e in log["data"]) == sorted(PROVIDERS)


async def _number_existing_entries(url: str) -> None:
    """Entries written before the upgrade are numbered per tenant, in their order."""
    await migrate.upgrade_async(url, "0001")
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(insert(Tenant), [
                {"id": "tn_a", "name": "a", "created_at": utcnow()},
                {"id": "tn_b", "name": "b", "created_at": utcnow()},
            ])
            for n, tenant_id in enumerate(["tn_a", "tn_b", "tn_b", "tn_a", "tn_b"]):
                await connection.exec_driver_sql(
                    "INSERT INTO audit_log (tenant_id, action, request_id, created_at) "
                    f"VALUES ('{tenant_id}', 'model_key.put', 'rq-{n}', '2026-11-22 00:00:0{n}')"
                )
        await migrate.upgrade_async(url)
        async with engine.connect() as connection:
            rows = (await connection.execute(
                select(AuditEntry.request_id, AuditEntry.tenant_id, AuditEntry.seq)
                .order_by(AuditEntry.id)
            )).all()
        assert [tuple(row) for row in rows] == [
            ("rq-0", "tn_a", 1), ("rq-1", "tn_b", 1), ("rq-2", "tn_b", 2),
            ("rq-3", "tn_a", 2), ("rq-4", "tn_b", 3),
        ]
        await migrate.downgrade_async(url, "0001")  # and back, keeping the rows
        async with engine.connect() as connection:
            count = (await connection.exec_driver_sql("SELECT count(*) FROM audit_log")).scalar()
        assert count == 5
    finally:
        await engine.dispose()


async def test_the_migration_numbers_existing_entries_on_sqlite(tmp_path: Path) -> None:
    await _number_existing_entries(f"sqlite+aiosqlite:///{tmp_path}/seq.db")


async def test_the_migration_numbers_existing_entries_on_postgres(postgres_server_url: str) -> None:
    name = f"modelgate_seq_{uuid.uuid4().hex[:10]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        await _number_existing_entries(f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}")
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
