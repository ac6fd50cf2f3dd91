"""Upstream faults as the SDK sees them: each maps to its documented status and code."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from tests.chat.conftest import HOSTED
from tests.fakes.upstream import FakeUpstream, Script, events_of, json_script
from tests.support import RunningGateway, SeededTenant

MESSAGES = [{"role": "user", "content": "Hi"}]
MODELS = {"openai": "gpt-4o", "anthropic": "claude-haiku-4-5", "google": "gemini-2.5-flash"}


def error_of(exc: openai.APIStatusError) -> dict:
    return exc.response.json()["error"]


@pytest.mark.parametrize("provider", sorted(MODELS))
@pytest.mark.parametrize(
    ("status", "sdk_error"),
    [
        (400, openai.BadRequestError),
        (401, openai.AuthenticationError),
        (403, openai.PermissionDeniedError),
        (404, openai.NotFoundError),
    ],
)
def test_provider_4xx_keeps_status_and_message(
    sdk: openai.OpenAI, upstream: FakeUpstream, provider: str, status: int, sdk_error: type
) -> None:
    upstream.next(json_script({"error": {"message": f"provider says no ({status})"}}, status))
    with pytest.raises(sdk_error) as raised:
        sdk.chat.completions.create(model=MODELS[provider], messages=MESSAGES)
    error = error_of(raised.value)
    assert raised.value.status_code == status
    assert error["code"] == "upstream_error" and error["message"] == f"provider says no ({status})"
    assert raised.value.response.headers["x-should-retry"] == "false"
    assert HOSTED[provider] not in raised.value.response.text


def test_429_passes_retry_after(sdk: openai.OpenAI, upstream: FakeUpstream) -> None:
    upstream.next(json_script({"error": {"message": "slow down"}}, 429, **{"retry-after": "7", "x-secret-upstream": "no"}))
    with pytest.raises(openai.RateLimitError) as raised:
        sdk.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    headers = raised.value.response.headers
    assert headers["retry-after"] == "7" and "x-secret-upstream" not in headers
    assert error_of(raised.value)["code"] == "upstream_error"


@pytest.mark.parametrize(
    "script",
    [
        json_script({"error": {"message": "boom"}}, 500),
        json_script({"error": {"message": "bad gateway"}}, 502),
        json_script({"error": {"message": "unavailable"}}, 503),
        json_script({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, 529),
        Script(body=b"{not json", status=200),
        Script(body=b"<html><body>502 Bad Gateway</body></html>", status=200, content_type="text/html"),
    ],
    ids=["500", "502", "503", "529", "malformed-json", "html-page"],
)
@pytest.mark.parametrize("provider", sorted(MODELS))
def test_server_faults_are_502(sdk: openai.OpenAI, upstream: FakeUpstream, script: Script, provider: str) -> None:
    upstream.next(script)
    with pytest.raises(openai.InternalServerError) as raised:
        sdk.chat.completions.create(model=MODELS[provider], messages=MESSAGES)
    assert raised.value.status_code == 502
    assert error_of(raised.value)["code"] == "upstream_unavailable"
    assert raised.value.response.headers["x-should-retry"] == "true"


def test_refused_connection_is_502(chat_gateway: RunningGateway, tenant: SeededTenant, database_url: str) -> None:
    from tests.support import free_port, run_gateway

    with run_gateway(database_url=database_url, openai_api_key="sk-x", openai_base_url=f"http://127.0.0.1:{free_port()}/v1") as gw:
        response = httpx.post(f"{gw.url}/v1/chat/completions", json={"model": "gpt-4o", "messages": MESSAGES}, headers=tenant.headers("write"))
    assert response.status_code == 502 and response.json()["error"]["code"] == "upstream_unavailable"


@pytest.mark.parametrize("provider", sorted(MODELS))
def test_headers_that_never_come_are_504(sdk: openai.OpenAI, upstream: FakeUpstream, provider: str) -> None:
    upstream.next(Script(delay=5, body=b"{}"))
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as raised:
        sdk.chat.completions.create(model=MODELS[provider], messages=MESSAGES)
    assert raised.value.status_code == 504 and error_of(raised.value)["code"] == "upstream_timeout"
    assert time.monotonic() - started < 4.5  # the read timeout (1.5 s), not the upstream's 5 s


@pytest.mark.parametrize(
    ("provider", "recording"),
    [("openai", "openai_text.sse"), ("anthropic", "anthropic_text.sse"), ("google", "google_text.sse")],
)
def test_a_cut_stream_makes_the_sdk_raise(sdk: openai.OpenAI, upstream: FakeUpstream, provider: str, recording: str) -> None:
    events = events_of(recording)
    upstream.next(Script(chunks=events[:3] + [b'data: {"choices": [{"delta": {"content": "tr'], content_type="text/event-stream"))
    stream = sdk.chat.completions.create(model=MODELS[provider], messages=MESSAGES, stream=True)
    received = []
    with pytest.raises(openai.APIError) as raised:
        for chunk in stream:
            received.append(chunk)
    assert received, "the stream had started before it broke"
    assert "upstream_unavailable" in str(raised.value.body) or "ended its stream" in str(raised.value)


def test_an_invalid_chunk_and_an_error_event_end_the_stream_with_an_error(sdk: openai.OpenAI, upstream: FakeUpstream) -> None:
    first = events_of("openai_text.sse")[0]
    for bad in (b"data: [1, 2, 3]\n\n", b'data: {"error": {"message": "exploded"}}\n\n'):
        upstream.next(Script(chunks=[first, bad], content_type="text/event-stream"))
        with pytest.raises(openai.APIError):
            list(sdk.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))
    anthropic_events = events_of("anthropic_text.sse")
    error = b'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}\n\n'
    upstream.next(Script(chunks=anthropic_events[:3] + [error], content_type="text/event-stream"))
    with pytest.raises(openai.APIError):
        list(sdk.chat.completions.create(model="claude-haiku-4-5", messages=MESSAGES, stream=True))


def test_an_idle_stream_ends_with_a_timeout_error(sdk: openai.OpenAI, upstream: FakeUpstream) -> None:
    upstream.next(Script(chunks=events_of("openai_text.sse")[:2], hang_after=True, content_type="text/event-stream"))
    with pytest.raises(openai.APIError) as raised:
        list(sdk.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))
    assert "upstream_timeout" in str(raised.value.body) or "in time" in str(raised.value)


def test_an_answer_over_the_limit_is_502(database_url: str, fake_upstream: FakeUpstream, tenant: SeededTenant) -> None:
    from tests.chat.conftest import gateway_settings
    from tests.support import run_gateway

    fake_upstream.reset()
    fake_upstream.next(json_script({"choices": [], "pad": "x" * 5000}))
    with run_gateway(database_url=database_url, **{**gateway_settings(fake_upstream), "max_response_bytes": 1024}) as gw:
        response = httpx.post(f"{gw.url}/v1/chat/completions", json={"model": "gpt-4o", "messages": MESSAGES}, headers=tenant.headers("write"))
    assert response.status_code == 502 and response.json()["error"]["code"] == "upstream_unavailable"


@pytest.mark.parametrize(
    ("stream", "before_first_byte"),
    [(True, True), (True, False), (False, True)],
    ids=["stream-before-first-byte", "stream-after-first-chunk", "plain-before-answer"],
)
def test_a_client_that_leaves_closes_the_upstream(
    database_url: str, fake_upstream: FakeUpstream, tenant: SeededTenant, stream: bool, before_first_byte: bool
) -> None:
    from tests.chat.conftest import gateway_settings
    from tests.support import run_gateway

    fake_upstream.reset()
    chunks = [] if before_first_byte else events_of("openai_text.sse")[:2]
    fake_upstream.next(Script(chunks=chunks, hang_after=True, content_type="text/event-stream"))
    # A long read timeout: only the client leaving can close the upstream early.
    settings = {**gateway_settings(fake_upstream), "upstream_read_timeout": 60.0}
    body = {"model": "gpt-4o", "messages": MESSAGES, "stream": stream}
    with run_gateway(database_url=database_url, **settings) as gw, httpx.Client() as client:
        url, headers = f"{gw.url}/v1/chat/completions", tenant.headers("write")
        if before_first_byte:
            with pytest.raises(httpx.ReadTimeout):
                client.post(url, json=body, headers=headers, timeout=0.5)
        else:
            with client.stream("POST", url, json=body, headers=headers) as response:
                assert response.status_code == 200
                next(response.iter_raw())
        deadline = time.monotonic() + 10
        while fake_upstream.disconnects < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert fake_upstream.disconnects == 1
