"""The Chat Completions request model: what it accepts, keeps and refuses."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from modelgate.chat.schemas import (
    AssistantMessage,
    ChatCompletionRequest,
    ImageURLPart,
    NamedToolChoice,
    ToolMessage,
)

MINIMAL = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}


def validate(**fields: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate({**MINIMAL, **fields})


def test_a_full_request_validates() -> None:
    body = {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Really."}]},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {
                        "type": "image_url",
                        "image_url": {"url": "https://x.test/a.png", "detail": "low"},
                    },
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "look", "arguments": '{"q": 1}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "a cat"},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "look",
                    "description": "d",
                    "parameters": {"type": "object"},
                    "strict": True,
                },
            }
        ],
        "tool_choice": {"type": "function", "function": {"name": "look"}},
        "temperature": 0.2,
        "top_p": 1,
        "max_tokens": 100,
        "max_completion_tokens": 50,
        "stop": ["a", "b"],
        "stream": True,
        "stream_options": {"include_usage": True},
        "n": 1,
        "user": "u-1",
        "seed": 7,
        "response_format": {"type": "json_object"},
        "presence_penalty": 0.5,
        "frequency_penalty": -0.5,
        "parallel_tool_calls": False,
        "reasoning_effort": "low",
        "metadata": {"k": "v"},
    }
    request = ChatCompletionRequest.model_validate(body)
    assert isinstance(request.messages[2].content[1], ImageURLPart)
    assert isinstance(request.messages[3], AssistantMessage)
    assert request.messages[3].tool_calls[0].function.arguments == '{"q": 1}'
    assert isinstance(request.messages[4], ToolMessage)
    assert isinstance(request.tool_choice, NamedToolChoice)
    assert request.output_limit == 50
    assert request.stop_sequences == ["a", "b"]
    assert request.include_usage is True


def test_unknown_fields_are_kept_for_passthrough() -> None:
    request = validate(logit_bias={"50256": -100}, service_tier="flex")
    assert request.model_extra == {"logit_bias": {"50256": -100}, "service_tier": "flex"}
    message = ChatCompletionRequest.model_validate(
        {
            "model": "m",
            "messages": [{"role": "user", "content": "x", "cache_control": {"type": "e"}}],
        }
    ).messages[0]
    assert message.model_extra == {"cache_control": {"type": "e"}}


def test_stop_as_a_string_and_properties() -> None:
    request = validate(stop="END", max_tokens=9)
    assert request.stop_sequences == ["END"]
    assert request.output_limit == 9
    assert request.include_usage is False


@pytest.mark.parametrize(
    "body",
    [
        {"messages": [{"role": "user", "content": "x"}]},  # no model
        {"model": "", "messages": [{"role": "user", "content": "x"}]},
        {"model": "m"},  # no messages
        {"model": "m", "messages": []},
        {"model": "m", "messages": [{"role": "wizard", "content": "x"}]},
        {"model": "m", "messages": [{"role": "function", "name": "f", "content": "x"}]},
        {"model": "m", "messages": [{"content": "x"}]},
        {"model": "m", "messages": [{"role": "user", "content": 5}]},
        {"model": "m", "messages": [{"role": "user", "content": [{"type": "video", "v": 1}]}]},
        {"model": "m", "messages": [{"role": "tool", "content": "x"}]},  # no tool_call_id
        {"model": 5, "messages": [{"role": "user", "content": "x"}]},
        {**MINIMAL, "temperature": "0.5"},
        {**MINIMAL, "temperature": 3},
        {**MINIMAL, "max_tokens": "100"},
        {**MINIMAL, "max_tokens": 0},
        {**MINIMAL, "stream": "yes"},
        {**MINIMAL, "stop": ["a", "b", "c", "d", "e"]},
        {**MINIMAL, "tool_choice": "sometimes"},
        {**MINIMAL, "tools": [{"type": "function", "function": {"description": "no name"}}]},
        {**MINIMAL, "n": 0},
        {**MINIMAL, "response_format": {"type": "yaml"}},
        {**MINIMAL, "metadata": {"k": 1}},
        *(
            {"model": "m", "messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": url}}]}]}
            for url in ("ftp://x/a.png", "http://[abc/x.png", "https://", "file:///etc/passwd")
        ),
        {
            "model": "m",
            "messages": [
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "c",
                            "type": "function",
                            "function": {"name": "f", "arguments": {"a": 1}},
                        }
                    ],
                }
            ],
        },
    ],
)
def test_invalid_bodies_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ChatCompletionRequest.model_validate(body)


@pytest.mark.parametrize(
    "body",
    [
        {"model": "m\ud800", "messages": [{"role": "user", "content": "x"}]},
        {"model": "m", "messages": [{"role": "user", "content": "bad \udc00 text"}]},
        {
            "model": "m",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "\ud83d"}]}],
        },
        {**MINIMAL, "extra_field": {"nested": ["ok", "\udfff"]}},
        {**MINIMAL, "metadata": {"\ud800": "key"}},
    ],
)
def test_lone_surrogates_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="surrogate"):
        ChatCompletionRequest.model_validate(body)


def test_a_surrogate_pair_is_fine() -> None:
    request = validate(messages=[{"role": "user", "content": "emoji 😀"}])
    assert orjson.loads(orjson.dumps(request.model_dump()))["messages"][0]["content"] == "emoji 😀"
