"""Upstream faults as the SDK sees them, on both databases: a provider's 4xx keeps its
status, and a client that leaves closes the upstream call.

The full fault matrix (5xx, 429, timeouts, broken streams, limits, refused
connections × every adapter style) is tests/reliability/test_upstream_faults.py."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from tests.chat.conftest import HOSTED
from tests.fakes.upstream import FakeUpstream, Script, events_of, json_script
from tests.support import SeededTenant

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
