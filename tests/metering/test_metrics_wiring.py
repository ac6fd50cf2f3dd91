"""The chat path feeds /metrics: one scrape after real calls through the gateway
shows the requests, the upstream attempts by outcome and the 429s by reason.

The metric families are the process's, shared with every other test that runs a
gateway in this process, so each assertion is on the change a call made."""

from __future__ import annotations

import re

import httpx

from tests.fakes.upstream import FakeUpstream, json_script
from tests.metering.outcome_harness import (  # noqa: F401  (fixtures)
    MESSAGES,
    MODELS,
    Reported,
    answer,
    fake,
    metered_gateway,
    upstream,
)
from tests.support import RunningGateway, SeededTenant


def sample(gw: RunningGateway, name: str, **labels: str) -> float:
    """The value of one sample of ``name`` with exactly these labels (0 if absent)."""
    text = httpx.get(f"{gw.url}/metrics", timeout=10).text
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(r"(\w+)\{(.*)\} (\S+)", line)
        if match and match[1] == name:
            found = ",".join(sorted(match[2].split(",")))
            if found == wanted:
                return float(match[3])
    return 0.0


def call(gw: RunningGateway, tenant: SeededTenant, model: str) -> httpx.Response:
    return httpx.post(
        f"{gw.url}/v1/chat/completions", headers=tenant.headers("write"), timeout=30,
        json={"model": model, "messages": MESSAGES},
    )


def test_calls_are_counted_by_status_outcome_and_reason(
    metered_gateway: RunningGateway, upstream: FakeUpstream, tenant: SeededTenant
) -> None:
    ok = dict(provider="openai", outcome="ok")
    limited = dict(provider="openai", outcome="rate_limited")
    before = {
        "ok": sample(metered_gateway, "modelgate_upstream_attempts_total", **ok),
        "limited": sample(metered_gateway, "modelgate_upstream_attempts_total", **limited),
        "upstream_429": sample(metered_gateway, "modelgate_rate_limited_total", reason="upstream"),
        "status_200": sample(metered_gateway, "modelgate_requests_total", status="200"),
        "status_404": sample(metered_gateway, "modelgate_requests_total", status="404"),
    }

    upstream.next(answer("openai", Reported(12, 3)))
    assert call(metered_gateway, tenant, MODELS["openai"]).status_code == 200
    upstream.next(json_script({"error": {"message": "slow down"}}, 429))
    assert call(metered_gateway, tenant, MODELS["openai"]).status_code == 429
    assert call(metered_gateway, tenant, "no-such-model-anywhere").status_code == 404

    assert sample(metered_gateway, "modelgate_upstream_attempts_total", **ok) == before["ok"] + 1
    assert (
        sample(metered_gateway, "modelgate_upstream_attempts_total", **limited)
        == before["limited"] + 1
    )
    assert (
        sample(metered_gateway, "modelgate_rate_limited_total", reason="upstream")
        == before["upstream_429"] + 1
    )
    assert (
        sample(metered_gateway, "modelgate_requests_total", status="200") == before["status_200"] + 1
    )
    # A call refused before any provider is a request, never an upstream attempt.
    assert (
        sample(metered_gateway, "modelgate_requests_total", status="404") == before["status_404"] + 1
    )
