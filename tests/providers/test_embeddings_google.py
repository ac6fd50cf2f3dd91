"""Embeddings on Gemini: OpenAI's request translated to batchEmbedContents, the
answer back in OpenAI's shape (floats, or base64 encoded by the gateway), token
arrays refused, long lists split into Gemini's batches of 100, errors as on chat."""

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
from modelgate.errors import UpstreamError, UpstreamUnavailable, ValidationFailed
from modelgate.metering.estimate import count_text
from modelgate.providers.base import Timeouts, UpstreamTarget
from modelgate.providers.google.embeddings import MAX_BATCH, GoogleEmbedder
from modelgate.providers.registry import ProviderRegistry
from tests.fakes.upstream import fake_vector, run_fake_upstream
from tests.providers.helpers import CANARY, assert_no_secret, target

MODEL = "gemini-embedding-001"
URL = f"https://generativelanguage.googleapis.test/v1beta/models/{MODEL}:batchEmbedContents"


def embeddings(**fields: Any) -> tuple[EmbeddingsRequest, dict[str, Any]]:
    raw = {"model": "my-embedder", "input": "Hello", **fields}
    return EmbeddingsRequest.model_validate(raw), raw


def gemini(*vectors: list[float], **extra: Any) -> dict[str, Any]:
    return {"embeddings": [{"values": v} for v in vectors], **extra}


def echo(request: httpx.Request) -> httpx.Response:
    """Gemini's answer to whatever batch it was sent: vector i of a batch is
    [number of the text, 0.5], so the order can be checked across batches."""
    requests = orjson.loads(request.content)["requests"]
    numbers = [float(r["content"]["parts"][0]["text"].removeprefix("text ")) for r in requests]
    return httpx.Response(200, json=gemini(*([n, 0.5] for n in numbers)))


@pytest.fixture
def embedder(client: httpx.AsyncClient) -> GoogleEmbedder:
    return GoogleEmbedder(client, Timeouts(1.0, 2.0, 5.0))


def where(**overrides: Any) -> UpstreamTarget:
    return target("google", **{"model": MODEL, **overrides})


async def test_the_request_is_translated_to_batch_embed_contents(
    upstream: respx.MockRouter, embedder: GoogleEmbedder
) -> None:
    route = upstream.post(URL).respond(200, json=gemini([0.5, 1.5], [2.5, -0.25]))
    request, body = embeddings(input=["first", "second"], dimensions=2, user="alice")
    await embedder.embed(request, body, where())

    sent = route.calls.last.request
    assert orjson.loads(sent.content) == {
        "requests": [
            {"model": f"models/{MODEL}", "content": {"parts": [{"text": "first"}]},
             "outputDimensionality": 2},
            {"model": f"models/{MODEL}", "content": {"parts": [{"text": "second"}]},
             "outputDimensionality": 2},
        ]
    }
    # The key goes in its header, never in the URL or an Authorization header.
    assert sent.headers["x-goog-api-key"] == CANARY
    assert "authorization" not in sent.headers and CANARY not in str(sent.url)


async def test_without_dimensions_no_output_dimensionality_is_sent(
    upstream: respx.MockRouter, embedder: GoogleEmbedder
) -> None:
    route = upstream.post(URL).respond(200, json=gemini([0.5]))
    await embedder.embed(*embeddings(), where(model=f"models/{MODEL}"))
    assert orjson.loads(route.calls.last.request.content) == {
        "requests": [{"model": f"models/{MODEL}", "content": {"parts": [{"text": "Hello"}]}}]
    }


async def test_the_answer_is_in_openais_shape_with_estimated_usage(
    upstream: respx.MockRouter, embedder: GoogleEmbedder
) -> None:
    upstream.post(URL).respond(200, json=gemini([0.5, 1.5], [2.5, -0.25]))
    texts = ["The quick brown fox", "jumps over the lazy dog, twice."]
    got = await embedder.embed(*embeddings(input=texts), where())

    tokens = sum(count_text("google", MODEL, text) for text in texts)
    assert tokens > 0
    assert got == {
        "object": "list",
        "data": [
            {"object": "embedding", "index": 0, "embedding": [0.5, 1.5]},
            {"object": "embedding", "index": 1, "embedding": [2.5, -0.25]},
        ],
        "model": MODEL,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


async def test_a_token_count_gemini_reports_wins_over_the_estimate(
    upstream: respx.MockRouter, embedder: GoogleEmbedder
) -> None:
    upstream.post(URL).respond(200, json=gemini([0.5], usageMetadata={"promptTokenCount": 42}))
    got = await embedder.embed(*embeddings(), where())
    assert got["usage"] == {"prompt_tokens": 42, "total_tokens": 42}


async def test_base64_is_encoded_by_the_gateway_as_openai_does(
    upstream: respx.MockRouter, embedder: GoogleEmbedder
) -> None:
    vectors = [[0.5, -1.25, 3.0], [0.1, 1e-7, -2.0]]
    upstream.post(URL).respond(200, json=gemini(*vectors))
    got = await embedder.embed(*embeddings(input=["a", "b"], encoding_format="base64"), where())

    for item, vector in zip(got["data"], vectors, strict=True):
        raw = base64.b64decode(item["embedding"], validate=True)
        assert len(raw) == 4 * len(vector)  # float32
        decoded = struct.unpack(f"<{len(vector)}f", raw)  # little-endian
        # Each value is the float32 nearest the float Gemini sent.
        assert decoded == pytest.approx(vector, rel=1e-6)
        layout = f"<{len(vector)}f"
        assert decoded == struct.unpack(layout, struct.pack(layout, *vector))
    assert struct.unpack("<3f", base64.b64decode(got["data"][0]["embedding"])) == (0.5, -1.25, 3.0)


@pytest.mark.parametrize("tokens", [[1, 2, 3], [[1, 2], [3]]])
async def test_token_arrays_are_refused_before_any_call(
    upstream: respx.MockRouter, embedder: GoogleEmbedder, tokens: list[Any]
) -> None:
    route = upstream.post(URL).respond(200, json=gemini([0.5]))
    with pytest.raises(ValidationFailed) as raised:
        await embedder.embed(*embeddings(input=tokens), where())
    assert (raised.value.status_code, raised.value.code, raised.value.param) == (
        422, "validation_error", "input",
    )
    assert "token arrays" in raised.value.message
    assert not route.called


async def test_a_long_list_is_sent_in_batches_of_100_and_kept_in_order(
    upstream: respx.MockRouter, embedder: GoogleEmbedder
) -> None:
    route = upstream.post(URL).mock(side_effect=echo)
    texts = [f"text {i}" for i in range(250)]
    got = await embedder.embed(*embeddings(input=texts), where())

    sizes = sorted(len(orjson.loads(call.request.content)["requests"]) for call in route.calls)
    assert sizes == [50, MAX_BATCH, MAX_BATCH]
    assert [item["index"] for item in got["data"]] == list(range(250))
    assert [item["embedding"] for item in got["data"]] == [[float(i), 0.5] for i in range(250)]


async def test_one_failed_batch_fails_the_call(
    upstream: respx.MockRouter, embedder: GoogleEmbedder
) -> None:
    def second_batch_fails(request: httpx.Request) -> httpx.Response:
        first = orjson.loads(request.content)["requests"][0]["content"]["parts"][0]["text"]
        if first == "text 100":
            return httpx.Response(429, json={"error": {"code": 429, "message": "Quota exceeded"}})
        return echo(request)

    upstream.post(URL).mock(side_effect=second_batch_fails)
    with pytest.raises(UpstreamError) as raised:
        await embedder.embed(*embeddings(input=[f"text {i}" for i in range(150)]), where())
    assert (raised.value.status_code, raised.value.message) == (429, "Quota exceeded")


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(429, "rate_limit_error"), (401, "authentication_error"), (403, "permission_error"),
     (400, "invalid_request_error")],
)
async def test_a_provider_4xx_keeps_its_status_and_message_without_the_key(
    upstream: respx.MockRouter, embedder: GoogleEmbedder, status: int, error_type: str
) -> None:
    upstream.post(URL).respond(
        status,
        json={"error": {"code": status, "message": f"API key {CANARY} is bad.",
                        "status": "INVALID_ARGUMENT"}},
        headers={"retry-after": "3"},
    )
    with pytest.raises(UpstreamError) as raised:
        await embedder.embed(*embeddings(), where())
    error = raised.value
    assert (error.status_code, error.type) == (status, error_type)
    assert error.message == "API key [redacted] is bad."
    assert error.headers == ({"retry-after": "3"} if status == 429 else {})
    assert_no_secret(error)


@pytest.mark.parametrize("status", [500, 503])
async def test_a_provider_5xx_is_upstream_unavailable(
    upstream: respx.MockRouter, embedder: GoogleEmbedder, status: int
) -> None:
    upstream.post(URL).respond(status, json={"error": {"message": f"down {CANARY}"}})
    with pytest.raises(UpstreamUnavailable) as raised:
        await embedder.embed(*embeddings(), where())
    assert raised.value.status_code == 502 and f"HTTP {status}" in raised.value.message
    assert_no_secret(raised.value)


@pytest.mark.parametrize(
    "bad",
    [
        {"embeddings": [{"values": [0.5]}]},  # one vector for two texts
        {"embeddings": [{"values": [0.5]}, {"values": ["0.5"]}]},  # not numbers
        {"embeddings": [{"values": [0.5]}, {"nothing": []}]},
        {"embeddings": [{"values": [0.5]}, {"values": [True]}]},
        {"candidates": []},
    ],
)
async def test_an_answer_that_does_not_fit_is_unreadable(
    upstream: respx.MockRouter, embedder: GoogleEmbedder, bad: dict[str, Any]
) -> None:
    upstream.post(URL).respond(200, json=bad)
    with pytest.raises(UpstreamUnavailable, match="unreadable answer"):
        await embedder.embed(*embeddings(input=["a", "b"]), where())


async def test_hosted_and_byok_keys_send_the_same_request_with_their_own_key(
    upstream: respx.MockRouter, embedder: GoogleEmbedder
) -> None:
    route = upstream.post(URL).respond(200, json=gemini([0.5]))
    request, body = embeddings(user="alice")
    await embedder.embed(request, body, where())
    byok = route.calls.last.request
    platform_key = "AIza-platform-hosted-0123456789"
    await embedder.embed(request, body, where(hosted=True, api_key=SecretStr(platform_key)))
    hosted = route.calls.last.request
    assert byok.content == hosted.content and b"alice" not in hosted.content
    assert (byok.headers["x-goog-api-key"], hosted.headers["x-goog-api-key"]) == (
        CANARY, platform_key,
    )


# ── over real HTTP, against the loopback fake ─────────────────────────────────
async def test_against_the_fake_upstream() -> None:
    registry = ProviderRegistry.build({"google": "google"})
    try:
        embedder = registry.embedder_for("google")
        with run_fake_upstream() as fake:
            got = await embedder.embed(
                *embeddings(input=["a", "b", "c"], dimensions=4, encoding_format="base64"),
                where(base_url=fake.url),
            )
            assert fake.last.path == f"/v1beta/models/{MODEL}:batchEmbedContents"
            assert fake.last.query == "" and fake.last.headers["x-goog-api-key"] == CANARY
            assert [r["outputDimensionality"] for r in fake.last.body["requests"]] == [4, 4, 4]
        decoded = [
            list(struct.unpack("<4f", base64.b64decode(item["embedding"]))) for item in got["data"]
        ]
        assert decoded == [fake_vector(i, 4) for i in range(3)]
        assert got["model"] == MODEL and got["usage"]["prompt_tokens"] == 3
    finally:
        await registry.close_all()
