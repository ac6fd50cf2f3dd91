"""The hold-back: a stream's answer starts only with its first content.

Upstreams open a chat stream with a role-only delta (``{"role": "assistant",
"content": ""}``) and sometimes a few empty ones before the first token. Were
those sent at once, the response would have started (status 200, headers
gone), and an upstream failure a moment later could only end the stream with an
error event: no HTTP error, and no failover to a group's next member. So the
chunks before the first *substantive* one (content, reasoning, a tool call, a
refusal, a finish reason, usage, an error, or anything that is not a chat chunk)
are held back:

    stream_with_error_tail   an error before the first substantive chunk raises
                             (the router answers with an HTTP error or fails over);
                             after it, the stream ends with an error event (no [DONE])
    prime_stream             reads and keeps chunks until the first substantive one,
                             so that such an error raises before the response starts

Only the chunks up to the first substantive one are inspected (one small JSON
parse each, usually one chunk): the rest of the stream passes untouched. A
stream that sends nothing but empty deltas is let through after ``MAX_HELD``
of them, so holding back never buffers without bound.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import orjson

from modelgate.errors import GatewayError
from modelgate.providers.sse import error_event

MAX_HELD = 32  # empty chunks held before the stream is let through regardless

_EMPTY = (None, "", [], {})


def is_substantive(chunk: bytes) -> bool:
    """Whether ``chunk`` (SSE bytes: one or more events) carries anything beyond
    role-only or empty deltas, i.e. something the client must not see twice."""
    for event in chunk.split(b"\n\n"):
        event = event.strip()
        if not event or event.startswith(b":"):  # blank, or an SSE comment (keep-alive)
            continue
        if not event.startswith(b"data:"):
            return True
        try:
            decoded = orjson.loads(event[5:])
        except orjson.JSONDecodeError:
            return True  # [DONE], or something we do not read: not ours to hold
        if not (isinstance(decoded, dict) and _is_preamble(decoded)):
            return True
    return False


def _is_preamble(chunk: dict[str, Any]) -> bool:
    if chunk.get("usage") or "error" in chunk:
        return False
    choices = chunk.get("choices")
    if not isinstance(choices, list):
        return False
    for choice in choices:
        if not isinstance(choice, dict) or choice.get("finish_reason") is not None:
            return False
        delta = choice.get("delta") or {}
        if not isinstance(delta, dict):
            return False
        if any(key != "role" and value not in _EMPTY for key, value in delta.items()):
            return False
    return True


class _Preamble:
    """Counts the chunks of a stream until its first substantive one."""

    __slots__ = ("over", "_held")

    def __init__(self) -> None:
        self.over = False
        self._held = 0

    def passes(self, chunk: bytes) -> None:
        if self.over:
            return
        self._held += 1
        if self._held >= MAX_HELD or is_substantive(chunk):
            self.over = True


async def stream_with_error_tail(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Relay ``chunks``; a ``GatewayError`` before the first substantive chunk
    raises (the router can still answer with a plain HTTP error, or fail over)
    and, after it, becomes the stream's final error event (no ``[DONE]``), which
    makes OpenAI's SDKs raise.

    ``chunks`` must be an async generator: it is closed with this one, so that a
    client that goes away closes the upstream connection at once.
    """
    preamble = _Preamble()
    async with aclosing(chunks):  # type: ignore[type-var]
        try:
            async for chunk in chunks:
                preamble.passes(chunk)
                yield chunk
        except GatewayError as exc:
            if not preamble.over:
                raise
            yield error_event(exc)


class PrimedStream:
    """A stream whose first chunks have already been read (see ``prime_stream``)."""

    def __init__(self, held: list[bytes], rest: AsyncIterator[bytes]) -> None:
        self._held = deque(held)
        self._rest = rest

    def __aiter__(self) -> PrimedStream:
        return self

    async def __anext__(self) -> bytes:
        if self._held:
            return self._held.popleft()
        return await anext(self._rest)

    async def aclose(self) -> None:
        await self._rest.aclose()  # type: ignore[attr-defined]


async def prime_stream(chunks: AsyncIterator[bytes]) -> PrimedStream:
    """Read up to the first substantive chunk now, so that an upstream error
    before it raises here, before the response starts; the router then streams
    the ``PrimedStream`` (and should ``aclose`` it when the client goes away)."""
    held: list[bytes] = []
    preamble = _Preamble()
    try:
        while not preamble.over:
            try:
                chunk = await anext(chunks)
            except StopAsyncIteration:
                break
            held.append(chunk)
            preamble.passes(chunk)
    except BaseException:
        await chunks.aclose()  # type: ignore[attr-defined]
        raise
    return PrimedStream(held, chunks)
