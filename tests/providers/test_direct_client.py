"""The OpenAI-compatible adapter's direct aiohttp path (providers/direct_client.py)
against the httpx path it replaces, over real sockets on loopback.

Each upstream answer is served twice, once to each path, and both must end the
same way: the same answer, or the same error (class, status, code, message). A
fresh server per call, since the two paths share one connection pool and the
loopback server answers one request per connection.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
import respx

from modelgate.errors import GatewayError
from modelgate.providers.base import Timeouts
from modelgate.providers.guarded_transport import GuardedTransport
from modelgate.providers.openai_compat import OpenAICompatAdapter
from modelgate.providers.registry import ProviderRegistry, build_client
from tests.providers.helpers import (
    SSE_HEAD,
    LoopbackServer,
    assert_no_secret,
    chat,
    chunked,
    collect,
    fixture,
    target,
)

FAST = Timeouts(connect=1.0, read=0.5, total=3.0)
ANSWER = orjson.dumps({
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "upstream-model",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
})


def head(status: str, *headers: str, length: int | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status}", "content-type: application/json", *headers]
    lines.append(f"content-length: {length}" if length is not None else "transfer-encoding: chunked")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def whole(status: str, body: bytes, *headers: str) -> tuple[bytes, list[bytes | float]]:
    return head(status, *headers, length=len(body)), [body]


def pieces(status: str, body: bytes, *headers: str) -> tuple[bytes, list[bytes | float]]:
    return head(status, *headers), [chunked(body[i:i + 50]) for i in range(0, len(body), 50)] + [
        b"0\r\n\r\n"]


ERROR_400 = orjson.dumps({"error": {"message": "Invalid value for 'temperature'.",
                                    "type": "invalid_request_error"}})
ANSWERS = {
    "200 with a length": whole("200 OK", ANSWER),
    "200 chunked": pieces("200 OK", ANSWER),
    "400 with a message": whole("400 Bad Request", ERROR_400),
    "429 with retry-after": whole("429 Too Many Requests", ERROR_400, "retry-after: 7"),
    "500": whole("500 Internal Server Error", b"oops"),
    "307 not followed": whole("307 Temporary Redirect", b"", "location: http://example.test/"),
    "gzip refused": whole("200 OK", b"\x1f\x8b\x08\x00", "content-encoding: gzip"),
    "chained encodings refused": whole("200 OK", b"x", "content-encoding: identity, br"),
    "declared too large": (head("200 OK", length=5000), [b"{}"]),
    "chunked too large": pieces("200 OK", b"[" + b"1," * 1500 + b"1]"),
    "not JSON": whole("200 OK", b"<html>"),
    "a JSON list": whole("200 OK", b"[1, 2]"),
    "an error object": whole("200 OK", ERROR_400),
    "no choices": whole("200 OK", b'{"id": "x"}'),
    "too complex": whole("200 OK", b"[" + b"[]," * 700 + b"[]]"),
    "never answers": (b"", [5.0]),
    "cut short": (head("200 OK", length=len(ANSWER)), [ANSWER[:20]]),
}


async def outcome(coroutine: Any) -> Any:
    try:
        return ("answer", await coroutine)
    except GatewayError as error:
        assert_no_secret(error)
        return ("error", type(error).__name__, error.status_code, error.code, error.message,
                getattr(error, "headers", None))


async def both_ways(adapter: OpenAICompatAdapter, answer: tuple[bytes, list], *,
                    stream: bool) -> tuple[Any, Any, list[bytes]]:
    """(direct outcome, httpx outcome, the two requests as the upstream saw them)."""
    results, requests = [], []
    for direct in (True, False):
        server = LoopbackServer(*answer)
        async with server.running():
            where = target("openai", base_url=server.url + "/v1")
            if not direct:  # the httpx path, as the adapter takes it when httpx is re-routed
                saved, adapter._direct = adapter._direct, None
            try:
                if stream:
                    results.append(await outcome(collect(adapter.stream(*chat(stream=True),
                                                                        where))))
                else:
                    results.append(await outcome(adapter.complete(*chat(), where)))
            finally:
                if not direct:
                    adapter._direct = saved
        requests.extend(server.requests)
    return results[0], results[1], requests


def header_lines(request: bytes) -> set[bytes]:
    """The request's head as a set of lower-cased lines (order and case aside; the
    two servers' ports aside)."""
    lines = {line.lower() for line in request.split(b"\r\n\r\n", 1)[0].split(b"\r\n")}
    return {line.rsplit(b":", 1)[0] if line.startswith(b"host:") else line for line in lines}


@pytest.fixture
async def adapter():
    registry = ProviderRegistry.build({"openai": "openai"}, FAST, max_response_bytes=2048)
    adapter = registry.adapter_for("openai")
    assert isinstance(adapter, OpenAICompatAdapter) and adapter._direct_client() is not None
    yield adapter
    await registry.close_all()


@pytest.mark.parametrize("name", list(ANSWERS))
async def test_a_json_answer_ends_the_same_way_on_both_paths(adapter, name) -> None:
    direct, via_httpx, requests = await both_ways(adapter, ANSWERS[name], stream=False)
    assert direct == via_httpx
    if name.startswith("200"):
        assert direct[0] == "answer" and direct[1]["model"] == "gpt-4o-mini"
    else:
        assert direct[0] == "error"
    # What the upstream saw: both paths reached it, with the same head and body.
    assert len(requests) == 2, name
    assert header_lines(requests[0]) == header_lines(requests[1])
    assert requests[0].split(b"\r\n\r\n", 1)[1] == requests[1].split(b"\r\n\r\n", 1)[1]


def sse(*events: bytes) -> bytes:
    return b"".join(b"data: " + event + b"\n\n" for event in events)


STREAMS = {
    "a whole stream": (SSE_HEAD, [chunked(fixture("openai_text.sse")), b"0\r\n\r\n"]),
    "byte by byte": (SSE_HEAD, [chunked(fixture("openai_text.sse")[i:i + 7])
                                for i in range(0, len(fixture("openai_text.sse")), 7)]
                     + [b"0\r\n\r\n"]),
    "cut mid-event": (SSE_HEAD, [chunked(sse(b'{"id":"1","model":"m","choices":[]}')
                                         + b'data: {"id"'), b"0\r\n\r\n"]),
    "ended without [DONE]": (SSE_HEAD, [chunked(sse(b'{"id":"1","model":"m","choices":[]}')),
                                        b"0\r\n\r\n"]),
    "an error event": (SSE_HEAD, [chunked(sse(b'{"error":{"message":"Overloaded"}}')),
                                  b"0\r\n\r\n"]),
    "an event too large": (SSE_HEAD, [chunked(b"data: " + b"x" * 3000)]),
    "silent mid-stream": (SSE_HEAD, [chunked(sse(b'{"id":"1","model":"m","choices":[]}')), 5.0]),
    "400 before it starts": whole("400 Bad Request", ERROR_400),
    "503 before it starts": pieces("503 Service Unavailable", b"busy"),
    "gzip refused": (SSE_HEAD.replace(b"\r\n\r\n", b"\r\ncontent-encoding: gzip\r\n\r\n"),
                     [chunked(b"\x1f\x8b"), b"0\r\n\r\n"]),
}


@pytest.mark.parametrize("name", list(STREAMS))
async def test_a_stream_ends_the_same_way_on_both_paths(name) -> None:
    registry = ProviderRegistry.build({"openai": "openai"}, FAST, max_event_bytes=1024)
    try:
        adapter = registry.adapter_for("openai")
        direct, via_httpx, requests = await both_ways(adapter, STREAMS[name], stream=True)
    finally:
        await registry.close_all()
    assert direct == via_httpx
    if name in ("a whole stream", "byte by byte"):
        assert direct[0] == "answer" and direct[1][-1] == b"data: [DONE]\n\n"
    assert header_lines(requests[0]) == header_lines(requests[1])


async def test_a_refused_connection_and_a_blocked_address() -> None:
    registry = ProviderRegistry.build(
        {"openai": "openai"}, FAST,
        custom_endpoint_transport=GuardedTransport(allow_private=False,
                                                   limits=httpx.Limits(max_connections=4)),
    )
    try:
        for custom, expected in ((False, "UpstreamUnavailable"), (True, "BaseUrlInvalid")):
            adapter = registry.adapter_for("openai", custom_endpoint=custom)
            assert adapter._direct_client() is not None  # the guarded pool, direct too
            where = target("openai", base_url="http://127.0.0.1:9/v1")  # nothing listens
            direct = await outcome(adapter.complete(*chat(), where))
            saved, adapter._direct = adapter._direct, None
            try:
                via_httpx = await outcome(adapter.complete(*chat(), where))
            finally:
                adapter._direct = saved
            assert direct == via_httpx and direct[1] == expected
    finally:
        await registry.close_all()


async def test_httpx_is_used_while_respx_routes_it_and_for_other_transports() -> None:
    client = build_client(FAST)
    try:
        adapter = OpenAICompatAdapter(client, FAST)
        assert adapter._direct_client() is not None
        with respx.mock(using="httpx"):
            assert adapter._direct_client() is None
        assert adapter._direct_client() is not None
        other = httpx.AsyncClient(transport=httpx.AsyncHTTPTransport())
        assert OpenAICompatAdapter(other, FAST)._direct_client() is None
        await other.aclose()
    finally:
        await client.aclose()
