"""Google Gemini: the request we send upstream, field by field."""

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

BASE = "https://generativelanguage.googleapis.test/v1beta/models/gemini-2.5-flash"
URL = f"{BASE}:generateContent"
OK = {
    "candidates": [
        {"content": {"role": "model", "parts": [{"text": "ok"}]}, "finishReason": "STOP"}
    ]
}

CONVERSATION: dict[str, Any] = {
    "model": "alias",
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "developer", "content": "Use tools."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Weather?"},
                {"type": "image_url", "image_url": {"url": "data:image/webp;base64,UklGRg=="}},
                {"type": "image_url", "image_url": {"url": "https://img.test/cat.png?size=2"}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    "extra_content": {"google": {"thought_signature": "c2ln"}},
                },
                {
                    "id": "call_b",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": "{}"},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_a", "content": '{"temp": 18}'},
        {"role": "tool", "tool_call_id": "call_b", "content": "noon"},
        {"role": "user", "content": "Thanks"},
    ],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather",
                "parameters": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"city": {"type": "string"}},
                },
            },
        },
        {"type": "function", "function": {"name": "get_time"}},
    ],
    "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    "temperature": 0.5,
    "top_p": 0.9,
    "max_tokens": 300,
    "stop": ["END", "STOP"],
    "seed": 3,
    "response_format": {
        "type": "json_schema",
        "json_schema": {"name": "w", "schema": {"type": "object"}},
    },
}


async def test_request_translation_field_by_field(upstream: respx.MockRouter, make_adapter) -> None:
    route = upstream.post(URL).respond(200, json=OK)
    await make_adapter("google").complete(*chat(CONVERSATION), target("google"))
    sent = route.calls.last.request

    assert sent.headers["x-goog-api-key"] == CANARY
    assert "key=" not in str(sent.url) and CANARY not in str(sent.url)
    assert "authorization" not in sent.headers
    body = orjson.loads(sent.content)
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}, {"text": "Use tools."}]}
    assert body["contents"] == [
        {
            "role": "user",
            "parts": [
                {"text": "Weather?"},
                {"inlineData": {"mimeType": "image/webp", "data": "UklGRg=="}},
                {
                    "fileData": {
                        "mimeType": "image/png",
                        "fileUri": "https://img.test/cat.png?size=2",
                    }
                },
            ],
        },
        {
            "role": "model",
            "parts": [
                {
                    "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                    "thoughtSignature": "c2ln",
                },
                {"functionCall": {"name": "get_time", "args": {}}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"temp": 18}}},
                {"functionResponse": {"name": "get_time", "response": {"result": "noon"}}},
                {"text": "Thanks"},
            ],
        },
    ]
    assert body["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "Weather",
                    "parametersJsonSchema": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {"city": {"type": "string"}},
                    },
                },
                {"name": "get_time"},
            ]
        }
    ]
    assert body["toolConfig"] == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}
    }
    assert body["generationConfig"] == {
        "temperature": 0.5,
        "topP": 0.9,
        "maxOutputTokens": 300,
        "stopSequences": ["END", "STOP"],
        "seed": 3,
        "responseMimeType": "application/json",
        "responseJsonSchema": {"type": "object"},
    }


@pytest.mark.parametrize(
    ("choice", "config"),
    [("auto", {"mode": "AUTO"}), ("none", {"mode": "NONE"}), ("required", {"mode": "ANY"})],
)
async def test_tool_choice_modes(upstream: respx.MockRouter, make_adapter, choice, config) -> None:
    route = upstream.post(URL).respond(200, json=OK)
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": "x"}],
        "tool_choice": choice,
        "tools": [{"type": "function", "function": {"name": "f"}}],
    }
    await make_adapter("google").complete(*chat(body), target("google"))
    assert orjson.loads(route.calls.last.request.content)["toolConfig"] == {
        "functionCallingConfig": config
    }


@pytest.mark.parametrize(
    ("tool_content", "response"),
    [
        ("[1, 2]", {"result": [1, 2]}),
        ("42", {"result": 42}),
        ("", {"result": ""}),
        ('{"ok": true}', {"ok": True}),
    ],
)
async def test_function_responses_are_objects(
    upstream, make_adapter, tool_content, response
) -> None:
    route = upstream.post(URL).respond(200, json=OK)
    body = {
        "model": "m",
        "messages": [
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": tool_content},
        ],
    }
    await make_adapter("google").complete(*chat(body), target("google"))
    part = orjson.loads(route.calls.last.request.content)["contents"][1]["parts"][0]
    assert part == {"functionResponse": {"name": "f", "response": response}}


async def test_gemini_3_replays_unsigned_calls_with_the_documented_stand_in(
    upstream: respx.MockRouter, make_adapter
) -> None:
    url = "https://generativelanguage.googleapis.test/v1beta/models/gemini-3-pro-preview:generateContent"
    route = upstream.post(url).respond(200, json=OK)
    body = {
        "model": "m",
        "messages": [
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                    {"id": "c2", "type": "function", "function": {"name": "g", "arguments": "{}"}},
                ],
            }
        ],
    }
    await make_adapter("google").complete(
        *chat(body), target("google", model="gemini-3-pro-preview")
    )
    parts = orjson.loads(route.calls.last.request.content)["contents"][0]["parts"]
    assert parts[0]["thoughtSignature"] == "skip_thought_signature_validator"
    assert "thoughtSignature" not in parts[1]


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "tool", "tool_call_id": "nobody", "content": "x"}],
        [{"role": "user", "content": [{"type": "file", "file": {"file_id": "f"}}]}],
        [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:;x"}}]}],
    ],
)
async def test_untranslatable_requests_are_refused(make_adapter, messages) -> None:
    request, raw = chat({"model": "m", "messages": messages})
    with pytest.raises(ValidationFailed) as raised:
        await make_adapter("google").complete(request, raw, target("google"))
    assert raised.value.param.startswith("messages.0")
    with pytest.raises(ValidationFailed):
        make_adapter("google").stream(request, raw, target("google"))
