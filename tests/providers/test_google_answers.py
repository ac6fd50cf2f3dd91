"""Google Gemini: answers and golden streams, translated to OpenAI's shapes."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest
import respx

from tests.providers.helpers import (
    CANARY,
    chat,
    collect,
    deltas,
    events,
    fixture,
    split_events,
    sse_response,
    target,
)

BASE = "https://generativelanguage.googleapis.test/v1beta/models/gemini-2.5-flash"
URL = f"{BASE}:generateContent"
STREAM_URL = f"{BASE}:streamGenerateContent"
ANSWER = {
    "candidates": [
        {
            "content": {
                "role": "model",
                "parts": [
                    {"text": "Thinking about it", "thought": True},
                    {"text": "Let me "},
                    {"text": "look."},
                    {
                        "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                        "thoughtSignature": "c2lnbmF0dXJl",
                    },
                    {"functionCall": {"name": "get_time", "args": {}}},
                ],
            },
            "finishReason": "STOP",
            "index": 0,
        }
    ],
    "usageMetadata": {
        "promptTokenCount": 40,
        "candidatesTokenCount": 12,
        "thoughtsTokenCount": 30,
        "cachedContentTokenCount": 8,
        "totalTokenCount": 82,
    },
    "modelVersion": "gemini-2.5-flash",
    "responseId": "resp-1",
}


async def test_answer_translation(upstream: respx.MockRouter, make_adapter) -> None:
    upstream.post(URL).respond(200, json=ANSWER)
    answer = await make_adapter("google").complete(*chat(), target("google"))
    assert answer["id"] == "resp-1" and answer["model"] == "gemini-2.5-flash"
    choice = answer["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    message = choice["message"]
    assert message["content"] == "Let me look."
    first, second = message["tool_calls"]
    assert re.fullmatch(r"call_[0-9a-f]{24}", first["id"]) and first["id"] != second["id"]
    assert first["function"] == {"name": "get_weather", "arguments": '{"city":"Paris"}'}
    assert first["extra_content"] == {"google": {"thought_signature": "c2lnbmF0dXJl"}}
    assert second["function"] == {"name": "get_time", "arguments": "{}"}
    assert "extra_content" not in second
    assert answer["usage"] == {
        "prompt_tokens": 40,
        "completion_tokens": 42,
        "total_tokens": 82,
        "prompt_tokens_details": {"cached_tokens": 8},
        "completion_tokens_details": {"reasoning_tokens": 30},
    }


@pytest.mark.parametrize(
    ("reason", "finish"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("MALFORMED_FUNCTION_CALL", "stop"),
    ],
)
async def test_finish_reasons(upstream: respx.MockRouter, make_adapter, reason, finish) -> None:
    answer = {
        "candidates": [
            {"content": {"parts": [{"text": "x"}], "role": "model"}, "finishReason": reason}
        ]
    }
    upstream.post(URL).respond(200, json=answer)
    result = await make_adapter("google").complete(*chat(), target("google"))
    assert result["choices"][0]["finish_reason"] == finish


async def test_a_blocked_prompt_is_a_content_filter(
    upstream: respx.MockRouter, make_adapter
) -> None:
    upstream.post(URL).respond(
        200,
        json={
            "promptFeedback": {"blockReason": "SAFETY"},
            "usageMetadata": {"promptTokenCount": 5},
        },
    )
    result = await make_adapter("google").complete(*chat(), target("google"))
    assert result["choices"][0]["finish_reason"] == "content_filter"
    assert result["choices"][0]["message"]["content"] == ""


async def run_stream(upstream, make_adapter, recording: str) -> list[Any]:
    response, _ = sse_response(split_events(fixture(recording)))
    route = upstream.post(STREAM_URL, params={"alt": "sse"}).mock(return_value=response)
    request, raw = chat(stream=True, stream_options={"include_usage": True})
    out = await collect(make_adapter("google").stream(request, raw, target("google")))
    sent = route.calls.last.request
    assert sent.url.params["alt"] == "sse" and "key" not in sent.url.params
    assert sent.headers["x-goog-api-key"] == CANARY
    assert "stream" not in orjson.loads(sent.content)
    items = events(out)
    for item in items[:-1]:
        assert item["model"] == "gemini-2.5-flash" and item["id"] == items[0]["id"]
    return items


async def test_stream_text_golden(upstream: respx.MockRouter, make_adapter) -> None:
    items = await run_stream(upstream, make_adapter, "google_text.sse")
    assert items[0]["id"] == "9Rk8aJrOIYqlz7IP2ZiE8Ao"
    assert deltas(items) == [
        ({"role": "assistant", "content": ""}, None),
        ({"content": "Hello"}, None),
        ({"content": "! How can I help you"}, None),
        ({"content": " today?"}, None),
        ({}, "stop"),
        {
            "usage": {
                "prompt_tokens": 8,
                "completion_tokens": 29,
                "total_tokens": 37,
                "completion_tokens_details": {"reasoning_tokens": 20},
            }
        },
        "[DONE]",
    ]


async def test_stream_two_tool_calls_golden(upstream: respx.MockRouter, make_adapter) -> None:
    items = await run_stream(upstream, make_adapter, "google_tools.sse")
    found = deltas(items)
    assert found[0] == ({"role": "assistant", "content": ""}, None)
    (calls_delta, finish) = found[1]
    assert finish is None
    first, second = calls_delta["tool_calls"]
    assert first["index"] == 0 and second["index"] == 1
    assert first["type"] == second["type"] == "function"
    assert re.fullmatch(r"call_[0-9a-f]{24}", first["id"])
    assert first["function"] == {"name": "get_weather", "arguments": '{"city":"Paris"}'}
    assert first["extra_content"] == {"google": {"thought_signature": "CiQB0e2Kb8sJ3mQ2f9nJ1w=="}}
    assert second["function"] == {"name": "get_time", "arguments": '{"tz":"Europe/Paris"}'}
    assert found[2:] == [
        ({}, "tool_calls"),
        {
            "usage": {
                "prompt_tokens": 61,
                "completion_tokens": 84,
                "total_tokens": 145,
                "completion_tokens_details": {"reasoning_tokens": 56},
            }
        },
        "[DONE]",
    ]
