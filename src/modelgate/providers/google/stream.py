"""Gemini's ``streamGenerateContent?alt=sse`` stream → ``chat.completion.chunk`` events.

Every event is a whole ``GenerateContentResponse`` with the next piece of the
answer. Gemini sends no terminator: the stream is complete when the connection
ends after a ``finishReason`` (without one, it was cut).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from modelgate.providers.base import UpstreamTarget, stream_cut
from modelgate.providers.google.response import finish_reason, read_candidate, usage
from modelgate.providers.sse import DONE, ChunkWriter


class StreamTranslator:
    def __init__(self, target: UpstreamTarget, *, include_usage: bool) -> None:
        self.target = target
        self.include_usage = include_usage
        self.writer = ChunkWriter(
            id=f"chatcmpl-{uuid.uuid4().hex}", model=target.model, created=int(time.time())
        )
        self.started = False
        self.tool_calls = 0
        self.finish: str | None = None
        self.usage: Any = None

    def translate(self, event: dict[str, Any]) -> list[bytes]:
        delta = read_candidate(event, self.target)
        chunks: list[bytes] = []
        if not self.started:
            self.started = True
            if isinstance(event.get("responseId"), str):
                self.writer.id = event["responseId"]
            chunks.append(self.writer.delta({"role": "assistant", "content": ""}))
        if delta.texts:
            chunks.append(self.writer.delta({"content": "".join(delta.texts)}))
        if delta.tool_calls:
            calls = []
            for call in delta.tool_calls:
                calls.append({"index": self.tool_calls, **call})
                self.tool_calls += 1
            chunks.append(self.writer.delta({"tool_calls": calls}))
        if delta.finish is not None:
            self.finish = delta.finish
        if "usageMetadata" in event:
            self.usage = event["usageMetadata"]
        return chunks

    def finish_stream(self) -> list[bytes]:
        """At the end of the upstream stream: the finish (and usage) chunks and [DONE]."""
        if self.finish is None:
            raise stream_cut(self.target)
        reason = finish_reason(self.finish, has_tool_calls=self.tool_calls > 0)
        chunks = [self.writer.delta({}, reason)]
        # Whenever Gemini reported usage: the gateway meters it (metering/stream_tap.py
        # hands it to the client only if asked); zeros only for a client that asked.
        if self.include_usage or self.usage is not None:
            chunks.append(self.writer.usage(usage(self.usage)))
        chunks.append(DONE)
        return chunks
