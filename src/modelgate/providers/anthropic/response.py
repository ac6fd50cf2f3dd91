"""Anthropic Messages answer → OpenAI ``chat.completion``."""

from __future__ import annotations

import time
from typing import Any

import orjson

from modelgate.providers.base import UpstreamTarget, chat_completion, unreadable, usage_dict

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def finish_reason(stop_reason: Any) -> str:
    return FINISH_REASONS.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"


def usage(raw: Any) -> dict[str, Any]:
    """Anthropic counts cached input apart; OpenAI's prompt_tokens include it."""
    raw = raw if isinstance(raw, dict) else {}
    cached = _count(raw, "cache_read_input_tokens")
    prompt = _count(raw, "input_tokens") + _count(raw, "cache_creation_input_tokens") + cached
    return usage_dict(prompt, _count(raw, "output_tokens"), cached=cached)


def _count(raw: dict[str, Any], key: str) -> int:
    value = raw.get(key)
    return value if isinstance(value, int) else 0


def to_chat_completion(data: dict[str, Any], target: UpstreamTarget) -> dict[str, Any]:
    content = data.get("content")
    if data.get("type") != "message" or not isinstance(content, list):
        raise unreadable(target)
    texts: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    for block in content:
        if not isinstance(block, dict):
            raise unreadable(target)
        if block.get("type") == "text":
            texts.append(str(block.get("text", "")))
        elif block.get("type") == "tool_use":
            tool_calls.append(
                {
                    "id": block.get("id"),
                    "type": "function",
                    "function": {
                        "name": block.get("name"),
                        "arguments": orjson.dumps(block.get("input") or {}).decode(),
                    },
                }
            )
        # thinking and server-tool blocks have no Chat Completions equivalent
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) if texts or not tool_calls else None,
        "refusal": None,
    }
    if tool_calls:
        message["tool_calls"] = tool_calls
    return chat_completion(
        id=str(data.get("id") or "msg"),
        created=int(time.time()),
        model=target.model,
        message=message,
        finish_reason=finish_reason(data.get("stop_reason")),
        usage=usage(data.get("usage")),
    )
