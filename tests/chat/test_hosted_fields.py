"""Hosted-key abuse (issue 12, item 5): what reaches the provider on the platform's key.

On a hosted key the fields of ``chat.hosted_policy`` that change the platform's
price or custody are dropped or refused; on the tenant's own key (BYOK) the same
request goes out untouched. Each test looks at what the loopback fake received,
for the three provider styles, plain and streamed, through the official SDK.
"""

from __future__ import annotations

import httpx
import openai
import pytest

from modelgate.chat import hosted_policy
from modelgate.chat.schemas import ChatCompletionRequest
from tests.chat.conftest import HOSTED
from tests.fakes.upstream import FakeUpstream
from tests.support import RunningGateway, SeededTenant

MODELS = {"openai": "gpt-4o", "anthropic": "claude-sonnet-4-5", "google": "gemini-2.5-flash"}
TENANT_KEYS = {
    "openai": "sk-tenant-own-openai-0123456789",
    "anthropic": "sk-ant-tenant-own-0123456789",
    "google": "AIzaTenantOwnGoogle0123456789abcdef",
}
MESSAGES = [{"role": "user", "content": "Hi"}]
# Dropped on hosted keys (with the harmless values of the refused ones).
DROPPED = {
    "user": "end-user-42",
    "metadata": {"team": "blue"},
    "safety_identifier": "sid-0f3a",
    "prompt_cache_key": "other-tenants-prefix",
    "prompt_cache_retention": "24h",
    "provider": {"data_collection": "allow", "order": ["cheap-host"]},
    "store": False,
    "service_tier": "auto",
}
# Refused on hosted keys: (field, value).
REFUSED = [
    ("service_tier", "priority"),
    ("service_tier", "flex"),
    ("service_tier", "scale"),
    ("store", True),
    ("store", 0),  # not the default `false`: a bad value is not a harmless one
    ("web_search_options", {"search_context_size": "high"}),
    ("models", ["openai/o3-pro"]),
    ("plugins", [{"id": "web"}]),
]
KEPT = {"logit_bias": {"50256": -100}, "temperature": 0.2, "seed": 7}


def call(sdk: openai.OpenAI, provider: str, extra: dict, *, stream: bool):
    """One call through the SDK; returns the raw response (its stream read to the end)."""
    raw = sdk.chat.completions.with_raw_response.create(
        model=MODELS[provider], messages=MESSAGES, stream=stream, extra_body=extra
    )
    if stream:
        chunks = list(raw.parse())
        assert chunks, "the stream carried no chunk"
    else:
        assert raw.parse().choices
    return raw


def use_own_key(gw: RunningGateway, tenant: SeededTenant, provider: str) -> None:
    put = httpx.put(
        f"{gw.url}/v1/tenant/model_keys/{provider}", headers=tenant.headers(),
        json={"api_key": TENANT_KEYS[provider]},
    )
    assert put.status_code == 200, put.text


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_openai_hosted_key_drops_the_fields(sdk: openai.OpenAI, upstream: FakeUpstream, stream: bool) -> None:
    raw = call(sdk, "openai", {**DROPPED, **KEPT}, stream=stream)
    assert raw.headers["ic-key-source"] == "hosted"
    sent = upstream.last
    assert sent.headers["authorization"] == f"Bearer {HOSTED['openai']}"
    assert not set(DROPPED) & set(sent.body), sent.body
    assert {name: sent.body[name] for name in KEPT} == KEPT
    assert sent.body["model"] == "gpt-4o" and sent.body["messages"] == MESSAGES


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_openai_own_key_keeps_every_field(
    sdk: openai.OpenAI, upstream: FakeUpstream, chat_gateway: RunningGateway, tenant: SeededTenant,
    stream: bool,
) -> None:
    use_own_key(chat_gateway, tenant, "openai")
    refused = {"service_tier": "priority", "store": True, "web_search_options": {},
               "models": ["openai/o3-pro"], "plugins": [{"id": "web"}]}
    fields = {**DROPPED, **refused, **KEPT}
    raw = call(sdk, "openai", fields, stream=stream)
    assert raw.headers["ic-key-source"] == "byok"
    sent = upstream.last
    assert sent.headers["authorization"] == f"Bearer {TENANT_KEYS['openai']}"
    assert {name: sent.body.get(name) for name in fields} == fields


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("provider", sorted(MODELS))
@pytest.mark.parametrize(("field", "value"), REFUSED, ids=[f"{f}={v!r}"[:30] for f, v in REFUSED])
def test_hosted_key_refuses_price_and_custody_fields(
    chat_gateway: RunningGateway, tenant: SeededTenant, upstream: FakeUpstream,
    provider: str, field: str, value: object, stream: bool,
) -> None:
    # httpx, not the SDK: the SDK would refuse `store: 0` itself, before sending it.
    response = httpx.post(
        f"{chat_gateway.url}/v1/chat/completions", headers=tenant.headers("write"), timeout=30,
        json={"model": MODELS[provider], "messages": MESSAGES, "stream": stream, field: value},
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error" and error["param"] == field
    assert "platform's key" in error["message"] and "PUT /v1/tenant/model_keys" in error["message"]
    assert upstream.requests == []  # refused before anything went out


@pytest.mark.parametrize("provider", ["anthropic", "google"])
def test_translated_providers_accept_them_on_an_own_key(
    sdk: openai.OpenAI, upstream: FakeUpstream, chat_gateway: RunningGateway, tenant: SeededTenant,
    provider: str,
) -> None:
    use_own_key(chat_gateway, tenant, provider)
    raw = call(sdk, provider, {"store": True, "service_tier": "priority"}, stream=False)
    assert raw.headers["ic-key-source"] == "byok"
    assert len(upstream.requests) == 1


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_anthropic_end_user_id_only_on_an_own_key(
    sdk: openai.OpenAI, upstream: FakeUpstream, chat_gateway: RunningGateway, tenant: SeededTenant,
    stream: bool,
) -> None:
    call(sdk, "anthropic", {"user": "end-user-42", "metadata": {"team": "blue"}}, stream=stream)
    hosted = upstream.last
    assert hosted.headers["x-api-key"] == HOSTED["anthropic"]
    assert "metadata" not in hosted.body and "end-user-42" not in str(hosted.body)
    use_own_key(chat_gateway, tenant, "anthropic")
    call(sdk, "anthropic", {"user": "end-user-42", "metadata": {"team": "blue"}}, stream=stream)
    own = upstream.last
    assert own.headers["x-api-key"] == TENANT_KEYS["anthropic"]
    assert own.body["metadata"] == {"user_id": "end-user-42"}


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_google_forwards_none_of_them(sdk: openai.OpenAI, upstream: FakeUpstream, stream: bool) -> None:
    # Gemini's own price and custody fields cannot be asked for through the
    # translation, hosted or not: only what it maps goes out.
    extra = {**DROPPED, "cachedContent": "cachedContents/other", "labels": {"team": "blue"}}
    call(sdk, "google", extra, stream=stream)
    sent = upstream.last
    assert sent.headers["x-goog-api-key"] == HOSTED["google"]
    assert set(sent.body) <= {"contents", "systemInstruction", "tools", "toolConfig", "generationConfig"}
    assert "end-user-42" not in str(sent.body) and "cachedContents" not in str(sent.body)


def test_refused_fields_are_not_declared_by_the_request_schema() -> None:
    # `check` reads them from the request's extra fields: one declared later would
    # move out of there, and this test would say so.
    refused = {name for name, rule in hosted_policy.RULES.items() if rule.refuse}
    assert not refused & set(ChatCompletionRequest.model_fields)
