"""A database for the gateway under load: migrated, with one tenant, one
``runs:write`` token and a BYOK OpenAI key whose ``base_url`` is the fake upstream.

PostgreSQL when the server answers (a fresh database, dropped afterwards), else an
SQLite file in the run's temporary directory. Written through modelgate's own
service layer, the way the CLI and the endpoints write it.
"""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from modelgate import migrate
from modelgate.db import create_engine, session_factory
from modelgate.keys import service as keys
from modelgate.keys.keyring import generate_keyring_spec, parse_keyring
from modelgate.limits import service as limits_service
from modelgate.tenants import service as tenants
from modelgate.tenants.tokens import Scope

DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
# The modelgate target's tenant limits: every figure set, each far too high
# ever to refuse (the largest the CLI takes), so every call pays the engine's work.
HIGH_LIMIT = limits_service.MAX_COUNT
BYOK_KEY = "sk-bench-byok-0123456789abcdef"


@dataclass(frozen=True)
class SeededGateway:
    database: str  # "postgresql" or "sqlite"
    env: dict[str, str]  # MODELGATE_* for ``modelgate serve``
    token: str
    tenant_id: str


async def _admin(server_url: str, statement: str) -> None:
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def _seed(
    url: str, keyring_spec: str, upstream_v1: str, *, limited: bool
) -> tuple[str, str]:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session, session.begin():
            tenant = await tenants.create_tenant(session, name="bench")
            tenant_id = tenant.id
            token = await tenants.create_token(
                session, tenant=tenant, scopes=[Scope.RUNS_WRITE], name="bench"
            )
            await keys.put_key(
                session, keyring=parse_keyring(keyring_spec), tenant_id=tenant.id,
                provider="openai", api_key=BYOK_KEY, base_url=upstream_v1,
            )
            if limited:
                await limits_service.set_limits(
                    session, tenant.id, rpm=HIGH_LIMIT, tpm=HIGH_LIMIT, concurrency=HIGH_LIMIT,
                    monthly_credits=Decimal(limits_service.MAX_CREDITS_N).scaleb(-9),
                )
        return token, tenant_id
    finally:
        await engine.dispose()


@contextmanager
def seeded_database(
    workdir: Path, upstream: str, *, postgres: str | None = DEFAULT_POSTGRES,
    limited: bool = False,
) -> Iterator[SeededGateway]:
    """Yield what the gateway needs to serve the bench tenant; drop the database after.
    ``limited``: the tenant has limits, every one of them ``HIGH_LIMIT``."""
    name = f"modelgate_bench_{uuid.uuid4().hex[:12]}"
    created = False
    if postgres:
        try:
            asyncio.run(asyncio.wait_for(_admin(postgres, f'CREATE DATABASE "{name}"'), 5))
            created = True
        except Exception:  # unreachable, refused: fall back to SQLite  # noqa: BLE001
            created = False
    url = f"{postgres.rsplit('/', 1)[0]}/{name}" if created else (
        f"sqlite+aiosqlite:///{workdir / 'modelgate-bench.db'}"
    )
    keyring = generate_keyring_spec("bench")
    try:
        migrate.upgrade(url)
        token, tenant_id = asyncio.run(_seed(url, keyring, f"{upstream}/v1", limited=limited))
        yield SeededGateway(
            database="postgresql" if created else "sqlite",
            env={
                "MODELGATE_DATABASE_URL": url,
                "MODELGATE_ENCRYPTION_KEYS": keyring,
                # The BYOK base_url is the loopback fake: private addresses must be allowed.
                "MODELGATE_ALLOW_PRIVATE_BASE_URLS": "true",
            },
            token=token,
            tenant_id=tenant_id,
        )
    finally:
        if created:
            asyncio.run(_admin(postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
