"""One usage event per call when the answer does not end as it should (issue 13,
items 1 and 6): the client leaves before the answer or in the middle of a stream,
or the upstream cuts its stream. The three provider styles against the loopback
fake, on both databases, read back through the usage API.

Where the provider reported nothing, the event is ``estimated``: the input from
the request's messages, the output from the text the gateway relayed, counted
with the same tokenizer (o200k for these models) the estimate documents.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from modelgate.metering.estimate import count_messages, count_text
from tests.fakes.upstream import FakeUpstream, Script
from tests.metering.outcome_harness import (  # noqa: F401 - fixtures
    MESSAGES,
    MODELS,
    PIECES,
    PROVIDERS,
    SSE,
    fake,
    gateway_settings,
    only_event,
    sse_data,
    stream_events,
    text_of,
    upstream,
)
from tests.support import RunningGateway, SeededTenant, run_gateway

TEXT = "".join(PIECES)


@pytest.fixture(scope="module")
def patient_gateway(database_url: str, fake: FakeUpstream) -> Iterator[RunningGateway]:
    """A long upstream read timeout: only the client leaving (or the upstream
    cutting) may end these calls early, never the gateway's own timeout."""
    settings = {**gateway_settings(fake.url), "upstream_read_timeout": 60.0}
    with run_gateway(database_url=database_url, **settings) as gw:
        yield gw


def chat_body(provider: str, stream: bool) -> dict:
    return {"model": MODELS[provider], "messages": MESSAGES, "stream": stream}


def wait_for_disconnect(fake: FakeUpstream, count: int = 1) -> None:
    deadline = time.monotonic() + 10
    while fake.disconnects < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert fake.disconnects == count  # the gateway closed the upstream call too


def assert_estimated(event: dict, provider: str, output_text: str) -> None:
    model = MODELS[provider]
    assert event["usage_source"] == "estimated"
    assert event["input_tokens"] == count_messages(provider, model, MESSAGES) > 0
    assert event["output_tokens"] == count_text(provider, model, output_text)
    assert event["cached_input_tokens"] == 0 and event["reasoning_tokens"] == 0
    assert event["cost_usd"] > 0 and event["credits"] > 0  # hosted, priced: estimates are billed


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_client_gone_before_the_answer_leaves_one_499(
    patient_gateway: RunningGateway, upstream: FakeUpstream, tenant: SeededTenant,
    provider: str, stream: bool,
) -> None:
    # The upstream holds its headers; the client gives up first.
    upstream.next(Script(delay=30, chunks=[] if stream else None, content_type=SSE))
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{patient_gateway.url}/v1/chat/completions", json=chat_body(provider, stream),
                   headers=tenant.headers("write"), timeout=0.5)
    wait_for_disconnect(upstream)
    event = only_event(patient_gateway, tenant)
    assert event["status"] == 499 and event["stream"] is stream
    assert_estimated(event, provider, "")  # the prompt was sent: it counts; no output
    assert event["ttft_ms"] is None


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_client_gone_during_a_stream_is_billed_what_it_was_sent(
    patient_gateway: RunningGateway, upstream: FakeUpstream, tenant: SeededTenant, provider: str
) -> None:
    # The upstream streams the answer, then waits without its usage report or end.
    upstream.next(Script(chunks=stream_events(provider, None), hang_after=True, content_type=SSE))
    received = ""
    with httpx.Client(timeout=30) as client, client.stream(
        "POST", f"{patient_gateway.url}/v1/chat/completions",
        json=chat_body(provider, True), headers=tenant.headers("write"),
    ) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            received += text_of(sse_data(line))
            if received == TEXT:
                break  # everything the upstream sent has arrived: leave
    wait_for_disconnect(upstream)
    event = only_event(patient_gateway, tenant)
    assert event["status"] == 499 and event["stream"] is True
    assert_estimated(event, provider, TEXT)
    assert event["output_tokens"] > 0
    assert 0 <= event["ttft_ms"] <= event["latency_ms"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_stream_cut_by_the_upstream_is_billed_what_was_relayed(
    patient_gateway: RunningGateway, upstream: FakeUpstream, tenant: SeededTenant, provider: str
) -> None:
    # The upstream drops the connection mid-answer, before any usage report.
    upstream.next(Script(chunks=stream_events(provider, None), cut=True, content_type=SSE))
    response = httpx.post(
        f"{patient_gateway.url}/v1/chat/completions",
        json=chat_body(provider, True), headers=tenant.headers("write"), timeout=30,
    )
    assert response.status_code == 200  # the answer had begun: the cut is its last event
    payloads = sse_data(response.text)
    assert text_of(payloads) == TEXT and "[DONE]" not in payloads
    assert payloads[-1]["error"]["code"] == "upstream_unavailable"
    event = only_event(patient_gateway, tenant)
    assert event["status"] == 200 and event["stream"] is True
    assert_estimated(event, provider, TEXT)
    assert event["output_tokens"] > 0
