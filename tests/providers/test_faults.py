"""Every upstream fault, for every adapter, maps to the right error or final event.

Before the first byte of a stream the error raises (the router can still answer
with a status); after it, the stream ends with an error event and no [DONE].
The canary key never appears in an error or in the bytes we yield.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import pytest

from modelgate.errors import GatewayError, UpstreamError, UpstreamTimeout, UpstreamUnavailable
from modelgate.providers.base import Timeouts
from tests.providers.helpers import (
    BASE_URLS,
    CANARY,
    PATHS,
    STREAM_PATHS,
    assert_no_secret,
    chat,
    collect,
    events,
    fixture,
    split_events,
    sse_response,
    target,
)

STYLES = ["openai", "anthropic", "google"]
RECORDINGS = {
    "openai": "openai_text.sse",
    "anthropic": "anthropic_text.sse",
    "google": "google_text.sse",
}
# How many upstream events make a good start (at least one chunk yielded, not finished).
GOOD_START = {"openai": 2, "anthropic": 4, "google": 1}
ERROR_BODIES = {
    "openai": {
        "error": {
            "message": "Invalid value for 'temperature'.",
            "type": "invalid_request_error",
            "param": "temperature",
            "code": None,
        }
    },
    "anthropic": {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "Invalid value for 'temperature'."},
    },
    "google": {
        "error": {
            "code": 400,
            "message": "Invalid value for 'temperature'.",
            "status": "INVALID_ARGUMENT",
        }
    },
}
MID_STREAM_ERRORS = {
    "openai": b'data: {"error": {"message": "Overloaded", "type": "server_error"}}\n\n',
    "anthropic": b'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", '
    b'"message": "Overloaded"}}\n\n',
    "google": b'data: {"error": {"code": 503, "message": "Overloaded", "status": "UNAVAILABLE"}}\r\n\r\n',
}


def url(style: str, *, stream: bool = False) -> str:
    return BASE_URLS[style] + (STREAM_PATHS if stream else PATHS)[style]


def good_start(style: str) -> list[bytes]:
    return split_events(fixture(RECORDINGS[style]))[: GOOD_START[style]]


async def call(make_adapter, style: str, *, stream: bool, **options: Any) -> Any:
    adapter = make_adapter(style, options.pop("timeouts", None), **options)
    if stream:
        return await collect(adapter.stream(*chat(stream=True), target(style)))
    return await adapter.complete(*chat(), target(style))


async def expect(make_adapter, style: str, stream: bool, error: type[GatewayError], **options):
    with pytest.raises(error) as raised:
        await call(make_adapter, style, stream=stream, **options)
    assert_no_secret(raised.value)
    return raised.value


both = pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
styles = pytest.mark.parametrize("style", STYLES)


# ── faults before any byte: raised ─────────────────────────────────────────────
@styles
@both
@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_4xx_keeps_status_and_provider_message(upstream, make_adapter, style, stream, status):
    upstream.post(url(style, stream=stream)).respond(status, json=ERROR_BODIES[style])
    error = await expect(make_adapter, style, stream, UpstreamError)
    assert error.status_code == status
    assert error.code == "upstream_error"
    assert error.message == "Invalid value for 'temperature'."


@styles
@both
@pytest.mark.parametrize("body", [b"", b"<html><body>Not Found</body></html>", b"{}"])
async def test_4xx_without_a_message_gets_a_generic_one(
    upstream, make_adapter, style, stream, body
):
    upstream.post(url(style, stream=stream)).respond(404, content=body)
    error = await expect(make_adapter, style, stream, UpstreamError)
    assert error.status_code == 404
    assert error.message == "The provider rejected the request (HTTP 404)."


@styles
@both
async def test_429_passes_retry_after_on(upstream, make_adapter, style, stream):
    upstream.post(url(style, stream=stream)).respond(
        429, json=ERROR_BODIES[style], headers={"retry-after": "7", "x-secret-header": CANARY}
    )
    error = await expect(make_adapter, style, stream, UpstreamError)
    assert error.status_code == 429 and error.type == "rate_limit_error" and error.retryable
    assert error.headers == {"retry-after": "7"}


@styles
@both
async def test_a_provider_message_echoing_the_key_is_redacted(
    upstream, make_adapter, style, stream
):
    body = orjson.loads(
        orjson.dumps(ERROR_BODIES[style]).replace(
            b"Invalid value for 'temperature'.", f"Incorrect API key provided: {CANARY}".encode()
        )
    )
    upstream.post(url(style, stream=stream)).respond(401, json=body)
    error = await expect(make_adapter, style, stream, UpstreamError)
    assert error.message == "Incorrect API key provided: [redacted]"


@styles
@both
@pytest.mark.parametrize("status", [500, 502, 503, 529])
async def test_5xx_is_unavailable(upstream, make_adapter, style, stream, status):
    upstream.post(url(style, stream=stream)).respond(status, json=ERROR_BODIES[style])
    error = await expect(make_adapter, style, stream, UpstreamUnavailable)
    assert error.status_code == 502 and error.code == "upstream_unavailable"


@styles
@both
async def test_a_redirect_is_not_followed(upstream, make_adapter, style, stream):
    upstream.post(url(style, stream=stream)).respond(
        307, headers={"location": "https://evil.test/"}
    )
    await expect(make_adapter, style, stream, UpstreamUnavailable)


@styles
@both
@pytest.mark.parametrize(
    ("exc", "error"),
    [
        (httpx.ConnectError("refused"), UpstreamUnavailable),
        (httpx.RemoteProtocolError("peer closed"), UpstreamUnavailable),
        (httpx.ReadError("reset"), UpstreamUnavailable),
        (httpx.ConnectTimeout("slow"), UpstreamTimeout),
        (httpx.ReadTimeout("slow"), UpstreamTimeout),
        (httpx.PoolTimeout("busy"), UpstreamTimeout),
    ],
    ids=lambda value: type(value).__name__,
)
async def test_transport_faults(upstream, make_adapter, style, stream, exc, error):
    upstream.post(url(style, stream=stream)).mock(side_effect=exc)
    raised = await expect(make_adapter, style, stream, error)
    assert raised.__cause__ is exc
    assert raised.status_code == (504 if error is UpstreamTimeout else 502)


@styles
@both
async def test_the_overall_deadline(upstream, make_adapter, style, stream):
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(2)
        return httpx.Response(200, json={})

    upstream.post(url(style, stream=stream)).mock(side_effect=slow)
    error = await expect(
        make_adapter,
        style,
        stream,
        UpstreamTimeout,
        timeouts=Timeouts(connect=1, read=5, total=0.2),
    )
    assert error.code == "upstream_timeout"


@styles
@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"<html><h1>Bad gateway</h1></html>", "text/html"),
        (b"[1, 2]", "application/json"),
        (b"\xff\xfe", "application/json"),
    ],
)
async def test_an_unreadable_answer_is_unavailable(
    upstream, make_adapter, style, content, content_type
):
    upstream.post(url(style)).respond(200, content=content, headers={"content-type": content_type})
    await expect(make_adapter, style, False, UpstreamUnavailable)


@styles
async def test_an_html_error_page_is_unavailable(upstream, make_adapter, style):
    upstream.post(url(style)).respond(502, html="<html><body>502 Bad Gateway</body></html>")
    error = await expect(make_adapter, style, False, UpstreamUnavailable)
    assert "502" in error.message


@styles
@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_an_oversized_answer_is_unavailable(upstream, make_adapter, style, declared):
    big = orjson.dumps({"pad": "x" * 5000})
    if declared:
        upstream.post(url(style)).respond(200, content=big)
    else:
        response, _ = sse_response([big[:2000], big[2000:]])
        upstream.post(url(style)).mock(return_value=response)
    error = await expect(make_adapter, style, False, UpstreamUnavailable, max_response_bytes=1000)
    assert "larger than 1000 bytes" in error.message


@styles
@pytest.mark.parametrize(
    "script",
    [[], [b"<html>oops</html>"], [b'data: {"half']],
    ids=["empty", "html", "cut-mid-event"],
)
async def test_a_stream_broken_before_any_byte_raises(upstream, make_adapter, style, script):
    response, _ = sse_response(script)
    upstream.post(url(style, stream=True)).mock(return_value=response)
    await expect(make_adapter, style, True, UpstreamUnavailable)


@styles
async def test_an_error_event_first_raises(upstream, make_adapter, style):
    response, _ = sse_response([MID_STREAM_ERRORS[style]])
    upstream.post(url(style, stream=True)).mock(return_value=response)
    error = await expect(make_adapter, style, True, UpstreamUnavailable)
    assert "Overloaded" in error.message


# ── faults after the first byte: the final error event ─────────────────────────
async def broken_stream(
    upstream,
    make_adapter,
    style: str,
    script: list[bytes | float],
    raise_at_end: Exception | None = None,
    **options,
) -> list[Any]:
    response, stream = sse_response(script, raise_at_end=raise_at_end)
    upstream.post(url(style, stream=True)).mock(return_value=response)
    out = await call(make_adapter, style, stream=True, **options)
    assert stream.closed
    assert all(CANARY.encode() not in chunk for chunk in out)
    items = events(out)
    assert "[DONE]" not in items
    assert len(items) >= 2 and all("error" not in item for item in items[:-1])
    tail = items[-1]
    assert set(tail) == {"error"}
    assert set(tail["error"]) == {"type", "code", "message", "param"}
    assert tail["error"]["param"] is None
    return tail["error"]


@styles
@pytest.mark.parametrize(
    "exc",
    [httpx.RemoteProtocolError("peer closed"), httpx.ReadError("reset")],
    ids=lambda value: type(value).__name__,
)
async def test_a_dropped_connection_mid_stream(upstream, make_adapter, style, exc):
    error = await broken_stream(upstream, make_adapter, style, good_start(style), raise_at_end=exc)
    assert error["code"] == "upstream_unavailable" and error["type"] == "api_error"


@styles
async def test_a_stream_that_ends_without_its_terminator(upstream, make_adapter, style):
    error = await broken_stream(upstream, make_adapter, style, good_start(style))
    assert error["code"] == "upstream_unavailable"
    assert "before it was complete" in error["message"]


@styles
async def test_a_stream_cut_mid_event(upstream, make_adapter, style):
    script = [*good_start(style), b'data: {"choices": [{"del']
    error = await broken_stream(upstream, make_adapter, style, script)
    assert error["code"] == "upstream_unavailable"


@styles
@pytest.mark.parametrize("chunk", [b"data: {not json}\n\n", b"data: <html>\n\n", b"data: [1]\n\n"])
async def test_an_invalid_chunk_mid_stream(upstream, make_adapter, style, chunk):
    error = await broken_stream(upstream, make_adapter, style, [*good_start(style), chunk])
    assert error["code"] == "upstream_unavailable"
    assert "unreadable" in error["message"]


@styles
async def test_an_error_event_mid_stream(upstream, make_adapter, style):
    script = [*good_start(style), MID_STREAM_ERRORS[style]]
    error = await broken_stream(upstream, make_adapter, style, script)
    assert error["code"] == "upstream_unavailable"
    assert error["message"].endswith("reported an error: Overloaded")


@styles
async def test_idle_longer_than_the_read_timeout_mid_stream(upstream, make_adapter, style):
    error = await broken_stream(
        upstream, make_adapter, style, good_start(style), raise_at_end=httpx.ReadTimeout("idle")
    )
    assert error["code"] == "upstream_timeout" and error["type"] == "api_error"


@styles
async def test_the_overall_deadline_mid_stream(upstream, make_adapter, style):
    error = await broken_stream(
        upstream,
        make_adapter,
        style,
        [*good_start(style), 3.0],
        timeouts=Timeouts(connect=1, read=5, total=0.3),
    )
    assert error["code"] == "upstream_timeout"


@styles
async def test_an_oversized_event_mid_stream(upstream, make_adapter, style):
    script = [*good_start(style), b"data: " + b"x" * 3000]
    error = await broken_stream(upstream, make_adapter, style, script, max_event_bytes=2000)
    assert "larger than 2000 bytes" in error["message"]


# ── a client that goes away closes the upstream response ───────────────────────
@styles
async def test_closing_the_stream_closes_upstream(upstream, make_adapter, style):
    response, stream = sse_response([*good_start(style), 30.0])
    upstream.post(url(style, stream=True)).mock(return_value=response)
    adapter = make_adapter(style)
    ours = adapter.stream(*chat(stream=True), target(style))
    await anext(ours)
    assert not stream.closed
    await ours.aclose()
    assert stream.closed


@styles
async def test_cancelling_the_consumer_closes_upstream(upstream, make_adapter, style):
    response, stream = sse_response([*good_start(style), 30.0])
    upstream.post(url(style, stream=True)).mock(return_value=response)
    first = asyncio.Event()

    async def consume() -> None:
        async for _ in make_adapter(style).stream(*chat(stream=True), target(style)):
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 2)
    await asyncio.sleep(0.05)  # now waiting on the upstream read
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stream.closed
