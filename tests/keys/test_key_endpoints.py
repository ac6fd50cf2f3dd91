"""The key endpoints end to end: stored encrypted, never echoed, audited, isolated."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from modelgate import migrate
from modelgate.db import create_engine
from modelgate.keys.models import ProviderKey
from tests.foundation.test_http import assert_error
from tests.support import RunningGateway, SeededTenant, run_gateway, seed_tenant

CANARY = "sk-canary-" + "K" * 40
KEYS = "/v1/tenant/model_keys"


async def raw_rows(engine: AsyncEngine) -> str:
    """Every stored value of every table, as text: what a database dump would show."""
    parts = []
    async with engine.connect() as connection:
        for table in ("provider_keys", "audit_log", "api_tokens", "tenants", "tenant_settings"):
            rows = (await connection.execute(text(f"SELECT * FROM {table}"))).all()
            parts.extend(repr(tuple(row)) for row in rows)
    return "\n".join(parts)


async def test_put_stores_ciphertext_and_never_echoes(
    gateway: RunningGateway, tenant: SeededTenant, clean_engine: AsyncEngine
) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, headers=tenant.headers()) as client:
        put = await client.put(f"{KEYS}/open-ai", json={"api_key": CANARY})
        assert put.status_code == 200, put.text
        assert put.json() == {"provider": "openai", "configured": True, "base_url": None}
        listing = await client.get(KEYS)
        entry = {e["provider"]: e for e in listing.json()["data"]}["openai"]
        assert entry["configured"] is True and entry["updated_at"]
        assert {e["provider"] for e in listing.json()["data"]} >= {"openai", "anthropic", "google"}
        for response in (put, listing):
            assert CANARY not in response.text and "K" * 20 not in response.text
    dump = await raw_rows(clean_engine)
    assert "openai" in dump and CANARY not in dump and CANARY.encode().hex() not in dump
    async with clean_engine.connect() as connection:
        row = (await connection.execute(select(ProviderKey))).one()
    assert row.key_id == "test-primary" and CANARY.encode() not in row.ciphertext
    assert CANARY not in gateway.logs.text()


async def test_sqlite_file_holds_no_plaintext_key(tmp_path: Path) -> None:
    path = tmp_path / "embedded.db"
    url = f"sqlite+aiosqlite:///{path}"
    await migrate.upgrade_async(url)
    engine = create_engine(url)
    try:
        owner = await seed_tenant(engine)
    finally:
        await engine.dispose()
    with run_gateway(database_url=url) as gw:
        async with httpx.AsyncClient(base_url=gw.url, headers=owner.headers()) as client:
            put = await client.put(f"{KEYS}/anthropic", json={"api_key": CANARY})
            assert put.status_code == 200
    files = [p for p in tmp_path.iterdir() if p.name.startswith("embedded.db")]
    assert path in files
    for file in files:
        assert CANARY.encode() not in file.read_bytes()


@pytest.mark.parametrize(
    "body",
    [
        {"api_key": ""},
        {"api_key": "   "},
        {"api_key": 12345},
        {"api_key": None},
        {"api_key": ["sk-x"]},
        {"api_key": "sk-" + "x" * 4096},
        {"api_key": " sk-padded "},
        {"api_key": True},
        {"base_url": None},
        {"api_key": "sk-ok", "surprise": True},
    ],
)
async def test_bad_key_bodies_are_422(gateway: RunningGateway, tenant: SeededTenant, body: dict) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, headers=tenant.headers()) as client:
        response = await client.put(f"{KEYS}/openai", json=body)
        assert_error(response, 422, "validation_error")
        assert "x" * 100 not in response.text
        assert (await client.get(KEYS)).json()["data"][0]["configured"] is False


async def test_provider_and_base_url_rules(gateway: RunningGateway, tenant: SeededTenant) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, headers=tenant.headers()) as client:
        assert_error(await client.put(f"{KEYS}/nope", json={"api_key": "sk-a"}), 404, "provider_not_found")
        assert_error(await client.delete(f"{KEYS}/nope"), 404, "provider_not_found")
        no_custom = await client.put(f"{KEYS}/anthropic", json={"api_key": "k", "base_url": "https://8.8.8.8"})
        assert_error(no_custom, 422, "base_url_not_supported")
        for bad in ("ftp://8.8.8.8/v1", "http://127.0.0.1:9/v1", "http://169.254.169.254/", "http://u:p@8.8.8.8/", "http://2130706433/"):
            response = await client.put(f"{KEYS}/openai", json={"api_key": "sk-a", "base_url": bad})
            assert_error(response, 422, "base_url_invalid")
        ok = await client.put(f"{KEYS}/OpenAI", json={"api_key": "sk-a", "base_url": "https://8.8.8.8/v1/"})
        assert ok.json() == {"provider": "openai", "configured": True, "base_url": "https://8.8.8.8/v1"}


async def test_delete_and_audit(gateway: RunningGateway, tenant: SeededTenant) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, headers=tenant.headers()) as client:
        await client.put(f"{KEYS}/google", json={"api_key": CANARY}, headers={"X-Request-Id": "rq-put"})
        gone = await client.delete(f"{KEYS}/gemini", headers={"X-Request-Id": "rq-del"})
        assert gone.json() == {"provider": "google", "configured": False, "base_url": None}
        again = await client.delete(f"{KEYS}/google")
        assert again.status_code == 200 and again.json()["configured"] is False
        log = (await client.get("/v1/tenant/audit_log")).json()["data"]
        assert [(e["action"], e["provider"], e["request_id"]) for e in log] == [
            ("model_key.delete", "google", "rq-del"),
            ("model_key.put", "google", "rq-put"),
        ]
        assert all(e["token_prefix"] == tenant.tokens["admin"][:11] for e in log)
        assert CANARY not in str(log)


async def test_key_endpoints_need_admin(gateway: RunningGateway, tenant: SeededTenant) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        for which in ("read", "write"):
            h = tenant.headers(which)
            assert_error(await client.put(f"{KEYS}/openai", json={"api_key": "sk-a"}, headers=h), 403, "insufficient_scope")
            assert_error(await client.get(KEYS, headers=h), 403, "insufficient_scope")
            assert_error(await client.delete(f"{KEYS}/openai", headers=h), 403, "insufficient_scope")
        assert_error(await client.get(KEYS), 401, "invalid_token")


async def test_tenants_cannot_see_use_or_remove_each_others_keys(
    gateway: RunningGateway, tenant: SeededTenant, other_tenant: SeededTenant, clean_engine: AsyncEngine
) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        await client.put(f"{KEYS}/openai", json={"api_key": CANARY}, headers=tenant.headers())
        theirs = (await client.get(KEYS, headers=other_tenant.headers())).json()["data"]
        assert all(not e["configured"] for e in theirs)
        await client.delete(f"{KEYS}/openai", headers=other_tenant.headers())
        mine = (await client.get(KEYS, headers=tenant.headers())).json()["data"]
        assert {e["provider"]: e["configured"] for e in mine}["openai"] is True
        models = (await client.get("/v1/tenant/models", headers=other_tenant.headers("read"))).json()
        assert all(m["source"] != "byok" for m in models["data"])
    async with clean_engine.connect() as connection:
        count = (await connection.execute(text("SELECT count(*) FROM provider_keys"))).scalar()
    assert count == 1


async def test_a_row_copied_to_another_tenant_is_refused(
    gateway: RunningGateway, tenant: SeededTenant, other_tenant: SeededTenant, clean_engine: AsyncEngine
) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        await client.put(f"{KEYS}/openai", json={"api_key": CANARY}, headers=tenant.headers())
        await client.put(f"{KEYS}/openai", json={"api_key": "sk-theirs"}, headers=other_tenant.headers())
    async with clean_engine.begin() as connection:
        stolen = (
            await connection.execute(select(ProviderKey.ciphertext).where(ProviderKey.tenant_id == tenant.id))
        ).scalar_one()
        await connection.execute(
            update(ProviderKey).where(ProviderKey.tenant_id == other_tenant.id).values(ciphertext=stolen)
        )
    gateway.gateway.keys.invalidate(other_tenant.id)
    async with httpx.AsyncClient(base_url=gateway.url, headers=other_tenant.headers("read")) as client:
        model = (await client.get("/v1/tenant/models/gpt-4o")).json()
        assert model["source"] is None and model["available"] is False
        providers = (await client.get("/v1/tenant/models")).json()["providers"]
        assert {p["id"]: p["configured"] for p in providers}["openai"] is True


async def test_a_missing_keyring_id_fails_that_row_only(
    database_url: str, tenant: SeededTenant, clean_engine: AsyncEngine
) -> None:
    from modelgate.keys.keyring import generate_keyring_spec

    first, second = generate_keyring_spec("first"), generate_keyring_spec("second")
    with run_gateway(database_url=database_url, encryption_keys=first) as gw:
        httpx.put(f"{gw.url}{KEYS}/openai", json={"api_key": "sk-first"}, headers=tenant.headers())
    with run_gateway(database_url=database_url, encryption_keys=f"{second},{first}") as gw:
        httpx.put(f"{gw.url}{KEYS}/anthropic", json={"api_key": "sk-second"}, headers=tenant.headers())
    with run_gateway(database_url=database_url, encryption_keys=second) as gw:
        models = httpx.get(f"{gw.url}/v1/tenant/models", headers=tenant.headers("read")).json()["data"]
        sources = {m["provider"]: m["source"] for m in models}
        assert sources["openai"] is None and sources["anthropic"] == "byok"
        chat = httpx.post(f"{gw.url}/v1/chat/completions", headers=tenant.headers("write"),
                          json={"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]})
        error = assert_error(chat, 422, "key_unavailable")
        assert "sk-first" not in chat.text and "openai" in error["message"]


@pytest.mark.parametrize("key", ["sk-tést-ünicode", "sk-has space", "sk-tab\tkey", "sk-\x0bvt", "sk-line\nbreak"])
async def test_keys_that_cannot_be_a_header_are_refused(gateway: RunningGateway, tenant: SeededTenant, key: str) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, headers=tenant.headers()) as client:
        response = await client.put(f"{KEYS}/openai", json={"api_key": key})
        assert_error(response, 422, "validation_error")
        assert key not in response.text
