"""What the audit log records: where a key's calls go, and tokens made and revoked.

A stolen admin token must not be able to send a tenant's prompts to another
host unnoticed: every key PUT names the destination (scheme, host and port,
never a path or query that may hold a secret) and says whether it changed.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from modelgate.audit.origin import base_url_origin
from tests import canaries
from tests.foundation.test_cli import modelgate
from tests.support import TEST_KEYRING, RunningGateway, SeededTenant

KEYS = "/v1/tenant/model_keys"
AUDIT = "/v1/tenant/audit_log"
PATH_SECRET = "tok-in-the-path-7f3a9c"
KEY = "sk-audit-" + "A" * 30


async def audit_rows(engine: AsyncEngine) -> str:
    async with engine.connect() as connection:
        return repr((await connection.execute(text("SELECT * FROM audit_log"))).all())


async def test_key_changes_record_where_the_calls_go(
    gateway: RunningGateway, tenant: SeededTenant, clean_engine: AsyncEngine
) -> None:
    steps = [  # (method, provider, base_url sent, expected origin, expected changed)
        ("PUT", "openai", None, None, False),  # first key, default URL: nothing redirected
        ("PUT", "openai", f"https://8.8.8.8/v1/{PATH_SECRET}?", None, None),  # refused (query)
        ("PUT", "openai", f"https://8.8.8.8/v1/{PATH_SECRET}", "https://8.8.8.8:443", True),
        ("PUT", "openai", f"https://8.8.8.8/v1/{PATH_SECRET}", "https://8.8.8.8:443", False),
        ("PUT", "openai", "https://8.8.8.8/other", "https://8.8.8.8:443", True),  # path only
        ("PUT", "openai", "https://8.8.4.4:8443/v1", "https://8.8.4.4:8443", True),
        ("DELETE", "openai", None, "https://8.8.4.4:8443", True),  # back to the default
        ("PUT", "deepseek", None, None, False),
        ("DELETE", "deepseek", None, None, False),
    ]
    expected = []
    async with httpx.AsyncClient(base_url=gateway.url, headers=tenant.headers()) as client:
        for n, (method, provider, base_url, origin, changed) in enumerate(steps):
            body = {"api_key": KEY} | ({"base_url": base_url} if base_url else {})
            answer = await client.request(
                method, f"{KEYS}/{provider}", json=body if method == "PUT" else None,
                headers={"X-Request-Id": f"rq-step-{n}"},
            )
            if changed is None:
                assert answer.status_code == 422, answer.text
                continue
            assert answer.status_code == 200, answer.text
            action = f"model_key.{method.lower()}"
            expected.append((action, provider, origin, changed, f"rq-step-{n}"))
        log = await client.get(AUDIT, params={"limit": 100})
    entries = log.json()["data"]
    assert [
        (e["action"], e["provider"], e["base_url_origin"], e["base_url_changed"], e["request_id"])
        for e in reversed(entries)
    ] == expected
    assert all(e["target_token_prefix"] is None for e in entries)
    assert all(e["token_prefix"] == tenant.tokens["admin"][:11] for e in entries)
    # Neither the path (which may hold a credential) nor the key is ever recorded.
    for where in (log.text, await audit_rows(clean_engine)):
        assert PATH_SECRET not in where and KEY not in where and "/v1" not in where


@pytest.mark.parametrize(
    ("base_url", "origin"),
    [
        (None, None),
        ("https://api.example.com/v1", "https://api.example.com:443"),
        ("http://API.Example.com:8080/v1/x", "http://api.example.com:8080"),
        ("https://user:pa55word@host.example/v1?key=s3cret#frag", "https://host.example:443"),
        ("https://[2606:4700::1111]/v1", "https://[2606:4700::1111]:443"),
        ("https://[2606:4700::1111]:8443", "https://[2606:4700::1111]:8443"),
        ("https://host.example:99999/v1", "(unparsable)"),
        ("not a url/with/a-s3cret", "(unparsable)"),
    ],
)
def test_origin_keeps_scheme_host_and_port_only(base_url: str | None, origin: str | None) -> None:
    assert base_url_origin(base_url) == origin


async def test_cli_token_create_and_revoke_are_audited(
    database_url: str, gateway: RunningGateway, clean_engine: AsyncEngine
) -> None:
    env = {"MODELGATE_DATABASE_URL": database_url, "MODELGATE_ENCRYPTION_KEYS": TEST_KEYRING}
    tenant_id = modelgate("tenant", "create", "audited-tokens", env=env).stdout.strip()

    def create(scope: str) -> str:
        made = modelgate("token", "create", "--tenant", tenant_id, "--scope", scope, env=env)
        assert made.returncode == 0, made.stderr
        canaries.register(made.stdout.strip())  # the run-wide scan looks for it too
        return made.stdout.strip()

    admin, reader = create("admin"), create("runs:read")
    for _ in range(2):  # the second revocation changes nothing and is not recorded
        assert modelgate("token", "revoke", reader[:11], env=env).returncode == 0
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        log = await client.get(AUDIT, headers={"Authorization": f"Bearer {admin}"})
    assert log.status_code == 200, log.text
    assert [(e["action"], e["target_token_prefix"]) for e in log.json()["data"]] == [
        ("token.revoke", reader[:11]),
        ("token.create", reader[:11]),
        ("token.create", admin[:11]),
    ]
    # Made by an operator at the CLI: no token and no request behind the change.
    assert all(e["token_prefix"] is None and e["request_id"] is None for e in log.json()["data"])
    for where in (log.text, await audit_rows(clean_engine)):
        assert admin not in where and reader not in where and admin[11:20] not in where
