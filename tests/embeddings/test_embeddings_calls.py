"""POST /v1/embeddings end to end: the official SDK's ``embeddings.create`` through
the gateway to the loopback fake (OpenAI passthrough, Google batchEmbedContents),
with the chat path's auth, resolution (configs, groups), types and metering."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.fakes.upstream import FAKE_EMBEDDING_DIMENSIONS, FakeUpstream, fake_vector, json_script
from tests.metering.outcome_harness import (  # noqa: F401 - fixtures
    fake,
    metered_gateway,
    upstream,
    usage_events,
)
from tests.routing.conftest import create_config, create_group, sdk
from tests.support import RunningGateway, SeededTenant

EMBEDDINGS = "/v1/embeddings"


def post(
    gw: RunningGateway, tenant: SeededTenant, body: dict, which: str = "write"
) -> httpx.Response:
    return httpx.post(f"{gw.url}{EMBEDDINGS}", json=body, headers=tenant.headers(which), timeout=30)


@pytest.mark.parametrize(
    ("model", "path"),
    [("text-embedding-3-small", "/v1/embeddings"),
     ("gemini-embedding-001", "/v1beta/models/gemini-embedding-001:batchEmbedContents")],
)
def test_the_sdk_embeds_through_each_provider_style(
    metered_gateway: RunningGateway, tenant: SeededTenant, upstream: FakeUpstream,
    model: str, path: str,
) -> None:
    raw = sdk(metered_gateway, tenant).embeddings.with_raw_response.create(
        model=model, input=["first text", "second text"]
    )
    answer = raw.parse()
    assert answer.model == model and [d.index for d in answer.data] == [0, 1]
    # The SDK asks for base64 and decodes it; the vectors are the fake's, exactly.
    assert answer.data[1].embedding == fake_vector(1, FAKE_EMBEDDING_DIMENSIONS)
    assert answer.usage.prompt_tokens > 0
    assert upstream.last.path.endswith(path.rsplit("/", 1)[-1])
    assert raw.headers["ic-key-source"] == "hosted"
    [event] = usage_events(metered_gateway, tenant, 1)
    assert event["endpoint"] == "embeddings" and event["model"] == model
    assert event["base_model"] == model and event["status"] == 200
    assert event["input_tokens"] == answer.usage.prompt_tokens and event["output_tokens"] == 0


def test_a_group_of_embedding_models_fails_over(
    metered_gateway: RunningGateway, tenant: SeededTenant, upstream: FakeUpstream
) -> None:
    create_group(metered_gateway, tenant, "vectors", "text-embedding-3-small",
                 "gemini-embedding-001", model_type="embedding")
    upstream.next(json_script({"error": {"message": "overloaded"}}, 503))
    raw = sdk(metered_gateway, tenant).embeddings.with_raw_response.create(
        model="vectors", input="some text"
    )
    assert raw.parse().model == "gemini-embedding-001" and len(raw.parse().data) == 1
    assert raw.headers["ic-model"] == "gemini-embedding-001" and raw.headers["ic-attempts"] == "2"
    [event] = usage_events(metered_gateway, tenant, 1)
    assert (event["model"], event["base_model"], event["attempts"]) == (
        "vectors", "gemini-embedding-001", 2
    )


def test_a_400_from_an_embedding_member_is_returned_at_once(
    metered_gateway: RunningGateway, tenant: SeededTenant, upstream: FakeUpstream
) -> None:
    create_group(metered_gateway, tenant, "vectors", "text-embedding-3-small",
                 "gemini-embedding-001", model_type="embedding")
    upstream.next(json_script({"error": {"message": "input too long"}}, 400))
    response = post(metered_gateway, tenant, {"model": "vectors", "input": "x"})
    assert response.status_code == 400 and response.headers["ic-attempts"] == "1"
    assert len(upstream.requests) == 1


def test_a_config_on_an_embedding_model(
    metered_gateway: RunningGateway, tenant: SeededTenant, upstream: FakeUpstream
) -> None:
    create_config(metered_gateway, tenant, name="my-vectors", base_model="text-embedding-3-large")
    answer = sdk(metered_gateway, tenant).embeddings.create(
        model="MY-VECTORS", input="hello", dimensions=4
    )
    assert answer.model == "my-vectors" and len(answer.data[0].embedding) == 4
    assert upstream.last.body["model"] == "text-embedding-3-large"
    assert upstream.last.body["dimensions"] == 4


def test_embeddings_on_a_non_embedding_model_is_a_type_mismatch(
    metered_gateway: RunningGateway, tenant: SeededTenant, upstream: FakeUpstream
) -> None:
    create_config(metered_gateway, tenant, name="chatty", base_model="gpt-4o")
    create_group(metered_gateway, tenant, "talkers", "gpt-4o")
    for model in ("gpt-4o", "claude-haiku-4-5", "chatty", "talkers"):
        with pytest.raises(openai.UnprocessableEntityError) as raised:
            sdk(metered_gateway, tenant).embeddings.create(model=model, input="x")
        assert raised.value.body["code"] == "model_type_mismatch"
        assert raised.value.body["param"] == "model"
    assert upstream.requests == []


def test_embeddings_rules_shared_with_chat(
    metered_gateway: RunningGateway, tenant: SeededTenant, other_tenant: SeededTenant,
    upstream: FakeUpstream,
) -> None:
    body = {"model": "text-embedding-3-small", "input": "x"}
    assert httpx.post(f"{metered_gateway.url}{EMBEDDINGS}", json=body).status_code == 401
    response = post(metered_gateway, tenant, body, which="read")
    assert response.status_code == 403 and response.json()["error"]["code"] == "insufficient_scope"
    create_group(metered_gateway, tenant, "private-vectors", "text-embedding-3-small",
                 model_type="embedding")
    response = post(metered_gateway, other_tenant, {"model": "private-vectors", "input": "x"})
    assert response.status_code == 404 and response.json()["error"]["code"] == "model_not_found"
    model = "text-embedding-3-small"
    for bad in ({"model": model}, {"model": model, "input": ""},
                {"model": model, "input": "x", "dimensions": "4"}):
        response = post(metered_gateway, tenant, bad)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "validation_error"
    response = httpx.post(f"{metered_gateway.url}{EMBEDDINGS}", content=b"{oops",
                          headers={**tenant.headers("write"), "content-type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_json"
    assert upstream.requests == []


def test_the_openapi_document_describes_the_route(metered_gateway: RunningGateway) -> None:
    document = httpx.get(f"{metered_gateway.url}/openapi.json").json()
    operation = document["paths"]["/v1/embeddings"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert {"model", "input", "dimensions", "encoding_format"} <= set(schema["properties"])


def test_a_request_from_a_gateway_is_a_loop(
    metered_gateway: RunningGateway, tenant: SeededTenant, upstream: FakeUpstream
) -> None:
    response = httpx.post(
        f"{metered_gateway.url}{EMBEDDINGS}",
        json={"model": "text-embedding-3-small", "input": "x"},
        headers={**tenant.headers("write"), "ic-gateway-hop": "1"},
    )
    assert response.status_code == 508 and response.json()["error"]["code"] == "loop_detected"
    assert upstream.requests == []
