"""Server-sent events: decoding what a provider streams, encoding what we stream.

Decoding follows the SSE rules that matter here (``data:`` lines joined, ``event:``
kept, comments and unknown fields ignored, ``\\r\\n``/``\\r``/``\\n`` line ends) and
bounds the size of one pending event and what parsing one event's data may cost
(see ``answer_limits``). Encoding writes OpenAI's framing:
``data: {json}\\n\\n`` … ``data: [DONE]\\n\\n``, and the final error event of a
stream that broke after it started.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from modelgate.errors import GatewayError, UpstreamUnavailable
from modelgate.providers.answer_limits import parse_budget, within_budget

DONE = b"data: [DONE]\n\n"
_DATA_PREFIX = b"data: "


def encode_event(payload: Any) -> bytes:
    return _DATA_PREFIX + orjson.dumps(payload) + b"\n\n"


def error_event(error: GatewayError) -> bytes:
    """The last event of a broken stream: the openai SDK raises when it reads it."""
    return encode_event(
        {"error": {"type": error.type, "code": error.code, "message": error.message, "param": None}}
    )


@dataclass(frozen=True, slots=True)
class SSEEvent:
    data: bytes
    event: str | None = None


class SSEDecoder:
    """Feed it bytes as they arrive; it returns the events completed so far."""

    def __init__(self, max_event_bytes: int) -> None:
        self._buffer = bytearray()
        self._scanned = 0
        self._carriage_return = False
        self._max_event_bytes = max_event_bytes
        self._parse_budget = parse_budget(max_event_bytes)
        # An oversized (or too complex) event seen after events still to deliver.
        self._failed: UpstreamUnavailable | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if self._failed:
            raise self._failed
        if self._carriage_return:
            chunk = b"\r" + chunk
            self._carriage_return = False
        if b"\r" in chunk:
            if chunk.endswith(b"\r"):  # maybe half of a "\r\n": wait for the next chunk
                chunk = chunk[:-1]
                self._carriage_return = True
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        buffer = self._buffer
        buffer += chunk
        events: list[SSEEvent] = []
        failure: UpstreamUnavailable | None = None
        start = 0
        search_from = max(self._scanned - 1, 0)
        with memoryview(buffer) as view:  # released before the buffer is resized
            while (end := buffer.find(b"\n\n", search_from)) != -1:
                # A whole event can arrive in one read: bound it too, not only the remainder.
                if end - start > self._max_event_bytes:
                    failure = self._too_large()
                    break
                event = _event(buffer, view, start, end)
                if event is not None:
                    if not within_budget(event.data, self._parse_budget):
                        failure = self._too_complex()
                        break
                    events.append(event)
                start = search_from = end + 2
        if failure is None and len(buffer) - start > self._max_event_bytes:
            failure = self._too_large()
        if failure is not None:
            return self._fail_after(events, failure)
        if start:
            del buffer[:start]
        self._scanned = len(buffer)
        return events

    def _fail_after(self, events: list[SSEEvent], error: UpstreamUnavailable) -> list[SSEEvent]:
        """An event is too large or too complex. The whole events before it (one read
        can hold many) are still delivered; the next call raises."""
        if not events:
            raise error
        self._failed = error
        self._buffer.clear()
        return events

    def _too_large(self) -> UpstreamUnavailable:
        return UpstreamUnavailable(
            f"The provider streamed an event larger than {self._max_event_bytes} bytes."
        )

    def _too_complex(self) -> UpstreamUnavailable:
        return UpstreamUnavailable(
            "The provider streamed an unreadable event: too complex to parse within "
            f"{self._parse_budget} bytes of memory."
        )

    def finish(self) -> list[SSEEvent]:
        """At the end of the stream: a held-back "\r" was a line end after all."""
        if self._failed:
            raise self._failed
        if not self._carriage_return:
            return []
        self._carriage_return = False
        return self.feed(b"\n")

    @property
    def partial(self) -> bool:
        """Whether bytes of an unfinished event are waiting (at the end: a cut stream)."""
        return bool(self._buffer.strip())


def _event(buffer: bytearray, view: memoryview, start: int, end: int) -> SSEEvent | None:
    """The event in ``buffer[start:end]``; the common one-line ``data:`` event is
    copied once, straight from the buffer."""
    if buffer.startswith(_DATA_PREFIX, start, end) and buffer.find(b"\n", start, end) == -1:
        return SSEEvent(bytes(view[start + 6 : end]))
    return parse_block(bytes(view[start:end]))


def parse_block(block: bytes) -> SSEEvent | None:
    if block.startswith(_DATA_PREFIX) and b"\n" not in block:  # the common case
        return SSEEvent(block[6:])
    data: list[bytes] = []
    event: str | None = None
    for line in block.split(b"\n"):
        if not line or line.startswith(b":"):
            continue
        field, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if field == b"data":
            data.append(value)
        elif field == b"event":
            event = value.decode("utf-8", "replace")
    if not data:
        return None
    return SSEEvent(b"\n".join(data), event)


class ChunkWriter:
    """Builds the ``chat.completion.chunk`` events of one streamed answer."""

    __slots__ = ("created", "id", "model")

    def __init__(self, *, id: str, model: str, created: int) -> None:
        self.id = id
        self.model = model
        self.created = created

    def _base(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
        }

    def delta(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        chunk = self._base()
        chunk["choices"] = [
            {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        ]
        return encode_event(chunk)

    def usage(self, usage: dict[str, Any]) -> bytes:
        chunk = self._base()
        chunk["choices"] = []
        chunk["usage"] = usage
        return encode_event(chunk)
