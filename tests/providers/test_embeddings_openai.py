"""Embeddings on OpenAI-compatible providers: the raw body passes through with only
``model`` replaced, the answer comes back with only ``model`` replaced, errors map
as on chat, and the registry hands out embedders on the providers' own clients."""

from __future__ import annotations

import base64
import struct
from typing import Any

import httpx
import orjson
import pytest
import respx
from pydantic import SecretStr

from modelgate.embeddings.schemas import EmbeddingsRequest
from modelgate.errors import ModelTypeMismatch, UpstreamError, UpstreamUnavailable
from modelgate.providers.base import Timeouts
from modelgate.providers.google.embeddings import GoogleEmbedder
from modelgate.providers.openai_embeddings import OpenAIEmbedder
from modelgate.providers.registry import CUSTOM_ENDPOINTS, ProviderRegistry
from tests.fakes.upstream import fake_vector, run_fake_upstream
from tests.providers.helpers import CANARY, assert_no_secret, target

URL = "https://api.openai.test/v1/embeddings"
MODEL = "text-embedding-3-small"
VECTOR_B64 = base64.b64encode(struct.pack("<3f", 0.5, -1.25, 2.0)).decode()


def embeddings(**fields: Any) -> tuple[EmbeddingsRequest, dict[str, Any]]:
    raw = {"model": "my-embedder", "input": "Hello", **fields}
    return EmbeddingsRequest.model_validate(raw), raw


def answer(embedding: Any = None, model: str = "text-embedding-3-small-v3") -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": embedding or [0.5, -1.25]}],
        "model": model,
        "usage": {"prompt_tokens": 1, "total_tokens": 1},
    }


@pytest.fixture
def embedder(client: httpx.AsyncClient) -> OpenAIEmbedder:
    return OpenAIEmbedder(client, Timeouts(1.0, 2.0, 5.0))


def sent_body(route: respx.Route) -> dict[str, Any]:
    return orjson.loads(route.calls.last.request.content)


async def test_the_raw_body_passes_with_only_model_replaced(
    upstream: respx.MockRouter, embedder: OpenAIEmbedder
) -> None:
    route = upstream.post(URL).respond(200, json=answer(VECTOR_B64))
    request, body = embeddings(
        input=["first", "second"], dimensions=3, encoding_format="base64", vendor_knob=7
    )
    got = await embedder.embed(request, body, target("openai", model=MODEL))

    assert sent_body(route) == {
        "model": MODEL,
        "input": ["first", "second"],
        "dimensions": 3,
        "encoding_format": "base64",
        "vendor_knob": 7,
    }
    sent = route.calls.last.request
    assert sent.headers["authorization"] == f"Bearer {CANARY}"
    assert sent.headers["content-type"] == "application/json"
    # base64 comes back untouched (the SDK decodes it), and only model changes.
    assert got == {**answer(VECTOR_B64), "model": MODEL}
    assert struct.unpack("<3f", base64.b64decode(got["data"][0]["embedding"])) == (0.5, -1.25, 2.0)
    assert body["model"] == "my-embedder"  # the caller's dict is not changed


@pytest.mark.parametrize("tokens", [[1, 2, 3], [[1, 2], [3]]])
async def test_token_arrays_pass_through(
    upstream: respx.MockRouter, embedder: OpenAIEmbedder, tokens: list[Any]
) -> None:
    route = upstream.post(URL).respond(200, json=answer())
    await embedder.embed(*embeddings(input=tokens), target("openai", model=MODEL))
    assert sent_body(route)["input"] == tokens


async def test_a_hosted_key_drops_the_end_user_id(
    upstream: respx.MockRouter, embedder: OpenAIEmbedder
) -> None:
    route = upstream.post(URL).respond(200, json=answer())
    request, body = embeddings(user="alice", provider={"data_collection": "allow"})

    await embedder.embed(request, body, target("openai", model=MODEL))
    byok = sent_body(route)
    assert byok["user"] == "alice" and byok["provider"] == {"data_collection": "allow"}

    platform_key = "sk-platform-hosted-1234567890"
    hosted = target("openai", model=MODEL, hosted=True, api_key=SecretStr(platform_key))
    await embedder.embed(request, body, hosted)
    sent = route.calls.last.request
    assert "user" not in sent_body(route) and "provider" not in sent_body(route)
    assert sent_body(route)["input"] == "Hello"
    assert sent.headers["authorization"] == f"Bearer {platform_key}"


async def test_a_byok_base_url_is_used_as_given(
    upstream: respx.MockRouter, embedder: OpenAIEmbedder
) -> None:
    route = upstream.post("http://10.0.0.5:8000/v1/embeddings").respond(200, json=answer())
    got = await embedder.embed(
        *embeddings(), target("openai", base_url="http://10.0.0.5:8000/v1", model="bge-m3")
    )
    assert route.called and got["model"] == "bge-m3"


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(429, "rate_limit_error"), (401, "authentication_error"), (403, "permission_error"),
     (400, "invalid_request_error")],
)
async def test_a_provider_4xx_keeps_its_status_and_message_without_the_key(
    upstream: respx.MockRouter, embedder: OpenAIEmbedder, status: int, error_type: str
) -> None:
    upstream.post(URL).respond(
        status,
        json={"error": {"message": f"Incorrect API key provided: {CANARY}.", "type": "x"}},
        headers={"retry-after": "7"},
    )
    with pytest.raises(UpstreamError) as raised:
        await embedder.embed(*embeddings(), target("openai", model=MODEL))
    error = raised.value
    assert (error.status_code, error.type) == (status, error_type)
    assert "Incorrect API key provided: [redacted]." in error.message
    assert error.headers == ({"retry-after": "7"} if status == 429 else {})
    assert_no_secret(error)


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_provider_5xx_is_upstream_unavailable(
    upstream: respx.MockRouter, embedder: OpenAIEmbedder, status: int
) -> None:
    upstream.post(URL).respond(status, text=f"boom {CANARY}")
    with pytest.raises(UpstreamUnavailable) as raised:
        await embedder.embed(*embeddings(), target("openai", model=MODEL))
    assert raised.value.status_code == 502 and f"HTTP {status}" in raised.value.message
    assert_no_secret(raised.value)


async def test_an_error_in_a_200_and_an_answer_without_data_are_502(
    upstream: respx.MockRouter, embedder: OpenAIEmbedder
) -> None:
    upstream.post(URL).mock(
        side_effect=[
            httpx.Response(200, json={"error": {"message": f"overloaded {CANARY}"}}),
            httpx.Response(200, json={"object": "list"}),
        ]
    )
    for expected in ("reported an error: overloaded [redacted]", "unreadable answer"):
        with pytest.raises(UpstreamUnavailable) as raised:
            await embedder.embed(*embeddings(), target("openai", model=MODEL))
        assert expected in raised.value.message
        assert_no_secret(raised.value)


# ── the registry ──────────────────────────────────────────────────────────────
async def test_the_registry_builds_embedders_on_the_providers_clients() -> None:
    registry = ProviderRegistry.build(
        {"openai": "openai", "groq": "openai", "google": "google", "anthropic": "anthropic"},
        max_response_bytes=1024,
        max_embeddings_response_bytes=4096,
        custom_endpoint_transport=httpx.AsyncHTTPTransport(),
    )
    try:
        groq = registry.embedder_for("groq")
        assert isinstance(groq, OpenAIEmbedder) and isinstance(
            registry.embedder_for("google"), GoogleEmbedder
        )
        assert groq.client is registry.clients["groq"] is registry.adapter_for("groq").client
        # Embeddings answers are larger than chat answers: their own limit.
        assert groq.max_response_bytes == 4096
        assert registry.adapter_for("groq").max_response_bytes == 1024

        custom = registry.embedder_for("openai", custom_endpoint=True)
        assert custom.client is registry.clients[CUSTOM_ENDPOINTS]
        assert registry.is_custom_endpoint(custom, "openai")
        assert not registry.is_custom_endpoint(registry.embedder_for("openai"), "openai")

        with pytest.raises(ModelTypeMismatch) as raised:
            registry.embedder_for("anthropic")
        assert (raised.value.status_code, raised.value.code, raised.value.param) == (
            422, "model_type_mismatch", "model",
        )
        assert "no embeddings API" in raised.value.message
        with pytest.raises(LookupError):
            registry.embedder_for("nobody")
    finally:
        await registry.close_all()


async def test_an_answer_over_the_embeddings_limit_is_refused(upstream: respx.MockRouter) -> None:
    registry = ProviderRegistry.build(
        {"openai": "openai"}, max_response_bytes=1024, max_embeddings_response_bytes=4096
    )
    try:
        embedder = registry.embedder_for("openai")
        upstream.post(URL).mock(
            side_effect=[
                httpx.Response(200, json=answer([0.25] * 300)),  # ~2 KB: over chat's limit
                httpx.Response(200, json=answer([0.25] * 1000)),  # ~6 KB
            ]
        )
        got = await embedder.embed(*embeddings(), target("openai", model=MODEL))
        assert len(got["data"][0]["embedding"]) == 300
        with pytest.raises(UpstreamUnavailable, match="larger than 4096 bytes"):
            await embedder.embed(*embeddings(), target("openai", model=MODEL))
    finally:
        await registry.close_all()


# ── over real HTTP, against the loopback fake ─────────────────────────────────
async def test_against_the_fake_upstream_floats_and_base64() -> None:
    registry = ProviderRegistry.build({"openai": "openai"})
    try:
        embedder = registry.embedder_for("openai")
        with run_fake_upstream() as fake:
            where = target("openai", base_url=fake.url + "/v1", model=MODEL)
            floats = await embedder.embed(*embeddings(input=["a", "b"], dimensions=4), where)
            encoded = await embedder.embed(
                *embeddings(input=["a", "b"], dimensions=4, encoding_format="base64"), where
            )
            assert fake.last.path == "/v1/embeddings"
            assert fake.last.headers["authorization"] == f"Bearer {CANARY}"
            assert fake.last.body["encoding_format"] == "base64"
        assert floats["model"] == encoded["model"] == MODEL
        assert [item["embedding"] for item in floats["data"]] == [
            fake_vector(0, 4), fake_vector(1, 4),
        ]
        decoded = [
            list(struct.unpack("<4f", base64.b64decode(item["embedding"])))
            for item in encoded["data"]
        ]
        assert decoded == [fake_vector(0, 4), fake_vector(1, 4)]
        assert floats["usage"] == {"prompt_tokens": 6, "total_tokens": 6}
    finally:
        await registry.close_all()
