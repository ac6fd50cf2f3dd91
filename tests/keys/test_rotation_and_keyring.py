"""Rotation under a new keyring key, and how the keyring is chosen at start-up."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from modelgate.db import session_factory
from modelgate.errors import KeyUnavailable
from modelgate.keys import service
from modelgate.keys.crypto import KeyBinding, decrypt_key
from modelgate.keys.keyring import generate_keyring_spec, parse_keyring
from modelgate.keys.models import ProviderKey
from tests.foundation.test_cli import modelgate
from tests.support import free_port, seed_tenant

OLD = generate_keyring_spec("old")
NEW = generate_keyring_spec("new")


async def test_rotation_rewraps_a_thousand_keys(clean_engine: AsyncEngine) -> None:
    tenants = [await seed_tenant(clean_engine) for _ in range(10)]
    providers = ["openai", "anthropic", "google", "deepseek", "groq"]
    old = parse_keyring(OLD)
    sessions = session_factory(clean_engine)
    expected: dict[tuple[str, str], str] = {}
    async with sessions() as session, session.begin():
        # Synthetic provider ids give 1,000 distinct (tenant, provider) rows over 10 tenants.
        for n in range(1000):
            tenant_id = tenants[n % 10].id
            provider = f"{providers[(n // 10) % 5]}-{n // 50}"
            secret = f"sk-rot-{n:04d}"
            await service.put_key(
                session, keyring=old, tenant_id=tenant_id, provider=provider, api_key=secret,
                base_url=None if n % 3 else f"https://8.8.8.8/v{n}",
            )
            expected[(tenant_id, provider)] = secret
    rotating = parse_keyring(f"{NEW},{OLD}")
    async with sessions() as session, session.begin():
        assert await service.rotate_all(session, keyring=rotating) == 1000
    async with sessions() as session, session.begin():
        assert await service.rotate_all(session, keyring=rotating) == 0  # nothing left to do
    only_new = parse_keyring(NEW)
    async with sessions() as session:
        rows = list(await session.scalars(select(ProviderKey)))
        left_on_old = await session.scalar(
            select(func.count()).select_from(ProviderKey).where(ProviderKey.key_id != "new")
        )
    assert len(rows) == 1000 and left_on_old == 0
    for row in rows:
        binding = KeyBinding(row.tenant_id, row.provider, row.base_url)
        secret = decrypt_key(only_new, row.ciphertext, binding)
        assert secret.get_secret_value() == expected[(row.tenant_id, row.provider)]
        with pytest.raises(KeyUnavailable):
            decrypt_key(parse_keyring(OLD), row.ciphertext, binding)


async def test_rotation_is_all_or_nothing(clean_engine: AsyncEngine) -> None:
    tenant = await seed_tenant(clean_engine)
    sessions = session_factory(clean_engine)
    async with sessions() as session, session.begin():
        await service.put_key(session, keyring=parse_keyring(OLD), tenant_id=tenant.id,
                              provider="openai", api_key="sk-1", base_url=None)
        await service.put_key(session, keyring=parse_keyring(NEW), tenant_id=tenant.id,
                              provider="google", api_key="sk-2", base_url=None)
    third = generate_keyring_spec("third")
    with pytest.raises(service.RotationError, match="1 stored key"):
        async with sessions() as session, session.begin():
            await service.rotate_all(session, keyring=parse_keyring(f"{third},{NEW}"))
    async with sessions() as session:
        ids = set(await session.scalars(select(ProviderKey.key_id)))
    assert ids == {"old", "new"}


def test_cli_rotate_prints_the_count(tmp_path: Path) -> None:
    env = {"MODELGATE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/r.db", "MODELGATE_ENCRYPTION_KEYS": OLD}
    tenant_id = modelgate("tenant", "create", "rot", env=env).stdout.strip()
    from tests.support import run

    async def store() -> None:
        from modelgate.db import create_engine

        engine = create_engine(env["MODELGATE_DATABASE_URL"])
        async with session_factory(engine)() as session, session.begin():
            for provider in ("openai", "anthropic", "google"):
                await service.put_key(session, keyring=parse_keyring(OLD), tenant_id=tenant_id,
                                      provider=provider, api_key="sk-x", base_url=None)
        await engine.dispose()

    run(store())
    result = modelgate("keys", "rotate", env={**env, "MODELGATE_ENCRYPTION_KEYS": f"{NEW},{OLD}"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "rewrapped 3"
    missing = modelgate("keys", "rotate", env={**env, "MODELGATE_ENCRYPTION_KEYS": generate_keyring_spec("zzz")})
    assert missing.returncode != 0 and "cannot be unwrapped" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_serve_on_sqlite_creates_an_owner_only_keyring(tmp_path: Path) -> None:
    db = tmp_path / "embedded.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELGATE_")}
    env["MODELGATE_DATABASE_URL"] = f"sqlite+aiosqlite:///{db}"
    server = subprocess.Popen(
        [sys.executable, "-m", "modelgate.cli", "serve", "--port", str(free_port())],
        env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = server.stderr.readline()
            lines.append(line)
            if "serving on" in line or not line:
                break
    finally:
        server.terminate()
        server.wait(timeout=10)
    keyring = tmp_path / "embedded.db.keyring"
    assert keyring.exists(), lines
    assert stat.S_IMODE(keyring.stat().st_mode) == 0o600
    assert any("created a local keyring" in line and str(keyring) in line for line in lines)
    assert parse_keyring(keyring.read_text().strip()).primary_key_id


def test_serve_without_keyring_on_postgres_refuses() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELGATE_")}
    env["MODELGATE_DATABASE_URL"] = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    result = subprocess.run([sys.executable, "-m", "modelgate.cli", "serve", "--port", str(free_port())],
                            env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "modelgate: MODELGATE_ENCRYPTION_KEYS is required with a non-SQLite database "
        "(comma-separated ID:BASE64 entries of 32-byte keys)"
    ]
