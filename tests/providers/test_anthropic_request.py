"""Anthropic: the request we send upstream, field by field."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import respx

from modelgate.errors import ValidationFailed
from tests.providers.helpers import (
    CANARY,
    chat,
    target,
)

URL = "https://api.anthropic.test/v1/messages"
OK = {
    "id": "msg_0",
    "type": "message",
    "role": "assistant",
    "content": [],
    "stop_reason": "end_turn",
}

CONVERSATION: dict[str, Any] = {
    "model": "alias",
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "developer", "content": [{"type": "text", "text": "Use tools."}]},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Weather and time?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                {"type": "image_url", "image_url": {"url": "https://img.test/cat.jpg"}},
            ],
        },
        {"role": "user", "content": "In Paris."},
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {
                    "id": "toolu_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                },
                {
                    "id": "toolu_2",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": ""},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"},
        {"role": "tool", "tool_call_id": "toolu_2", "content": [{"type": "text", "text": "noon"}]},
        {"role": "user", "content": "Thanks"},
    ],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        },
        {"type": "function", "function": {"name": "get_time"}},
    ],
    "tool_choice": "required",
    "parallel_tool_calls": False,
    "max_completion_tokens": 300,
    "max_tokens": 999,
    "temperature": 0.5,
    "top_p": 0.9,
    "stop": "END",
    "user": "user-7",
}


async def sent_body(upstream: respx.MockRouter, make_adapter, body: dict[str, Any], **kw) -> dict:
    route = upstream.post(URL).respond(200, json=OK)
    request, raw = chat(body)
    await make_adapter("anthropic").complete(request, raw, target("anthropic", **kw))
    return orjson.loads(route.calls.last.request.content)


async def test_request_translation_field_by_field(upstream: respx.MockRouter, make_adapter) -> None:
    route = upstream.post(URL).respond(200, json=OK)
    request, raw = chat(CONVERSATION)
    await make_adapter("anthropic").complete(request, raw, target("anthropic"))
    sent = route.calls.last.request

    assert sent.headers["x-api-key"] == CANARY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.headers["content-type"] == "application/json"
    assert "authorization" not in sent.headers
    body = orjson.loads(sent.content)
    assert body["model"] == "claude-sonnet-4-5"
    assert body["system"] == [
        {"type": "text", "text": "Be brief."},
        {"type": "text", "text": "Use tools."},
    ]
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Weather and time?"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
                },
                {"type": "image", "source": {"type": "url", "url": "https://img.test/cat.jpg"}},
                {"type": "text", "text": "In Paris."},  # consecutive user turns merged
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking."},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                },
                {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [  # tool results merged into one user turn
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "content": [{"type": "text", "text": "18C"}],
                },
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_2",
                    "content": [{"type": "text", "text": "noon"}],
                },
                {"type": "text", "text": "Thanks"},
            ],
        },
    ]
    assert body["tools"] == [
        {
            "name": "get_weather",
            "description": "Weather",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
        {"name": "get_time", "input_schema": {"type": "object", "properties": {}}},
    ]
    assert body["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert body["max_tokens"] == 300
    assert body["temperature"] == 0.5
    assert body["top_p"] == 0.9
    assert body["stop_sequences"] == ["END"]
    assert body["metadata"] == {"user_id": "user-7"}
    assert "stream" not in body


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"tool_choice": "auto"}, {"type": "auto"}),
        ({"tool_choice": "none"}, {"type": "none"}),
        (
            {"tool_choice": {"type": "function", "function": {"name": "f"}}},
            {"type": "tool", "name": "f"},
        ),
        ({"parallel_tool_calls": False}, {"type": "auto", "disable_parallel_tool_use": True}),
        ({}, None),
    ],
)
async def test_tool_choice(upstream: respx.MockRouter, make_adapter, fields, expected) -> None:
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": "x"}],
        "tools": [{"type": "function", "function": {"name": "f"}}],
        **fields,
    }
    assert (await sent_body(upstream, make_adapter, body)).get("tool_choice") == expected


@pytest.mark.parametrize(
    ("fields", "default", "expected"),
    [({"max_tokens": 77}, 5000, 77), ({}, 5000, 5000), ({}, None, 4096)],
)
async def test_max_tokens(
    upstream: respx.MockRouter, make_adapter, fields, default, expected
) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}], **fields}
    sent = await sent_body(upstream, make_adapter, body, default_max_tokens=default)
    assert sent["max_tokens"] == expected


@pytest.mark.parametrize(
    "message",
    [
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,"}}]},
        {
            "role": "user",
            "content": [{"type": "image_url", "image_url": {"url": "data:image/png,raw"}}],
        },
        {
            "role": "user",
            "content": [{"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}],
        },
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1, 2]"}}
            ],
        },
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{broken"}}
            ],
        },
    ],
)
async def test_untranslatable_requests_are_refused(make_adapter, message) -> None:
    request, raw = chat({"model": "m", "messages": [message]})
    adapter = make_adapter("anthropic")
    with pytest.raises(ValidationFailed) as raised:
        await adapter.complete(request, raw, target("anthropic"))
    assert raised.value.param.startswith("messages.0")
    with pytest.raises(ValidationFailed):
        adapter.stream(request, raw, target("anthropic"))  # before any byte


async def test_n_above_one_is_refused(make_adapter) -> None:
    with pytest.raises(ValidationFailed) as raised:
        await make_adapter("anthropic").complete(*chat(n=2), target("anthropic"))
    assert raised.value.param == "n"
