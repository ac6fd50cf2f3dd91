"""One usage event per call, end to end, for every outcome that has an answer or an
error (issue 13, items 1 and 6): the three provider styles against the loopback
fake, plain and streamed, on both databases, read back through the usage API.

Client disconnects and cut streams are in test_usage_disconnects.py.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
import openai
import pytest

from modelgate.metering.estimate import count_messages, count_text
from modelgate.tenants.tokens import token_prefix
from tests.fakes.upstream import FakeUpstream, Script, json_script
from tests.metering.outcome_harness import (  # noqa: F401 - fixtures
    MESSAGES,
    MODELS,
    PROVIDERS,
    Reported,
    answer,
    decimal_json,
    fake,
    metered_gateway,
    only_event,
    sse_data,
    stream,
    text_of,
    upstream,
    usage_events,
)
from tests.support import RunningGateway, SeededTenant

# What each style's fake reports, and the price worked out by hand from the catalog
# (USD per 1M: gpt-4o 2.50 in / 1.25 cached / 10.00 out; claude-haiku-4-5 1.00 /
# 0.10 / 5.00; gemini-2.5-flash 0.30 in / 2.50 out, no cached rate: billed as input).
# Credits: cost x the default margin 1.4 x multiplier 1.
PRICED = {
    # (1200-1024) x 2.50 + 1024 x 1.25 + 300 x 10.00 = 440 + 1280 + 3000 = 4720 / 1M
    "openai": (
        Reported(1200, 300, cached=1024, reasoning=64), Decimal("0.00472"), Decimal("0.006608")
    ),
    # 200 x 1.00 + 1000 x 0.10 + 150 x 5.00 = 200 + 100 + 750 = 1050 / 1M
    "anthropic": (Reported(1200, 150, cached=1000), Decimal("0.00105"), Decimal("0.00147")),
    # 1200 x 0.30 + 150 x 2.50 = 360 + 375 = 735 / 1M (the 50 thoughts are in the 150)
    "google": (
        Reported(1200, 150, cached=1000, reasoning=50), Decimal("0.000735"), Decimal("0.001029")
    ),
}
MODES = ["plain", "stream", "stream+usage"]


def client(gw: RunningGateway, tenant: SeededTenant) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{gw.url}/v1", api_key=tenant.tokens["write"], max_retries=0, timeout=30
    )


def call(gw: RunningGateway, tenant: SeededTenant, model: str, mode: str) -> tuple[Any, list[Any]]:
    """One call through the SDK: (the plain answer, or None; the stream's payloads)."""
    sdk = client(gw, tenant)
    if mode == "plain":
        return sdk.chat.completions.create(model=model, messages=MESSAGES), []
    options = {"include_usage": True} if mode == "stream+usage" else openai.NOT_GIVEN
    with sdk.chat.completions.with_streaming_response.create(
        model=model, messages=MESSAGES, stream=True, stream_options=options
    ) as response:
        assert response.status_code == 200
        raw = "\n".join(response.iter_lines())
    return None, sse_data(raw)


def usage_chunks(payloads: list[Any]) -> list[dict[str, Any]]:
    return [p["usage"] for p in payloads if isinstance(p, dict) and p.get("usage") is not None]


def assert_counts(event: dict[str, Any], counts: Reported, source: str = "provider") -> None:
    assert {k: event[k] for k in ("input_tokens", "output_tokens", "cached_input_tokens",
                                  "reasoning_tokens", "usage_source")} == {
        "input_tokens": counts.input, "output_tokens": counts.output,
        "cached_input_tokens": counts.cached, "reasoning_tokens": counts.reasoning,
        "usage_source": source,
    }


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_success_records_the_provider_counts_and_the_price(
    metered_gateway: RunningGateway, upstream: FakeUpstream, tenant: SeededTenant,
    provider: str, mode: str,
) -> None:
    counts, cost, credits = PRICED[provider]
    upstream.next(answer(provider, counts) if mode == "plain" else stream(provider, counts))
    plain, payloads = call(metered_gateway, tenant, MODELS[provider], mode)

    if plain is not None:
        assert plain.usage.prompt_tokens == counts.input  # the client's answer keeps its usage
    else:
        assert text_of(payloads) == "Hello! How can I help you today?" and payloads[-1] == "[DONE]"
        # OpenAI's rule: the usage chunk only for a client that asked, and then once.
        seen = usage_chunks(payloads)
        if mode == "stream+usage":
            assert len(seen) == 1 and seen[0]["prompt_tokens"] == counts.input
            assert seen[0]["completion_tokens"] == counts.output
        else:
            assert seen == [] and all("usage" not in p for p in payloads if isinstance(p, dict)
                                      and not p.get("choices")), payloads
    if provider == "openai" and mode != "plain":  # the gateway asked the upstream for usage
        assert upstream.last.body["stream_options"] == {"include_usage": True}

    event = only_event(metered_gateway, tenant)
    assert_counts(event, counts)
    assert event["cost_usd"] == cost and event["credits"] == credits
    assert {k: event[k] for k in ("model", "base_model", "provider", "source", "endpoint",
                                  "stream", "status", "attempts", "token_prefix")} == {
        "model": MODELS[provider], "base_model": MODELS[provider], "provider": provider,
        "source": "hosted", "endpoint": "chat", "stream": mode != "plain", "status": 200,
        "attempts": 1, "token_prefix": token_prefix(tenant.tokens["write"]),
    }
    assert event["latency_ms"] >= 0
    if mode == "plain":
        assert event["ttft_ms"] is None
    else:
        assert 0 <= event["ttft_ms"] <= event["latency_ms"]


@pytest.mark.parametrize("mode", ["plain", "stream"])
def test_byok_calls_cost_the_list_price_and_earn_no_credits(
    metered_gateway: RunningGateway, upstream: FakeUpstream, tenant: SeededTenant, mode: str
) -> None:
    put = httpx.put(
        f"{metered_gateway.url}/v1/tenant/model_keys/openai",
        json={"api_key": "sk-byok-metering-tenant-0123456789", "base_url": f"{upstream.url}/v1"},
        headers=tenant.headers("admin"),
    )
    assert put.status_code == 200, put.text
    counts, cost, _ = PRICED["openai"]
    upstream.next(answer("openai", counts) if mode == "plain" else stream("openai", counts))
    call(metered_gateway, tenant, "gpt-4o", mode)
    assert upstream.last.headers["authorization"] == "Bearer sk-byok-metering-tenant-0123456789"
    event = only_event(metered_gateway, tenant)
    assert_counts(event, counts)
    assert event["source"] == "byok" and event["cost_usd"] == cost and event["credits"] == 0


def test_the_event_names_the_resolved_model_not_the_spelling_called(
    metered_gateway: RunningGateway, upstream: FakeUpstream, tenant: SeededTenant
) -> None:
    # CONTRACT-2: model "as resolved". Grouping usage by model must not split
    # "GPT-4o-2024-08-06" and "gpt-4o" into two rows.
    counts = PRICED["openai"][0]
    upstream.next(answer("openai", counts))
    answered, _ = call(metered_gateway, tenant, "GPT-4o-2024-08-06", "plain")
    assert answered.model == "gpt-4o"
    event = only_event(metered_gateway, tenant)
    assert event["model"] == "gpt-4o" and event["base_model"] == "gpt-4o"


@pytest.mark.parametrize("mode", ["plain", "stream"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_provider_reported_zero_stays_zero(
    metered_gateway: RunningGateway, upstream: FakeUpstream, tenant: SeededTenant,
    provider: str, mode: str,
) -> None:
    # A zero is a report, not a gap: never replaced by an estimate (LiteLLM #37992).
    zero = Reported(0, 0)
    upstream.next(answer(provider, zero) if mode == "plain" else stream(provider, zero))
    call(metered_gateway, tenant, MODELS[provider], mode)
    event = only_event(metered_gateway, tenant)
    assert_counts(event, zero)
    assert event["status"] == 200 and event["cost_usd"] == 0 and event["credits"] == 0


def test_an_answer_without_usage_is_estimated_from_its_text(
    metered_gateway: RunningGateway, upstream: FakeUpstream, tenant: SeededTenant
) -> None:
    # An OpenAI-compatible upstream that reports nothing: the gateway counts.
    upstream.next(answer("openai", None))
    call(metered_gateway, tenant, "gpt-4o", "plain")
    event = only_event(metered_gateway, tenant)
    assert event["usage_source"] == "estimated" and event["status"] == 200
    assert event["input_tokens"] == count_messages("openai", "gpt-4o", MESSAGES) > 0
    answered = "Hello! How can I help you today?"
    assert event["output_tokens"] == count_text("openai", "gpt-4o", answered) > 0


@pytest.mark.parametrize("stream_mode", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize(
    ("upstream_status", "client_status"), [(400, 400), (429, 429), (500, 502), (503, 502)]
)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_provider_error_leaves_one_event_without_tokens(
    metered_gateway: RunningGateway, upstream: FakeUpstream, tenant: SeededTenant,
    provider: str, upstream_status: int, client_status: int, stream_mode: bool,
) -> None:
    upstream.next(json_script({"error": {"message": "provider says no"}}, upstream_status))
    response = httpx.post(
        f"{metered_gateway.url}/v1/chat/completions", headers=tenant.headers("write"), timeout=30,
        json={"model": MODELS[provider], "messages": MESSAGES, "stream": stream_mode},
    )
    assert response.status_code == client_status, response.text
    event = only_event(metered_gateway, tenant)
    assert_counts(event, Reported(0, 0), source="none")
    assert event["status"] == client_status and event["provider"] == provider
    assert event["cost_usd"] == 0 and event["credits"] == 0 and event["ttft_ms"] is None


@pytest.mark.parametrize("stream_mode", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_upstream_timeout_is_estimated_from_the_prompt(
    metered_gateway: RunningGateway, upstream: FakeUpstream, tenant: SeededTenant,
    provider: str, stream_mode: bool,
) -> None:
    # The provider may have read the prompt before it went quiet: the input counts.
    upstream.next(Script(delay=10, chunks=[] if stream_mode else None))
    response = httpx.post(
        f"{metered_gateway.url}/v1/chat/completions", headers=tenant.headers("write"), timeout=30,
        json={"model": MODELS[provider], "messages": MESSAGES, "stream": stream_mode},
    )
    assert response.status_code == 504, response.text
    event = only_event(metered_gateway, tenant)
    assert event["status"] == 504 and event["usage_source"] == "estimated"
    assert event["input_tokens"] == count_messages(provider, MODELS[provider], MESSAGES) > 0
    assert event["output_tokens"] == 0 and event["cost_usd"] > 0


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"model": "no-such-model-anywhere", "messages": MESSAGES}, 404, "model_not_found"),
        # groq: no hosted key configured, and the tenant has none of its own.
        ({"model": "groqcloud:llama-3.3-70b", "messages": MESSAGES}, 422, "model_key_missing"),
        ({"model": "gpt-4o", "messages": "not a list"}, 422, "validation_error"),
        (b'{"model": "gpt-4o", "messages": [', 400, "invalid_json"),
    ],
    ids=["unknown-model", "missing-key", "bad-body", "bad-json"],
)
def test_a_failure_before_the_upstream_leaves_one_event_without_tokens(
    metered_gateway: RunningGateway, upstream: FakeUpstream, tenant: SeededTenant,
    body: Any, status: int, code: str,
) -> None:
    kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
    response = httpx.post(f"{metered_gateway.url}/v1/chat/completions",
                          headers=tenant.headers("write"), timeout=30, **kwargs)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert upstream.requests == []  # refused before any upstream call
    event = only_event(metered_gateway, tenant)
    assert_counts(event, Reported(0, 0), source="none")
    assert event["status"] == status and event["base_model"] is None and event["provider"] is None
    assert event["cost_usd"] is None and event["credits"] == 0


def test_usage_of_one_tenant_is_never_visible_to_another(
    metered_gateway: RunningGateway, upstream: FakeUpstream, tenant: SeededTenant,
    other_tenant: SeededTenant,
) -> None:
    gw = metered_gateway
    mine, theirs = [], []
    for who, ids, calls in ((tenant, mine, 3), (other_tenant, theirs, 2)):
        for n in range(calls):
            request_id = f"req-isolation-{who.id}-{n}"
            upstream.next(answer("openai", PRICED["openai"][0]))
            response = httpx.post(
                f"{gw.url}/v1/chat/completions", json={"model": "gpt-4o", "messages": MESSAGES},
                headers={**who.headers("write"), "X-Request-Id": request_id}, timeout=30,
            )
            assert response.status_code == 200
            ids.append(request_id)
    assert sorted(e["request_id"] for e in usage_events(gw, tenant, 3)) == sorted(mine)
    assert sorted(e["request_id"] for e in usage_events(gw, other_tenant, 2)) == sorted(theirs)
    # The aggregates too: each tenant's totals are its own calls only.
    for who, calls in ((tenant, 3), (other_tenant, 2)):
        report = decimal_json(httpx.get(f"{gw.url}/v1/tenant/usage", headers=who.headers("admin")))
        assert report["totals"]["requests"] == calls
        assert report["totals"]["input_tokens"] == 1200 * calls
        assert report["totals"]["cost_usd"] == PRICED["openai"][1] * calls


# The fake's default answers (tests/fakes/upstream.py and the recorded streams in
# tests/providers/fixtures): (input, output) each reports, plain and streamed.
DEFAULT_COUNTS = {
    ("openai", False): (9, 4), ("openai", True): (19, 9),
    ("anthropic", False): (20, 11), ("anthropic", True): (25, 12),
    ("google", False): (5, 4), ("google", True): (8, 29),  # 9 candidates + 20 thoughts
}


async def test_concurrent_calls_leave_exactly_one_event_each(
    metered_gateway: RunningGateway, upstream: FakeUpstream, tenant: SeededTenant
) -> None:
    rounds = 5
    calls = [(provider, stream_mode) for provider, stream_mode in DEFAULT_COUNTS] * rounds
    async with httpx.AsyncClient(base_url=metered_gateway.url, timeout=30) as http:
        responses = await asyncio.gather(*(
            http.post("/v1/chat/completions", headers=tenant.headers("write"),
                      json={"model": MODELS[provider], "messages": MESSAGES, "stream": stream_mode})
            for provider, stream_mode in calls
        ))
    assert [r.status_code for r in responses] == [200] * len(calls)
    events = usage_events(metered_gateway, tenant, len(calls))
    assert len({e["id"] for e in events}) == len({e["request_id"] for e in events}) == len(calls)
    assert {e["usage_source"] for e in events} == {"provider"}
    inputs, outputs = zip(*DEFAULT_COUNTS.values(), strict=True)
    assert sum(e["input_tokens"] for e in events) == rounds * sum(inputs)
    assert sum(e["output_tokens"] for e in events) == rounds * sum(outputs)
    report = decimal_json(httpx.get(f"{metered_gateway.url}/v1/tenant/usage",
                                    headers=tenant.headers("admin")))
    assert report["totals"]["requests"] == len(calls)
    assert report["totals"]["cost_usd"] == sum(e["cost_usd"] for e in events)
