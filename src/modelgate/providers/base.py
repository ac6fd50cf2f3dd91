"""The adapter protocol, and the one boundary where httpx meets our errors.

An adapter turns a validated Chat Completions request into one provider's HTTP
call and the answer back into OpenAI's shape. Every adapter builds on
``HTTPAdapter``, whose two methods are the only places that talk to httpx:

    HTTPAdapter._post_json    one JSON answer, read with a size limit and a deadline
    HTTPAdapter._sse_events   an event stream, each read bounded by the deadline

Both refuse a compressed answer from its headers and an answer (or event) whose
parse would cost too much memory, before parsing it (see ``answer_limits``).

Foreign exceptions become ours there, once, with ``raise … from exc``:

    httpx.TimeoutException, the overall deadline   → UpstreamTimeout (504)
    any other httpx error, 5xx, unreadable body,
    a compressed or too complex answer             → UpstreamUnavailable (502)
    a provider's 4xx                               → UpstreamError (its status)

A stream that breaks after its first content cannot change its status any more;
``stream_with_error_tail`` ends it with an OpenAI error event instead (the chunks
before the first content are held back: see ``holdback.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import orjson
from pydantic import SecretStr

from modelgate.chat.schemas import ChatCompletionRequest, ToolCall
from modelgate.errors import ValidationFailed
from modelgate.providers.answer_limits import (
    declared_length,
    parse_answer,
    parse_budget,
    refused_encoding,
    too_large,
)
# The stream helpers (the hold-back), re-exported: the adapters import them from here.
from modelgate.providers.holdback import (
    PrimedStream as PrimedStream,
    prime_stream as prime_stream,
    stream_with_error_tail as stream_with_error_tail,
)
from modelgate.providers.sse import SSEDecoder, SSEEvent
# The error mapping, re-exported: the adapters import it from here.
from modelgate.providers.upstream_errors import (
    compressed as compressed,
    message_of as message_of,
    provider_message as provider_message,
    redact as redact,
    status_error as status_error,
    stream_cut as stream_cut,
    stream_error as stream_error,
    too_complex as too_complex,
    transport_error as transport_error,
    unreadable as unreadable,
)

DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_EVENT_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Timeouts:
    connect: float = 5.0
    read: float = 60.0  # also the longest silence tolerated inside a stream
    total: float = 600.0  # the overall deadline of one call, stream included

    def for_httpx(self) -> httpx.Timeout:
        return httpx.Timeout(
            connect=self.connect, read=self.read, write=self.read, pool=self.connect
        )


DEFAULT_TIMEOUTS = Timeouts()


@dataclass(frozen=True)
class UpstreamTarget:
    provider_id: str
    base_url: str
    api_key: SecretStr
    model: str  # the resolved upstream model id
    default_max_tokens: int | None = None  # the catalog's output limit
    hosted: bool = False  # the platform's key: its errors are redacted harder

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path


class Adapter(Protocol):
    async def complete(
        self, request: ChatCompletionRequest, body: dict[str, Any], target: UpstreamTarget
    ) -> dict[str, Any]:
        """An OpenAI ``chat.completion`` object whose ``model`` is ``target.model``."""
        ...

    def stream(
        self, request: ChatCompletionRequest, body: dict[str, Any], target: UpstreamTarget
    ) -> AsyncIterator[bytes]:
        """SSE bytes of ``chat.completion.chunk`` events, ending with ``data: [DONE]``.

        A request the adapter cannot translate raises ``ValidationFailed`` here, at
        the call; upstream errors raise at the first ``anext`` (see ``prime_stream``);
        later ones end the stream with an error event (see ``stream_with_error_tail``).
        """
        ...


_TRANSPORT_ERRORS = (httpx.HTTPError, httpx.InvalidURL, TimeoutError)


# ── the HTTP boundary ──────────────────────────────────────────────────────────
class HTTPAdapter:
    """Holds the provider's shared client; the subclasses translate."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        *,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    ) -> None:
        self.client = client
        self.timeouts = timeouts
        self.max_response_bytes = max_response_bytes
        self.max_event_bytes = max_event_bytes
        self._parse_budget = parse_budget(max_response_bytes)
        self._httpx_timeout = timeouts.for_httpx()  # per request: these Timeouts rule

    async def _post_json(
        self, url: str, headers: dict[str, str], payload: dict[str, Any], target: UpstreamTarget
    ) -> dict[str, Any]:
        content = orjson.dumps(payload)
        try:
            async with asyncio.timeout(self.timeouts.total):
                async with self.client.stream(
                    "POST", url, headers=headers, content=content, timeout=self._httpx_timeout
                ) as response:
                    if encoding := refused_encoding(response):
                        raise compressed(target, encoding)  # closes it unread
                    body = await self._read_limited(response, target)
        except _TRANSPORT_ERRORS as exc:
            raise transport_error(exc, target) from exc
        if not response.is_success:
            raise status_error(response, body, target)
        return parse_answer(body, self._parse_budget, target)

    async def _read_limited(self, response: httpx.Response, target: UpstreamTarget) -> bytearray:
        """The body, in one buffer that orjson reads as is (no copy to ``bytes``).

        Called only once ``refused_encoding`` has passed the answer: with no
        Content-Encoding but identity, ``aiter_bytes`` decodes nothing."""
        limit = self.max_response_bytes
        declared_length(response.headers, limit, target)  # bounds the stream, not the read
        body = bytearray()
        async with aclosing(response.aiter_bytes()) as chunks:
            async for chunk in chunks:
                body += chunk
                if len(body) > limit:
                    raise too_large(target, limit)
        return body

    async def _sse_events(
        self, url: str, headers: dict[str, str], payload: dict[str, Any], target: UpstreamTarget
    ) -> AsyncIterator[SSEEvent]:
        """The provider's events, until its stream ends; raises our errors only.

        Each wait is bounded by the overall deadline (a timeout cannot span the
        ``yield``s of a generator); httpx bounds each read by the read timeout.
        Closing this generator closes the upstream response at once.
        """
        deadline = asyncio.get_running_loop().time() + self.timeouts.total
        request = self.client.build_request(
            "POST", url, headers=headers, content=orjson.dumps(payload), timeout=self._httpx_timeout
        )
        try:
            async with asyncio.timeout_at(deadline):
                response = await self.client.send(request, stream=True)
        except _TRANSPORT_ERRORS as exc:
            raise transport_error(exc, target) from exc
        try:
            if encoding := refused_encoding(response):
                raise compressed(target, encoding)
            if not response.is_success:
                try:
                    async with asyncio.timeout_at(deadline):
                        body = await self._read_limited(response, target)
                except _TRANSPORT_ERRORS as exc:
                    raise transport_error(exc, target) from exc
                raise status_error(response, body, target)
            decoder = SSEDecoder(self.max_event_bytes)
            async with aclosing(response.aiter_bytes()) as chunks:
                while True:
                    try:
                        async with asyncio.timeout_at(deadline):
                            chunk = await anext(chunks)
                    except StopAsyncIteration:
                        break
                    except _TRANSPORT_ERRORS as exc:
                        raise transport_error(exc, target) from exc
                    for event in decoder.feed(chunk):
                        yield event
            for event in decoder.finish():
                yield event
            if decoder.partial:
                raise stream_cut(target)
        finally:
            await response.aclose()


def chat_completion(
    *,
    id: str,
    created: int,
    model: str,
    message: dict[str, Any],
    finish_reason: str,
    usage: dict[str, Any],
) -> dict[str, Any]:
    return {
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": usage,
    }


def usage_dict(
    prompt: int, completion: int, *, cached: int = 0, reasoning: int = 0
) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if cached:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    if reasoning:
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    return usage


# ── translation helpers shared by the translating adapters ─────────────────────
def parse_data_url(url: str, *, param: str) -> tuple[str, str]:
    """``data:image/png;base64,AAAA`` → ``("image/png", "AAAA")``."""
    header, comma, data = url.partition(",")
    if not (url.startswith("data:") and comma and header.endswith(";base64") and data):
        raise ValidationFailed("An image must be an http(s) URL or a base64 data URL.", param=param)
    media_type = header[len("data:") : -len(";base64")].split(";", 1)[0]
    return media_type or "application/octet-stream", data


def tool_arguments(call: ToolCall, param: str) -> dict[str, Any]:
    """The JSON object in a tool call's ``arguments`` string ("" counts as {})."""
    if not call.function.arguments.strip():
        return {}
    try:
        arguments = orjson.loads(call.function.arguments)
    except orjson.JSONDecodeError:
        arguments = None
    if not isinstance(arguments, dict):
        raise ValidationFailed(
            "Tool call arguments must be a JSON object.", param=f"{param}.function.arguments"
        )
    return arguments
