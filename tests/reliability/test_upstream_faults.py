"""Upstream faults, end to end: one table of cases × each adapter style.

Every case goes through the real gateway (uvicorn, real app) to the loopback fake
of the provider's API, and is seen by the official ``openai`` SDK and, where the
status and body must be checked byte for byte, by raw httpx. A fault before the
first byte is an HTTP error with its documented status and ``code``, in both
request modes; a fault after it ends the stream with one error event (no
``[DONE]``) on which the SDK raises. No case is ever a 500.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager as ContextManager
from contextlib import ExitStack
from dataclasses import dataclass, field

import httpx
import openai
import orjson
import pytest

from tests.fakes.upstream import FakeUpstream, Script, events_of, json_script, run_fake_upstream
from tests.reliability.upstream_harness import (
    HOSTED,
    MODELS,
    PROVIDERS,
    seeded_tenant,
    upstream_settings,
)
from tests.support import RunningGateway, SeededTenant, free_port, run_gateway

MESSAGES = [{"role": "user", "content": "Hi"}]
LIMIT = 16 * 1024  # MODELGATE_MAX_RESPONSE_BYTES and _MAX_EVENT_BYTES of the gateway under test
READ_TIMEOUT = 1.5  # MODELGATE_UPSTREAM_READ_TIMEOUT: the idle and no-headers cases wait this
SSE = "text/event-stream"
HTML = b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"

RECORDINGS = {provider: f"{provider}_text.sse" for provider in PROVIDERS}


# How each provider reports a failure inside a stream it has begun (after its 200).
ERROR_EVENTS = {
    "openai": b'data: {"error": {"message": "Overloaded", "type": "server_error"}}\n\n',
    "anthropic": b'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", '
    b'"message": "Overloaded"}}\n\n',
    "google": b'data: {"error": {"code": 503, "message": "Overloaded", '
    b'"status": "UNAVAILABLE"}}\r\n\r\n',
}


def three_events(provider: str) -> list[bytes]:
    """Upstream events that start a stream (its first content included) without
    finishing it: three, or four for Anthropic. Gemini's third
    recorded event carries the finish reason, so its second is sent twice instead."""
    events = events_of(RECORDINGS[provider])
    if provider == "anthropic":
        # message_start, content_block_start and ping carry no content: the gateway holds
        # them back (providers/holdback.py), so the fourth, the first text, starts the stream.
        return events[:4]
    return [events[0], events[1], events[1]] if provider == "google" else events[:3]


def error_body(provider: str, status: int, message: str) -> dict:
    """An error body in the provider's own shape."""
    if provider == "anthropic":
        kind = {429: "rate_limit_error", 529: "overloaded_error"}.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}
    if provider == "google":
        return {"error": {"code": status, "message": message, "status": "UNAVAILABLE"}}
    return {"error": {"message": message, "type": "server_error", "param": None, "code": None}}


@dataclass(frozen=True)
class Case:
    id: str
    status: int  # the HTTP status; for a mid-stream case, the error event's meaning
    code: str
    scripts: Callable[[str], Script] | None  # None: the provider refuses connections
    says: str  # a pattern of the message: the fault is the one we meant
    mid_stream: bool = False  # the fault comes after the stream's first byte
    type: str = "api_error"
    headers: dict[str, str] = field(default_factory=dict)  # must come back as is


UNAVAILABLE = dict(status=502, code="upstream_unavailable")
TIMEOUT = dict(status=504, code="upstream_timeout", says="did not answer in time")
# Before the first byte, a stream reads a plain body as events: one that never
# ends its event is a cut stream, where a plain call finds unreadable JSON.
UNREADABLE = "sent an unreadable answer|ended its stream before it was complete"
OVER_LIMIT = f"larger than {LIMIT} bytes"
CASES = [
    Case("refused-connection", scripts=None, says="could not be reached", **UNAVAILABLE),
    Case("headers-never-come", scripts=lambda p: Script(delay=READ_TIMEOUT + 5), **TIMEOUT),
    *(
        Case(
            f"http-{s}",
            scripts=lambda p, s=s: json_script(error_body(p, s, "boom"), s),
            says=rf"failed \(HTTP {s}\)",
            **UNAVAILABLE,
        )
        for s in (500, 502, 503, 529)
    ),
    Case(
        "429-retry-after",
        429,
        "upstream_error",
        lambda p: json_script(
            error_body(p, 429, "Slow down."), 429, **{"retry-after": "7", "retry-after-ms": "7000",
                                                     "x-upstream-internal": "not passed on"}
        ),
        type="rate_limit_error",
        says="^Slow down.$",
        headers={"retry-after": "7", "retry-after-ms": "7000"},
    ),
    Case(
        "malformed-json",
        scripts=lambda p: Script(body=b'{"choices": [{"mess'),
        says=UNREADABLE,
        **UNAVAILABLE,
    ),
    Case(
        "html-error-page",
        scripts=lambda p: Script(502, HTML, "text/html"),
        says=r"failed \(HTTP 502\)",
        **UNAVAILABLE,
    ),
    Case(
        "html-page-as-200",
        scripts=lambda p: Script(200, HTML, "text/html"),
        says=UNREADABLE,
        **UNAVAILABLE,
    ),
    Case(
        "answer-over-limit",
        scripts=lambda p: json_script({"choices": [], "pad": "x" * (4 * LIMIT)}),
        says=OVER_LIMIT,
        **UNAVAILABLE,
    ),
    # After the first byte: the stream ends with an error event.
    Case(
        "stream-cut-after-three-chunks",
        scripts=lambda p: Script(chunks=three_events(p), cut=True, content_type=SSE),
        says="dropped the connection",
        mid_stream=True,
        **UNAVAILABLE,
    ),
    Case(
        "invalid-chunk-in-stream",
        scripts=lambda p: Script(
            chunks=[*three_events(p), b"data: {not json}\n\n"], content_type=SSE
        ),
        says="sent an unreadable answer",
        mid_stream=True,
        **UNAVAILABLE,
    ),
    Case(
        "error-event-in-stream",
        scripts=lambda p: Script(chunks=[*three_events(p), ERROR_EVENTS[p]], content_type=SSE),
        says="reported an error: Overloaded$",
        mid_stream=True,
        **UNAVAILABLE,
    ),
    Case(
        "stream-goes-idle",
        scripts=lambda p: Script(chunks=three_events(p), hang_after=True, content_type=SSE),
        mid_stream=True,
        **TIMEOUT,
    ),
    Case(
        # Valid JSON, sent whole in one write: only its size is wrong.
        "stream-event-over-limit",
        scripts=lambda p: Script(
            chunks=[*three_events(p), b'data: {"pad": "' + b"x" * (2 * LIMIT) + b'"}\n\n'],
            content_type=SSE,
        ),
        says=OVER_LIMIT,
        mid_stream=True,
        **UNAVAILABLE,
    ),
]


def matrix() -> list[object]:
    """Each case × each adapter style; a fault before the first byte in both modes."""
    return [
        pytest.param(case, provider, mode == "stream", id=f"{case.id}-{provider}-{mode}")
        for case in CASES
        for provider in PROVIDERS
        for mode in (["stream"] if case.mid_stream else ["complete", "stream"])
    ]


# ── fixtures ───────────────────────────────────────────────────────────────────
@pytest.fixture(scope="module")
def fake() -> Iterator[FakeUpstream]:
    with run_fake_upstream() as fake:
        yield fake


@pytest.fixture(scope="module")
def db_and_tenant(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, SeededTenant]:
    return seeded_tenant(tmp_path_factory.mktemp("faults"))


def _gateway(db_url: str, base: str) -> ContextManager[RunningGateway]:
    return run_gateway(
        database_url=db_url,
        max_response_bytes=LIMIT,
        max_event_bytes=LIMIT,
        upstream_connect_timeout=2.0,
        upstream_read_timeout=READ_TIMEOUT,
        upstream_total_timeout=20.0,
        **upstream_settings(base),
    )


@pytest.fixture(scope="module")
def gateways(db_and_tenant, fake: FakeUpstream) -> Iterator[dict[bool, RunningGateway]]:
    """By "has an upstream": the gateway on the fake, and one whose providers are a
    loopback port nobody listens on (refused connections)."""
    db_url = db_and_tenant[0]
    with ExitStack() as stack:
        yield {
            True: stack.enter_context(_gateway(db_url, fake.url)),
            False: stack.enter_context(_gateway(db_url, f"http://127.0.0.1:{free_port()}")),
        }


# ── the matrix ─────────────────────────────────────────────────────────────────
def _assert_error_shape(error: dict, case: Case) -> None:
    assert set(error) == {"type", "code", "message", "param"}
    assert (error["code"], error["type"], error["param"]) == (case.code, case.type, None)
    assert re.search(case.says, error["message"]), error["message"]
    assert "Traceback" not in error["message"]


def _events(body: bytes) -> list[object]:
    payloads = [part[len(b"data: "):] for part in body.split(b"\n\n") if part.strip()]
    return ["[DONE]" if p == b"[DONE]" else orjson.loads(p) for p in payloads]


@pytest.mark.parametrize(("case", "provider", "stream"), matrix())
def test_upstream_fault(
    case: Case, provider: str, stream: bool, gateways, db_and_tenant, fake: FakeUpstream
) -> None:
    gateway = gateways[case.scripts is not None]
    tenant = db_and_tenant[1]
    logged_before = len(gateway.logs.text())
    fake.reset()
    body = {"model": MODELS[provider], "messages": MESSAGES, "stream": stream}

    # Raw HTTP first: the exact status, headers and body.
    if case.scripts is not None:
        fake.next(case.scripts(provider))
    raw = httpx.post(
        f"{gateway.url}/v1/chat/completions", json=body, headers=tenant.headers("write"), timeout=30
    )
    assert raw.status_code != 500
    assert HOSTED[provider] not in raw.text
    if case.mid_stream:
        assert raw.status_code == 200 and raw.headers["content-type"].startswith(SSE)
        events = _events(raw.content)
        assert "[DONE]" not in events
        assert len(events) >= 2, "the stream had begun before the fault"
        assert all("error" not in event for event in events[:-1])
        assert set(events[-1]) == {"error"}
        _assert_error_shape(events[-1]["error"], case)
    else:
        assert raw.status_code == case.status
        assert raw.headers["content-type"] == "application/json"
        assert raw.headers["x-should-retry"] == "true"  # 429 from a provider, 502 and 504 alike
        assert "x-upstream-internal" not in raw.headers
        assert {k: raw.headers.get(k) for k in case.headers} == case.headers
        _assert_error_shape(raw.json()["error"], case)
    if case.scripts is not None:
        assert len(fake.requests) == 1  # the gateway itself never retries

    # Then the official SDK, as a tenant's backend would call it.
    if case.scripts is not None:
        fake.next(case.scripts(provider))
    sdk = openai.OpenAI(
        base_url=f"{gateway.url}/v1", api_key=tenant.tokens["write"], max_retries=0, timeout=30
    )
    received = []
    with pytest.raises(openai.APIError) as raised:
        answer = sdk.chat.completions.create(
            model=MODELS[provider], messages=MESSAGES, stream=stream
        )
        for chunk in answer if stream else ():
            received.append(chunk)
    if case.mid_stream:
        assert received, "chunks before the fault reach the SDK"
        # Raised on our error event, not on a dropped socket (APIConnectionError).
        assert raised.value.body["code"] == case.code
    else:
        assert isinstance(raised.value, openai.APIStatusError)
        assert raised.value.status_code == case.status
        assert raised.value.body["code"] == case.code

    assert "unhandled error" not in gateway.logs.text()[logged_before:]
