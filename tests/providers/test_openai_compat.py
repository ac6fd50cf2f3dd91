"""The OpenAI-compatible passthrough: body, headers, answer and stream relay."""

from __future__ import annotations

import httpx
import orjson
import pytest
import respx

from tests.providers.helpers import (
    CANARY,
    chat,
    collect,
    events,
    fixture,
    split_events,
    sse_response,
    target,
)

URL = "https://api.openai.test/v1/chat/completions"
ANSWER = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hi!"},
            "finish_reason": "stop",
            "logprobs": None,
        }
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    "system_fingerprint": "fp_1",
}


async def test_complete_passes_the_raw_body_through(
    upstream: respx.MockRouter, make_adapter
) -> None:
    route = upstream.post(URL).respond(200, json=ANSWER)
    request, body = chat(
        {
            "model": "my-alias",
            "messages": [{"role": "user", "content": "Hi"}],
            "logit_bias": {"1": 2},
            "stream": False,
            "temperature": 0.3,
        }
    )
    answer = await make_adapter("openai").complete(request, body, target("openai"))

    sent = route.calls.last.request
    assert sent.headers["authorization"] == f"Bearer {CANARY}"
    assert sent.headers["content-type"] == "application/json"
    assert orjson.loads(sent.content) == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Hi"}],
        "logit_bias": {"1": 2},
        "temperature": 0.3,
    }
    assert body["model"] == "my-alias"  # the caller's dict is left alone
    assert answer == {**ANSWER, "model": "gpt-4o-mini"}


async def test_a_byok_base_url_is_used_as_given(upstream: respx.MockRouter, make_adapter) -> None:
    route = upstream.post("https://llm.tenant.test/custom/v1/chat/completions").respond(
        200, json=ANSWER
    )
    request, body = chat()
    byok = target("openai", base_url="https://llm.tenant.test/custom/v1/", provider_id="openai")
    await make_adapter("openai").complete(request, body, byok)
    assert route.called


async def test_a_200_without_choices_is_unreadable(
    upstream: respx.MockRouter, make_adapter
) -> None:
    from modelgate.errors import UpstreamUnavailable

    upstream.post(URL).respond(200, json={"object": "list"})
    with pytest.raises(UpstreamUnavailable):
        await make_adapter("openai").complete(*chat(), target("openai"))


@pytest.mark.parametrize("recording", ["openai_text.sse", "openai_tools.sse"])
async def test_stream_relays_each_event_with_our_model(
    upstream: respx.MockRouter, make_adapter, recording: str
) -> None:
    raw = fixture(recording)
    response, _ = sse_response(split_events(raw))
    route = upstream.post(URL).mock(return_value=response)
    request, body = chat(stream=True, stream_options={"include_usage": True})

    out = await collect(make_adapter("openai").stream(request, body, target("openai")))

    sent = orjson.loads(route.calls.last.request.content)
    assert sent["stream"] is True and sent["model"] == "gpt-4o-mini"
    assert sent["stream_options"] == {"include_usage": True}
    upstream_events = [
        orjson.loads(e[6:]) if e != b"data: [DONE]\n\n" else "[DONE]" for e in split_events(raw)
    ]
    ours = events(out)
    assert len(ours) == len(upstream_events)
    for mine, theirs in zip(ours, upstream_events, strict=True):
        if theirs == "[DONE]":
            assert mine == "[DONE]"
        else:
            assert mine == {**theirs, "model": "gpt-4o-mini"}


async def test_stream_fast_path_forwards_bytes_untouched(
    upstream: respx.MockRouter, make_adapter
) -> None:
    # The spaces would not survive a decode and re-encode: these bytes were not touched.
    raw = (
        fixture("openai_text.sse")
        .replace(b"gpt-4o-mini-2024-07-18", b"gpt-4o-mini")
        .replace(b'"object":', b'"object": ')
    )
    response, _ = sse_response([raw[i : i + 50] for i in range(0, len(raw), 50)])
    upstream.post(URL).mock(return_value=response)
    out = await collect(make_adapter("openai").stream(*chat(stream=True), target("openai")))
    assert b"".join(out) == raw


async def test_stream_rewrites_the_upstream_model_without_decoding_after_the_first(
    upstream: respx.MockRouter, make_adapter
) -> None:
    raw = fixture("openai_text.sse").replace(b'"object":', b'"object": ')
    response, _ = sse_response(split_events(raw))
    upstream.post(URL).mock(return_value=response)
    out = await collect(make_adapter("openai").stream(*chat(stream=True), target("openai")))
    expected = split_events(
        raw.replace(b'"model":"gpt-4o-mini-2024-07-18"', b'"model":"gpt-4o-mini"')
    )
    assert out[1:] == expected[1:]  # the first one was decoded to learn the upstream's name
    assert orjson.loads(out[0][6:]) == orjson.loads(expected[0][6:])


async def test_stream_skips_comments_and_other_fields(
    upstream: respx.MockRouter, make_adapter
) -> None:
    chunk = b'{"id":"x","object":"chat.completion.chunk","model":"other","choices":[]}'
    response, _ = sse_response(
        [
            b": OPENROUTER PROCESSING\n\n",
            b"event: chunk\nid: 1\ndata: " + chunk + b"\n\n",
            b"data: [DONE]\n\n",
        ]
    )
    upstream.post(URL).mock(return_value=response)
    out = await collect(make_adapter("openai").stream(*chat(stream=True), target("openai")))
    assert events(out) == [
        {"id": "x", "object": "chat.completion.chunk", "model": "gpt-4o-mini", "choices": []},
        "[DONE]",
    ]


async def test_closing_after_done_reads_no_further(
    upstream: respx.MockRouter, make_adapter
) -> None:
    response, stream = sse_response([b"data: [DONE]\n\n", b'data: {"late": 1}\n\n'])
    upstream.post(URL).mock(return_value=response)
    out = await collect(make_adapter("openai").stream(*chat(stream=True), target("openai")))
    assert out == [b"data: [DONE]\n\n"]
    assert stream.closed


def test_model_passthrough_uses_httpx_urls() -> None:
    # A target's URL is built from its base URL alone (one client, any host).
    assert target("openai", base_url="http://h:1/v1/").url("/chat/completions") == (
        "http://h:1/v1/chat/completions"
    )
    assert httpx.URL(target("openai").url("/chat/completions")).host == "api.openai.test"
