"""Anthropic: answers and golden streams, translated to OpenAI's shapes."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import respx

from tests.providers.helpers import (
    chat,
    collect,
    deltas,
    events,
    fixture,
    split_events,
    sse_response,
    target,
)

URL = "https://api.anthropic.test/v1/messages"
ANSWER = {
    "id": "msg_01",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [
        {"type": "thinking", "thinking": "hmm", "signature": "sig"},
        {"type": "text", "text": "Let me look."},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}},
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 10,
        "cache_creation_input_tokens": 5,
        "cache_read_input_tokens": 20,
        "output_tokens": 7,
    },
}


async def test_answer_translation(upstream: respx.MockRouter, make_adapter) -> None:
    upstream.post(URL).respond(200, json=ANSWER)
    answer = await make_adapter("anthropic").complete(*chat(), target("anthropic"))
    assert answer["object"] == "chat.completion"
    assert answer["model"] == "claude-sonnet-4-5"
    assert answer["choices"] == [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Let me look.",
                "refusal": None,
                "tool_calls": [
                    {
                        "id": "toolu_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    },
                    {
                        "id": "toolu_2",
                        "type": "function",
                        "function": {"name": "get_time", "arguments": "{}"},
                    },
                ],
            },
            "logprobs": None,
            "finish_reason": "tool_calls",
        }
    ]
    assert answer["usage"] == {
        "prompt_tokens": 35,
        "completion_tokens": 7,
        "total_tokens": 42,
        "prompt_tokens_details": {"cached_tokens": 20},
    }


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        (None, "stop"),
    ],
)
async def test_finish_reasons(
    upstream: respx.MockRouter, make_adapter, stop_reason, finish
) -> None:
    answer = {**ANSWER, "content": [{"type": "text", "text": "x"}], "stop_reason": stop_reason}
    upstream.post(URL).respond(200, json=answer)
    result = await make_adapter("anthropic").complete(*chat(), target("anthropic"))
    assert result["choices"][0]["finish_reason"] == finish
    assert "tool_calls" not in result["choices"][0]["message"]


async def run_stream(upstream, make_adapter, recording: str, include_usage: bool) -> list[Any]:
    response, _ = sse_response(split_events(fixture(recording)))
    route = upstream.post(URL).mock(return_value=response)
    fields: dict[str, Any] = {"stream": True}
    if include_usage:
        fields["stream_options"] = {"include_usage": True}
    out = await collect(make_adapter("anthropic").stream(*chat(**fields), target("anthropic")))
    assert orjson.loads(route.calls.last.request.content)["stream"] is True
    items = events(out)
    for item in items[:-1]:
        assert item["id"] == items[0]["id"] and item["model"] == "claude-sonnet-4-5"
        assert item["object"] == "chat.completion.chunk"
    return items


async def test_stream_text_golden(upstream: respx.MockRouter, make_adapter) -> None:
    items = await run_stream(upstream, make_adapter, "anthropic_text.sse", include_usage=True)
    assert items[0]["id"] == "msg_01XFDUDYJgAACzvnptvVoYEL"
    assert deltas(items) == [
        ({"role": "assistant", "content": ""}, None),
        ({"content": "Hello"}, None),
        ({"content": "! How can I help"}, None),
        ({"content": " you today?"}, None),
        ({}, "stop"),
        {"usage": {"prompt_tokens": 25, "completion_tokens": 12, "total_tokens": 37}},
        "[DONE]",
    ]


async def test_stream_two_tool_calls_golden(upstream: respx.MockRouter, make_adapter) -> None:
    items = await run_stream(upstream, make_adapter, "anthropic_tools.sse", include_usage=True)
    assert deltas(items) == [
        ({"role": "assistant", "content": ""}, None),
        ({"content": "I'll check both."}, None),
        # content block 1 is tool call 0, block 2 is tool call 1
        (
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ]
            },
            None,
        ),
        ({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": "Pa'}}]}, None),
        ({"tool_calls": [{"index": 0, "function": {"arguments": 'ris"}'}}]}, None),
        (
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "id": "toolu_01JdPo8e1nHvQ4rSa9bCz2Xy",
                        "type": "function",
                        "function": {"name": "get_time", "arguments": ""},
                    }
                ]
            },
            None,
        ),
        ({"tool_calls": [{"index": 1, "function": {"arguments": '{"tz": "Europe/Paris"}'}}]}, None),
        ({}, "tool_calls"),
        {
            "usage": {
                "prompt_tokens": 572,
                "completion_tokens": 89,
                "total_tokens": 661,
                "prompt_tokens_details": {"cached_tokens": 100},
            }
        },
        "[DONE]",
    ]


async def test_stream_without_include_usage_still_ends_with_the_reported_usage(
    upstream: respx.MockRouter, make_adapter
) -> None:
    # The gateway meters every stream, so the adapter always hands on the usage
    # Anthropic reported; metering/stream_tap.py keeps it from a client that did
    # not ask (tests/metering covers that end to end).
    items = await run_stream(upstream, make_adapter, "anthropic_text.sse", include_usage=False)
    assert items[-3]["choices"][0]["finish_reason"] == "stop"
    assert items[-2]["choices"] == [] and items[-2]["usage"]["completion_tokens"] > 0
    assert items[-1] == "[DONE]"
    assert not any("usage" in item for item in items[:-2])
