"""Calling a model group (CONTRACT-2, "Model groups" — "Calling it"): failover on
the contract's list, plain and streamed, cooldowns, weights, headers and the
usage event, through the official SDK against the fake."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import openai
import orjson
import pytest

from tests.fakes.upstream import FakeUpstream, Script, json_script
from tests.metering.outcome_harness import gateway_settings, usage_events
from tests.routing.conftest import HI, chat, create_config, create_group, sdk
from tests.support import RunningGateway, SeededTenant, run_gateway

SSE = "text/event-stream"


def openai_chunk(delta: dict[str, Any], model: str = "gpt-4o-2024-08-06") -> bytes:
    event = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": model,
             "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
    return b"data: " + orjson.dumps(event) + b"\n\n"


def failing(status: int) -> Script:
    return json_script({"error": {"message": f"upstream says {status}"}}, status)


def tried(upstream: FakeUpstream) -> list[str]:
    """Which model each upstream request was for (Anthropic's body names it too)."""
    return [r.body["model"] for r in upstream.requests]


def test_fallback_skips_a_failing_member(
    metered_gateway: RunningGateway, tenant: SeededTenant, upstream: FakeUpstream
) -> None:
    create_group(metered_gateway, tenant, "resilient", "gpt-4o", "claude-haiku-4-5")
    upstream.next(failing(500))
    raw = sdk(metered_gateway, tenant).chat.completions.with_raw_response.create(
        model="resilient", messages=HI
    )
    answer = raw.parse()
    assert answer.model == "claude-haiku-4-5" and answer.choices[0].message.content
    assert raw.headers["ic-model"] == "claude-haiku-4-5" and raw.headers["ic-attempts"] == "2"
    assert raw.headers["ic-base-model"] == "claude-haiku-4-5"
    assert raw.headers["ic-provider"] == "anthropic"
    assert tried(upstream) == ["gpt-4o", "claude-haiku-4-5"]
    [event] = usage_events(metered_gateway, tenant, 1)
    assert (event["model"], event["base_model"], event["attempts"]) == (
        "resilient", "claude-haiku-4-5", 2
    )
    assert event["provider"] == "anthropic" and event["status"] == 200


@pytest.mark.parametrize("status", [429, 500, 503, 401, 403])
def test_each_listed_failure_fails_over(
    metered_gateway: RunningGateway, tenant: SeededTenant, upstream: FakeUpstream, status: int
) -> None:
    create_group(metered_gateway, tenant, f"group-{status}", "gpt-4o", "gpt-4o-mini")
    upstream.next(failing(status))
    response = chat(metered_gateway, tenant, f"group-{status}")
    assert response.status_code == 200 and response.headers["ic-attempts"] == "2"
    assert response.json()["model"] == "gpt-4o-mini"


@pytest.mark.parametrize("status", [400, 404, 422])
def test_the_requests_own_fault_is_returned_at_once(
    metered_gateway: RunningGateway, tenant: SeededTenant, upstream: FakeUpstream, status: int
) -> None:
    create_group(metered_gateway, tenant, "strict", "gpt-4o", "gpt-4o-mini")
    upstream.next(failing(status))
    response = chat(metered_gateway, tenant, "strict")
    assert response.status_code == status and response.headers["ic-attempts"] == "1"
    assert f"upstream says {status}" in response.json()["error"]["message"]
    assert tried(upstream) == ["gpt-4o"]
    # No cooldown for the request's own fault: the next call starts with gpt-4o again.
    assert chat(metered_gateway, tenant, "strict").headers["ic-model"] == "gpt-4o"


def test_a_member_without_a_key_or_retired_is_skipped(
    metered_gateway: RunningGateway, tenant: SeededTenant, upstream: FakeUpstream
) -> None:
    # deepseek has no platform key on this gateway, and the tenant has none of its own.
    create_group(metered_gateway, tenant, "patchy", "deepseek-chat", "gpt-4o")
    response = chat(metered_gateway, tenant, "patchy")
    assert response.status_code == 200, response.text
    assert response.headers["ic-attempts"] == "2" and response.headers["ic-model"] == "gpt-4o"
    assert tried(upstream) == ["gpt-4o"]


def test_all_members_failing_answers_the_last_failure(
    metered_gateway: RunningGateway, tenant: SeededTenant, upstream: FakeUpstream
) -> None:
    create_group(metered_gateway, tenant, "doomed", "gpt-4o", "gpt-4o-mini")
    upstream.next(failing(500), failing(429))
    response = chat(metered_gateway, tenant, "doomed")
    assert response.status_code == 429 and response.headers["ic-attempts"] == "2"
    assert "upstream says 429" in response.json()["error"]["message"]
    [event] = usage_events(metered_gateway, tenant, 1)
    assert event["status"] == 429 and event["attempts"] == 2 and event["model"] == "doomed"
    # Every member is cooling now: the call is still tried, least recently failed first.
    upstream.reset()
    response = chat(metered_gateway, tenant, "doomed")
    assert response.status_code == 200 and tried(upstream) == ["gpt-4o"]


def test_a_member_that_just_failed_cools_down(
    metered_gateway: RunningGateway, tenant: SeededTenant, other_tenant: SeededTenant,
    upstream: FakeUpstream,
) -> None:
    for who in (tenant, other_tenant):
        create_group(metered_gateway, who, "cooling", "gpt-4o", "gpt-4o-mini")
    upstream.next(failing(503))
    assert chat(metered_gateway, tenant, "cooling").headers["ic-attempts"] == "2"
    upstream.reset()
    response = chat(metered_gateway, tenant, "cooling")
    assert response.headers["ic-model"] == "gpt-4o-mini" and response.headers["ic-attempts"] == "1"
    assert tried(upstream) == ["gpt-4o-mini"]
    # Another tenant's calls are not cooled by this one's failures.
    upstream.reset()
    assert chat(metered_gateway, other_tenant, "cooling").headers["ic-model"] == "gpt-4o"


def test_a_config_member_applies_its_rules(
    metered_gateway: RunningGateway, tenant: SeededTenant, upstream: FakeUpstream
) -> None:
    create_config(metered_gateway, tenant, name="polite", base_model="gpt-4o-mini",
                  system_prompt="Say please.")
    create_group(metered_gateway, tenant, "polite-first", "gpt-4o", "polite")
    upstream.next(failing(502))
    raw = sdk(metered_gateway, tenant).chat.completions.with_raw_response.create(
        model="polite-first", messages=HI
    )
    assert raw.parse().model == "polite" and raw.headers["ic-model"] == "polite"
    assert raw.headers["ic-base-model"] == "gpt-4o-mini"
    assert upstream.last.body["messages"][0] == {"role": "system", "content": "Say please."}
    assert upstream.requests[0].body["messages"] == HI  # the first member got the request as is


def test_a_stream_fails_over_before_its_first_content(
    metered_gateway: RunningGateway, tenant: SeededTenant, upstream: FakeUpstream
) -> None:
    create_group(metered_gateway, tenant, "streamy", "gpt-4o", "claude-haiku-4-5")
    # The first member opens its stream (the role-only delta) and drops the connection.
    upstream.next(Script(chunks=[openai_chunk({"role": "assistant", "content": ""})],
                         content_type=SSE, cut=True))
    raw = sdk(metered_gateway, tenant).chat.completions.with_raw_response.create(
        model="streamy", messages=HI, stream=True
    )
    assert raw.headers["ic-model"] == "claude-haiku-4-5" and raw.headers["ic-attempts"] == "2"
    chunks = list(raw.parse())
    assert {c.model for c in chunks} == {"claude-haiku-4-5"}
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text and tried(upstream) == ["gpt-4o", "claude-haiku-4-5"]
    [event] = usage_events(metered_gateway, tenant, 1)
    assert event["attempts"] == 2 and event["base_model"] == "claude-haiku-4-5"
    assert event["stream"] is True and event["status"] == 200


def test_a_stream_that_fails_after_its_first_content_ends_with_an_error(
    metered_gateway: RunningGateway, tenant: SeededTenant, upstream: FakeUpstream
) -> None:
    create_group(metered_gateway, tenant, "streamy", "gpt-4o", "claude-haiku-4-5")
    upstream.next(Script(
        chunks=[
            openai_chunk({"role": "assistant", "content": ""}),
            openai_chunk({"content": "Hel"}),
        ],
        content_type=SSE, cut=True,
    ))
    received: list[str] = []
    with pytest.raises(openai.APIError) as raised:
        for chunk in sdk(metered_gateway, tenant).chat.completions.create(
            model="streamy", messages=HI, stream=True
        ):
            received.extend(c.delta.content or "" for c in chunk.choices)
    assert "".join(received) == "Hel"  # the client had content: no failover after it
    assert raised.value.body["code"] == "upstream_unavailable"
    assert tried(upstream) == ["gpt-4o"]


def test_loadbalance_follows_the_weights(
    metered_gateway: RunningGateway, tenant: SeededTenant, upstream: FakeUpstream
) -> None:
    create_group(metered_gateway, tenant, "spread", ("gpt-4o", 9), ("gpt-4o-mini", 1),
                 strategy="loadbalance")
    with httpx.Client(base_url=metered_gateway.url, headers=tenant.headers("write")) as http:
        for _ in range(200):
            response = http.post("/v1/chat/completions", json={"model": "spread", "messages": HI})
            assert response.status_code == 200 and response.headers["ic-attempts"] == "1"
    counts = Counter(tried(upstream))
    # Binomial(200, 0.9): mean 180, sd 4.2; the bounds are 9 sd (and 1e-9) away.
    assert 140 <= counts["gpt-4o"] <= 199 and counts["gpt-4o"] + counts["gpt-4o-mini"] == 200


def test_groups_are_the_tenants_own_and_typed(
    metered_gateway: RunningGateway, tenant: SeededTenant, other_tenant: SeededTenant,
    upstream: FakeUpstream,
) -> None:
    group = create_group(metered_gateway, tenant, "mine", "gpt-4o")
    for model in ("mine", group["id"]):
        response = chat(metered_gateway, other_tenant, model)
        assert response.status_code == 404 and response.json()["error"]["code"] == "model_not_found"
    create_group(metered_gateway, tenant, "vectors", "text-embedding-3-small",
                 model_type="embedding")
    response = chat(metered_gateway, tenant, "vectors")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "model_type_mismatch"
    assert upstream.requests == []


def test_a_retired_or_disabled_member_is_skipped(
    database_url: str, fake: FakeUpstream, tenant: SeededTenant, tmp_path: Path,
    metered_gateway: RunningGateway,
) -> None:
    create_group(metered_gateway, tenant, "ageing", "gpt-4o-mini", "o3", "gpt-4o")
    fake.reset()
    # Later, the operator retires one member's model and disables another's.
    overlay = tmp_path / "overlay.toml"
    overlay.write_text(
        '[[models]]\nid = "gpt-4o-mini"\nend_of_life_at = 2020-01-01\n\n'
        '[[models]]\nid = "o3"\ndisabled = true\n'
    )
    with run_gateway(database_url=database_url, catalog_overlay=overlay,
                     **gateway_settings(fake.url)) as gw:
        response = chat(gw, tenant, "ageing")
    assert response.status_code == 200, response.text
    assert response.headers["ic-model"] == "gpt-4o" and response.headers["ic-attempts"] == "3"
    assert tried(fake) == ["gpt-4o"]


def test_every_attempt_is_counted_in_the_metrics(
    metered_gateway: RunningGateway, tenant: SeededTenant, upstream: FakeUpstream
) -> None:
    from tests.metering.test_metrics_wiring import sample

    create_group(metered_gateway, tenant, "counted", "gpt-4o", "claude-haiku-4-5")
    failed = {"provider": "openai", "outcome": "unavailable"}
    served = {"provider": "anthropic", "outcome": "ok"}
    before = (sample(metered_gateway, "modelgate_upstream_attempts_total", **failed),
              sample(metered_gateway, "modelgate_upstream_attempts_total", **served))
    upstream.next(failing(500))
    assert chat(metered_gateway, tenant, "counted").status_code == 200
    usage_events(metered_gateway, tenant, 1)  # the call's own attempt is counted with its event
    after = (sample(metered_gateway, "modelgate_upstream_attempts_total", **failed),
             sample(metered_gateway, "modelgate_upstream_attempts_total", **served))
    assert after == (before[0] + 1, before[1] + 1)
