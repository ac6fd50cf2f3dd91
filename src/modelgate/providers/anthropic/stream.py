"""Anthropic's Messages stream → ``chat.completion.chunk`` events.

Anthropic numbers content blocks (text, thinking, tool_use alike); OpenAI numbers
tool calls. ``tool_indexes`` keeps the two straight: block index → tool index.
"""

from __future__ import annotations

import time
from typing import Any

from modelgate.providers.anthropic.response import finish_reason, usage
from modelgate.providers.base import UpstreamTarget, stream_error, unreadable
from modelgate.providers.sse import DONE, ChunkWriter


class StreamTranslator:
    def __init__(self, target: UpstreamTarget, *, include_usage: bool) -> None:
        self.target = target
        self.include_usage = include_usage
        self.writer = ChunkWriter(id="msg", model=target.model, created=int(time.time()))
        self.tool_indexes: dict[int, int] = {}
        self.usage: dict[str, Any] = {}
        self.done = False

    def translate(self, event: dict[str, Any]) -> list[bytes]:
        kind = event.get("type")
        if kind == "content_block_delta":
            return self._block_delta(event)
        if kind == "content_block_start":
            return self._block_start(event)
        if kind == "message_start":
            message = event.get("message")
            if not isinstance(message, dict):
                raise unreadable(self.target)
            self.writer.id = str(message.get("id") or "msg")
            self._add_usage(message.get("usage"))
            return [self.writer.delta({"role": "assistant", "content": ""})]
        if kind == "message_delta":
            self._add_usage(event.get("usage"))
            delta = event.get("delta")
            if isinstance(delta, dict) and delta.get("stop_reason"):
                return [self.writer.delta({}, finish_reason(delta["stop_reason"]))]
            return []
        if kind == "message_stop":
            self.done = True
            # Whenever Anthropic reported usage: the gateway meters it (metering/
            # stream_tap.py hands it to the client only if asked).
            reported = self.include_usage or bool(self.usage)
            tail = [self.writer.usage(usage(self.usage))] if reported else []
            return [*tail, DONE]
        if kind == "error":
            raise stream_error(event, self.target)
        return []  # ping, content_block_stop, and event types added later

    def _block_start(self, event: dict[str, Any]) -> list[bytes]:
        block = event.get("content_block")
        if not isinstance(block, dict):
            raise unreadable(self.target)
        if block.get("type") == "tool_use":
            tool_index = len(self.tool_indexes)
            self.tool_indexes[_index(event, self.target)] = tool_index
            call = {
                "index": tool_index,
                "id": block.get("id"),
                "type": "function",
                "function": {"name": block.get("name"), "arguments": ""},
            }
            return [self.writer.delta({"tool_calls": [call]})]
        if block.get("type") == "text" and block.get("text"):
            return [self.writer.delta({"content": block["text"]})]
        return []

    def _block_delta(self, event: dict[str, Any]) -> list[bytes]:
        delta = event.get("delta")
        if not isinstance(delta, dict):
            raise unreadable(self.target)
        kind = delta.get("type")
        if kind == "text_delta":
            return [self.writer.delta({"content": delta.get("text", "")})]
        if kind == "input_json_delta":
            partial = delta.get("partial_json")
            tool_index = self.tool_indexes.get(_index(event, self.target))
            if not partial or tool_index is None:
                return []
            call = {"index": tool_index, "function": {"arguments": partial}}
            return [self.writer.delta({"tool_calls": [call]})]
        return []  # thinking_delta, signature_delta, citations_delta

    def _add_usage(self, raw: Any) -> None:
        # message_start carries the input counts, message_delta the cumulative output.
        if isinstance(raw, dict):
            self.usage.update({k: v for k, v in raw.items() if isinstance(v, int)})


def _index(event: dict[str, Any], target: UpstreamTarget) -> int:
    index = event.get("index")
    if not isinstance(index, int):
        raise unreadable(target)
    return index
