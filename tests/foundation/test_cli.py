"""The `modelgate` command, run as a user runs it: a subprocess with environment settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support import run_gateway

CLI = [sys.executable, "-m", "modelgate.cli"]


def modelgate(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MODELGATE_")}
    full_env.update(env)
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, env=full_env, timeout=60, check=False
    )


@pytest.fixture
def db_env(tmp_path: Path) -> dict[str, str]:
    return {"MODELGATE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/cli.db"}


def test_tenant_and_token_lifecycle(db_env: dict[str, str]) -> None:
    created = modelgate("tenant", "create", "acme", env=db_env)
    assert created.returncode == 0, created.stderr
    tenant_id = created.stdout.strip()
    assert tenant_id.startswith("tn_") and "\n" not in tenant_id

    duplicate = modelgate("tenant", "create", "acme", env=db_env)
    assert duplicate.returncode != 0
    assert duplicate.stderr.strip().count("\n") == 0
    assert "already exists" in duplicate.stderr

    token = modelgate(
        "token", "create", "--tenant", tenant_id, "--scope", "runs:read", "--scope", "admin",
        "--name", "deploy", env=db_env,
    )
    assert token.returncode == 0, token.stderr
    secret = token.stdout.strip()
    assert secret.startswith("mg_") and len(secret) == 46

    by_name = modelgate("token", "create", "--tenant", "acme", "--scope", "runs:write", env=db_env)
    assert by_name.returncode == 0

    listing = modelgate("token", "list", "--tenant", "acme", env=db_env)
    assert listing.returncode == 0
    assert secret not in listing.stdout and secret[12:] not in listing.stdout
    lines = listing.stdout.strip().splitlines()
    assert lines[0].split("\t") == ["prefix", "name", "scopes", "created", "last_used", "state"]
    first = lines[1].split("\t")
    assert first[0] == secret[:11] and first[1] == "deploy"
    assert first[2] == "runs:read,admin" and first[4] == "never" and first[5] == "active"

    revoked = modelgate("token", "revoke", secret[:11], env=db_env)
    assert revoked.returncode == 0
    assert "revoked" in modelgate("token", "list", "--tenant", "acme", env=db_env).stdout


def test_revoked_token_answers_401(db_env: dict[str, str]) -> None:
    tenant_id = modelgate("tenant", "create", "beta", env=db_env).stdout.strip()
    token = modelgate("token", "create", "--tenant", tenant_id, "--scope", "admin", env=db_env)
    secret = token.stdout.strip()
    with run_gateway(database_url=db_env["MODELGATE_DATABASE_URL"]) as gw:
        headers = {"Authorization": f"Bearer {secret}"}
        assert httpx.get(f"{gw.url}/v1/tenant/settings", headers=headers).status_code == 200
        assert modelgate("token", "revoke", secret[:11], env=db_env).returncode == 0
        gw.gateway.tokens.ttl = 0  # other processes see a revocation within the TTL
        gw.gateway.tokens._entries.clear()
        answer = httpx.get(f"{gw.url}/v1/tenant/settings", headers=headers)
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "invalid_token"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("token", "create", "--tenant", "ghost", "--scope", "admin"), "no tenant"),
        (("token", "create", "--tenant", "x", "--scope", "root"), "unknown scope 'root'"),
        (("token", "revoke", "mg_nothing"), "no token with prefix"),
        (("tenant", "create", "   "), "must not be empty"),
    ],
)
def test_bad_input_gives_one_line_and_nonzero_exit(
    db_env: dict[str, str], args: tuple[str, ...], expected: str
) -> None:
    result = modelgate(*args, env=db_env)
    assert result.returncode != 0
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_bad_setting_names_the_variable(db_env: dict[str, str]) -> None:
    result = modelgate("db", "upgrade", env={**db_env, "MODELGATE_HOSTED_KEYS": "maybe"})
    assert result.returncode != 0
    assert result.stderr.startswith("modelgate: MODELGATE_HOSTED_KEYS:")
    assert len(result.stderr.strip().splitlines()) == 1

    result = modelgate("db", "upgrade", env={"MODELGATE_DATABASE_URL": "mysql://x"})
    assert result.returncode != 0 and "MODELGATE_DATABASE_URL" in result.stderr


def test_db_upgrade_creates_the_schema(db_env: dict[str, str], tmp_path: Path) -> None:
    result = modelgate("db", "upgrade", env=db_env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "cli.db").stat().st_size > 0


def test_unreachable_database_is_one_line() -> None:
    env = {"MODELGATE_DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:9/none"}
    for args in (("db", "upgrade"), ("tenant", "create", "x")):
        result = modelgate(*args, env=env)
        assert result.returncode != 0
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr and "database" in result.stderr
