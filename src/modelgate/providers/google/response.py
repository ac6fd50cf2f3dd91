"""Gemini ``GenerateContentResponse`` → OpenAI ``chat.completion``.

``read_candidate`` is shared with the stream translation: each streamed event
is a ``GenerateContentResponse`` too.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

from modelgate.providers.base import (
    UpstreamTarget,
    chat_completion,
    stream_error,
    unreadable,
    usage_dict,
)

_NOT_FILTERED = {
    "FINISH_REASON_UNSPECIFIED": "stop",
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "OTHER": "stop",
    "MALFORMED_FUNCTION_CALL": "stop",
    "UNEXPECTED_TOOL_CALL": "stop",
    "TOO_MANY_TOOL_CALLS": "stop",
}


def finish_reason(raw: str | None, *, has_tool_calls: bool) -> str:
    """A function call wins; SAFETY, RECITATION, BLOCKLIST… (and reasons added
    later, most of which are filters) become ``content_filter``."""
    if has_tool_calls:
        return "tool_calls"
    if raw is None:
        return "stop"
    return _NOT_FILTERED.get(raw, "content_filter")


@dataclass
class CandidateDelta:
    texts: list[str] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish: str | None = None  # Gemini's own finishReason (or the prompt's blockReason)


def read_candidate(data: dict[str, Any], target: UpstreamTarget) -> CandidateDelta:
    if "error" in data:
        raise stream_error(data, target)
    result = CandidateDelta()
    candidates = data.get("candidates")
    if not candidates:
        feedback = data.get("promptFeedback")
        if isinstance(feedback, dict) and feedback.get("blockReason"):
            result.finish = "SAFETY"
        return result
    candidate = candidates[0] if isinstance(candidates, list) else None
    if not isinstance(candidate, dict):
        raise unreadable(target)
    content = candidate.get("content")
    parts = content.get("parts", []) if isinstance(content, dict) else []
    if not isinstance(parts, list):
        raise unreadable(target)
    for part in parts:
        if not isinstance(part, dict) or part.get("thought"):
            continue  # thought summaries have no Chat Completions equivalent
        if isinstance(part.get("text"), str) and part["text"]:
            result.texts.append(part["text"])
        elif isinstance(call := part.get("functionCall"), dict):
            result.tool_calls.append(_tool_call(call, part.get("thoughtSignature")))
    if isinstance(reason := candidate.get("finishReason"), str):
        result.finish = reason
    return result


def _tool_call(call: dict[str, Any], signature: Any) -> dict[str, Any]:
    tool_call: dict[str, Any] = {
        "id": call.get("id") or f"call_{uuid.uuid4().hex[:24]}",
        "type": "function",
        "function": {
            "name": call.get("name"),
            "arguments": orjson.dumps(call.get("args") or {}).decode(),
        },
    }
    if isinstance(signature, str) and signature:
        # As Google's OpenAI-compatible API does; sent back, it is replayed.
        tool_call["extra_content"] = {"google": {"thought_signature": signature}}
    return tool_call


def usage(raw: Any) -> dict[str, Any]:
    raw = raw if isinstance(raw, dict) else {}

    def count(key: str) -> int:
        value = raw.get(key)
        return value if isinstance(value, int) else 0

    reasoning = count("thoughtsTokenCount")
    return usage_dict(
        count("promptTokenCount") + count("toolUsePromptTokenCount"),
        count("candidatesTokenCount") + reasoning,
        cached=count("cachedContentTokenCount"),
        reasoning=reasoning,
    )


def to_chat_completion(data: dict[str, Any], target: UpstreamTarget) -> dict[str, Any]:
    delta = read_candidate(data, target)
    if not data.get("candidates") and delta.finish is None:
        raise unreadable(target)
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(delta.texts) if delta.texts or not delta.tool_calls else None,
        "refusal": None,
    }
    if delta.tool_calls:
        message["tool_calls"] = delta.tool_calls
    return chat_completion(
        id=str(data.get("responseId") or f"chatcmpl-{uuid.uuid4().hex}"),
        created=int(time.time()),
        model=target.model,
        message=message,
        finish_reason=finish_reason(delta.finish, has_tool_calls=bool(delta.tool_calls)),
        usage=usage(data.get("usageMetadata")),
    )
