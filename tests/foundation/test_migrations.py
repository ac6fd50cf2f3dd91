"""The same migrations build and remove the schema on PostgreSQL and SQLite."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from modelgate import migrate
from modelgate.models import Base
from tests.conftest import PG_ADMIN_URL, _pg_admin

EXPECTED = {
    "tenants", "tenant_settings", "api_tokens", "provider_keys", "audit_log",
    "usage_events", "usage_daily", "tenant_limits", "tenant_models",
}


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await engine.dispose()
    return names - {"alembic_version"}


async def _upgrade_and_back(url: str) -> None:
    assert await _tables(url) == set()
    await migrate.upgrade_async(url)
    assert await _tables(url) == EXPECTED
    assert EXPECTED == set(Base.metadata.tables), "the models and the migrations disagree"
    await migrate.downgrade_async(url, "base")
    assert await _tables(url) == set()
    await migrate.upgrade_async(url)  # and up again: downgrade left nothing behind that blocks it
    assert await _tables(url) == EXPECTED


async def test_empty_postgres_database_upgrades_to_head_and_back(postgres_server_url: str) -> None:
    name = f"modelgate_mig_{uuid.uuid4().hex[:10]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        await _upgrade_and_back(f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}")
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_empty_sqlite_database_upgrades_to_head_and_back(tmp_path: Path) -> None:
    await _upgrade_and_back(f"sqlite+aiosqlite:///{tmp_path}/m.db")
