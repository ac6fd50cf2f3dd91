"""Fixtures shared by every test: one SQLite and one PostgreSQL database per run.

PostgreSQL: a fresh database on the server at MODELGATE_TEST_POSTGRES_URL
(default: postgres@127.0.0.1:5432, trust auth), created at the start of the run
and dropped at the end. When the server is unreachable the PostgreSQL tests are
skipped locally, but under CI=true that is a failure.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from modelgate import migrate
from modelgate.db import create_engine
from modelgate.models import Base
from tests import canaries
from tests.support import LOG_STREAMS, RunningGateway, SeededTenant, run_gateway, seed_tenant

PG_ADMIN_URL = os.environ.get(
    "MODELGATE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


async def _pg_admin(statement: str) -> None:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


# Database set-up fixtures are synchronous (each runs its own short event loop)
# so that they can be chosen at run time with getfixturevalue.
@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """The URL of a database created for this run (dropped at the end)."""
    name = f"modelgate_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # unreachable server, refused auth, …
        message = f"PostgreSQL at {PG_ADMIN_URL} is unreachable: {type(exc).__name__}: {exc}"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'modelgate.db'}"


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each database-backed test runs on both backends, migrated to head once."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_server_url")
    else:
        url = request.getfixturevalue("sqlite_url")
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def clean_engine(engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """The engine, with every table emptied after the test."""
    yield engine
    # What the test left in the database is scanned for secrets before it goes.
    await canaries.scan_rows(engine, Base.metadata.sorted_tables)
    async with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(table.delete())


@pytest.fixture(scope="session")
def gateway(database_url: str) -> Iterator[RunningGateway]:
    with run_gateway(database_url=database_url) as running:
        yield running


@pytest.fixture
async def tenant(clean_engine: AsyncEngine) -> SeededTenant:
    return await seed_tenant(clean_engine)


@pytest.fixture
async def other_tenant(clean_engine: AsyncEngine) -> SeededTenant:
    return await seed_tenant(clean_engine)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    canaries.report(session, LOG_STREAMS)  # tests/canaries.py: a hit fails the run
