"""The call path's rules: validation, scopes, lifecycle, and which key goes where."""

from __future__ import annotations

import tomllib
from pathlib import Path

import httpx
import openai
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from modelgate.keys.models import ProviderKey
from tests.chat.conftest import HOSTED, gateway_settings
from tests.fakes.upstream import FakeUpstream
from tests.foundation.test_http import assert_error
from tests.support import RunningGateway, SeededTenant, run_gateway

CHAT = "/v1/chat/completions"
HI = [{"role": "user", "content": "Hi"}]
BYOK = "sk-tenant-own-canary-abcdef123456"


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"{not json", 400, "invalid_json"),
        (b"[]", 422, "validation_error"),
        (b'{"messages": [{"role": "user", "content": "x"}]}', 422, "validation_error"),
        (b'{"model": "gpt-4o"}', 422, "validation_error"),
        (b'{"model": "gpt-4o", "messages": []}', 422, "validation_error"),
        (b'{"model": "gpt-4o", "messages": [{"role": "wizard", "content": "x"}]}', 422, "validation_error"),
        (b'{"model": "gpt-4o", "messages": [{"role": "user", "content": 7}]}', 422, "validation_error"),
        (b'{"model": "gpt-4o", "messages": "hi"}', 422, "validation_error"),
        (b'{"model": 4, "messages": [{"role": "user", "content": "x"}]}', 422, "validation_error"),
        (b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"}', 422, "validation_error"),
        (b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "\\ud800"}]}', 400, "invalid_json"),
        (b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "\xff"}]}', 400, "invalid_json"),
    ],
)
def test_malformed_bodies_are_clear_4xx(
    chat_gateway: RunningGateway, tenant: SeededTenant, upstream: FakeUpstream, raw: bytes, status: int, code: str
) -> None:
    response = httpx.post(f"{chat_gateway.url}{CHAT}", content=raw, headers={**tenant.headers("write"), "content-type": "application/json"})
    assert_error(response, status, code)
    assert upstream.requests == []


def test_an_unparsable_image_url_is_422(sdk: openai.OpenAI, upstream: FakeUpstream) -> None:
    image = {"type": "image_url", "image_url": {"url": "http://[abc/x.png"}}
    for model in ("gemini-2.5-flash", "claude-haiku-4-5"):
        with pytest.raises(openai.UnprocessableEntityError):
            sdk.chat.completions.create(model=model, messages=[{"role": "user", "content": [image]}])
    assert upstream.requests == []


def test_scopes(chat_gateway: RunningGateway, tenant: SeededTenant) -> None:
    body = {"model": "gpt-4o", "messages": HI}
    assert_error(httpx.post(f"{chat_gateway.url}{CHAT}", json=body), 401, "invalid_token")
    assert_error(httpx.post(f"{chat_gateway.url}{CHAT}", json=body, headers=tenant.headers("read")), 403, "insufficient_scope")
    assert httpx.post(f"{chat_gateway.url}{CHAT}", json=body, headers=tenant.headers("admin")).status_code == 200


def test_unknown_retired_and_keyless_models(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        sdk.chat.completions.create(model="mistral-large", messages=HI)
    assert raised.value.body["code"] == "model_not_found"
    with pytest.raises(openai.APIStatusError) as raised:
        sdk.chat.completions.create(model="gpt-3.5-turbo", messages=HI)
    assert raised.value.status_code == 410 and raised.value.body["code"] == "model_retired"
    assert "gpt-4o-mini" in raised.value.body["message"]
    with pytest.raises(openai.UnprocessableEntityError) as raised:
        sdk.chat.completions.create(model="deepseek-chat", messages=HI)
    assert raised.value.body["code"] == "model_key_missing" and raised.value.body["param"] == "model"


def test_deprecated_model_works_with_a_deprecation_header(database_url: str, fake_upstream: FakeUpstream, tenant: SeededTenant, tmp_path: Path) -> None:
    from modelgate.catalog import loader

    packaged = (Path(loader.__file__).parent / "catalog.toml").read_text()
    assert 'id = "gpt-4o"' in packaged
    patched = packaged.replace('id = "gpt-4o"\n', 'id = "gpt-4o"\nend_of_life_at = 2999-01-01T00:00:00Z\nreplacement = "gpt-4.1"\n', 1)
    tomllib.loads(patched)
    (tmp_path / "catalog.toml").write_text(patched)
    fake_upstream.reset()
    with run_gateway(database_url=database_url, catalog_path=tmp_path / "catalog.toml", **gateway_settings(fake_upstream)) as gw:
        response = httpx.post(f"{gw.url}{CHAT}", json={"model": "gpt-4o", "messages": HI}, headers=tenant.headers("write"))
    assert response.status_code == 200
    assert "2999-01-01" in response.headers["deprecation"] and "gpt-4.1" in response.headers["deprecation"]
    assert response.headers["sunset"] == "Tue, 01 Jan 2999 00:00:00 GMT"


def test_byok_wins_and_hosted_is_the_fallback(chat_gateway: RunningGateway, tenant: SeededTenant, upstream: FakeUpstream, sdk: openai.OpenAI) -> None:
    httpx.put(f"{chat_gateway.url}/v1/tenant/model_keys/anthropic", json={"api_key": BYOK}, headers=tenant.headers())
    raw = sdk.chat.completions.with_raw_response.create(model="claude-haiku-4-5", messages=HI)
    assert raw.headers["ic-key-source"] == "byok" and upstream.last.headers["x-api-key"] == BYOK
    httpx.delete(f"{chat_gateway.url}/v1/tenant/model_keys/anthropic", headers=tenant.headers())
    raw = sdk.chat.completions.with_raw_response.create(model="claude-haiku-4-5", messages=HI)
    assert raw.headers["ic-key-source"] == "hosted" and upstream.last.headers["x-api-key"] == HOSTED["anthropic"]
    httpx.patch(f"{chat_gateway.url}/v1/tenant/settings", json={"hosted_keys_enabled": False}, headers=tenant.headers())
    with pytest.raises(openai.UnprocessableEntityError) as raised:
        sdk.chat.completions.create(model="claude-haiku-4-5", messages=HI)
    assert raised.value.body["code"] == "model_key_missing"


def test_custom_base_url_only_with_the_tenants_own_key(chat_gateway: RunningGateway, tenant: SeededTenant, upstream: FakeUpstream, sdk: openai.OpenAI) -> None:
    custom = f"{upstream.url}/tenant-proxy/v1"
    put = httpx.put(f"{chat_gateway.url}/v1/tenant/model_keys/openai", json={"api_key": BYOK, "base_url": custom}, headers=tenant.headers())
    assert put.status_code == 200
    sdk.chat.completions.create(model="gpt-4o", messages=HI)
    assert upstream.last.path == "/tenant-proxy/v1/chat/completions"
    assert upstream.last.headers["authorization"] == f"Bearer {BYOK}"
    httpx.delete(f"{chat_gateway.url}/v1/tenant/model_keys/openai", headers=tenant.headers())
    sdk.chat.completions.create(model="gpt-4o", messages=HI)
    assert upstream.last.path == "/v1/chat/completions"  # the platform's endpoint, never the tenant's
    assert upstream.last.headers["authorization"] == f"Bearer {HOSTED['openai']}"
    assert all(r.headers["authorization"] != f"Bearer {HOSTED['openai']}" for r in upstream.requests if r.path.startswith("/tenant-proxy"))


async def test_a_copied_key_row_is_refused_not_used(
    chat_gateway: RunningGateway, tenant: SeededTenant, other_tenant: SeededTenant, upstream: FakeUpstream, clean_engine: AsyncEngine
) -> None:
    async with httpx.AsyncClient(base_url=chat_gateway.url) as client:
        await client.put("/v1/tenant/model_keys/google", json={"api_key": BYOK}, headers=tenant.headers())
        await client.put("/v1/tenant/model_keys/google", json={"api_key": "AIza-other"}, headers=other_tenant.headers())
        async with clean_engine.begin() as connection:
            stolen = (await connection.execute(select(ProviderKey.ciphertext).where(ProviderKey.tenant_id == tenant.id))).scalar_one()
            await connection.execute(update(ProviderKey).where(ProviderKey.tenant_id == other_tenant.id).values(ciphertext=stolen))
        chat_gateway.gateway.keys.invalidate(other_tenant.id)
        response = await client.post(CHAT, json={"model": "gemini-2.5-flash", "messages": HI}, headers=other_tenant.headers("write"))
    error = assert_error(response, 422, "key_unavailable")
    assert BYOK not in response.text and "google" in error["message"]
    assert upstream.requests == []  # neither the copied key nor the hosted key was used


def test_no_secret_reaches_logs_or_answers(chat_gateway: RunningGateway, tenant: SeededTenant, upstream: FakeUpstream, sdk: openai.OpenAI) -> None:
    httpx.put(f"{chat_gateway.url}/v1/tenant/model_keys/openai", json={"api_key": BYOK}, headers=tenant.headers())
    sdk.chat.completions.create(model="gpt-4o", messages=HI)
    list(sdk.chat.completions.create(model="claude-haiku-4-5", messages=HI, stream=True))
    with pytest.raises(openai.NotFoundError):
        sdk.chat.completions.create(model="bogus-model", messages=HI)
    logs = chat_gateway.logs.text()
    assert "DEBUG" in logs  # the most verbose level was on
    for secret in (BYOK, *HOSTED.values(), tenant.tokens["write"], tenant.tokens["admin"]):
        assert secret not in logs


def test_a_stored_base_url_is_checked_again_at_call_time(
    database_url: str, fake_upstream: FakeUpstream, tenant: SeededTenant
) -> None:
    """Stored while private URLs were allowed, then refused once they are not:
    the check runs on every connection, so DNS rebinding is caught the same way."""
    fake_upstream.reset()
    settings = gateway_settings(fake_upstream)
    with run_gateway(database_url=database_url, **settings) as gw:
        put = httpx.put(f"{gw.url}/v1/tenant/model_keys/openai", headers=tenant.headers(),
                        json={"api_key": BYOK, "base_url": f"{fake_upstream.url}/internal/v1"})
        assert put.status_code == 200
    with run_gateway(database_url=database_url, **{**settings, "allow_private_base_urls": False}) as gw:
        response = httpx.post(f"{gw.url}{CHAT}", json={"model": "gpt-4o", "messages": HI}, headers=tenant.headers("write"))
        assert_error(response, 422, "base_url_invalid")
        streamed = httpx.post(f"{gw.url}{CHAT}", json={"model": "gpt-4o", "messages": HI, "stream": True}, headers=tenant.headers("write"))
        assert_error(streamed, 422, "base_url_invalid")
    assert fake_upstream.requests == []
