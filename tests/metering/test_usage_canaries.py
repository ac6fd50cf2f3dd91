"""Secret canaries through metering: real chat calls made with canary keys and
tokens, on both databases, then the usage tables (every row, as a dump would
show it), the usage API's answers and the ``/metrics`` scrape are searched for
them (issue 13, item 6).

The keys match no secret-looking pattern (no ``sk-``), so the log redactor
cannot hide a leak: only the metering code's never touching them can. The
session-wide scan (tests/canaries.py) sees these rows and responses too; this
test checks at once, with controls that show the places searched are not empty.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from modelgate.metering.models import UsageDaily, UsageEventRow
from modelgate.tenants.tokens import token_prefix
from tests import canaries
from tests.fakes.upstream import FakeUpstream, Script, json_script
from tests.metering.outcome_harness import (  # noqa: F401 - fixtures
    MESSAGES,
    SSE,
    Reported,
    answer,
    fake,
    gateway_settings,
    stream,
    stream_events,
    upstream,
    usage_events,
)
from tests.support import RunningGateway, SeededTenant, run_gateway

HOSTED = "hosted-metering-canary-" + secrets.token_hex(16)
BYOK = "byok-metering-canary-" + secrets.token_hex(16)
# Not secrets (the event keeps them, rightly), but tenant data: never in /metrics.
REQUEST_ID = "req-metering-marker-" + secrets.token_hex(8)
UNKNOWN_MODEL = "model-marker-" + secrets.token_hex(8)


@pytest.fixture(scope="module")
def canary_gateway(database_url: str, fake: FakeUpstream) -> Iterator[RunningGateway]:
    settings = {**gateway_settings(fake.url), "anthropic_api_key": HOSTED}
    with run_gateway(database_url=database_url, **settings) as gw:
        yield gw


async def test_no_secret_reaches_the_usage_tables_or_metrics(
    canary_gateway: RunningGateway, upstream: FakeUpstream, tenant: SeededTenant,
    clean_engine: AsyncEngine,
) -> None:
    canaries.register(HOSTED, BYOK)
    gw, write = canary_gateway, tenant.headers("write")
    put = httpx.put(
        f"{gw.url}/v1/tenant/model_keys/openai",
        json={"api_key": BYOK, "base_url": f"{upstream.url}/v1"}, headers=tenant.headers(),
    )
    assert put.status_code == 200
    claude = {"model": "claude-haiku-4-5", "messages": MESSAGES}
    gpt = {"model": "gpt-4o", "messages": MESSAGES}
    upstream.next(
        answer("anthropic", Reported(30, 5)),
        stream("anthropic", Reported(30, 5)),
        # Errors that echo the key back: the event keeps the status, not the text.
        json_script({"type": "error", "error": {"type": "authentication_error",
                                                "message": f"invalid x-api-key: {HOSTED}"}}, 401),
        answer("openai", Reported(30, 5)),
        json_script({"error": {"message": f"Incorrect API key provided: {BYOK}"}}, 401),
        Script(chunks=stream_events("openai", None), cut=True, content_type=SSE),  # estimated
    )
    calls = [
        (claude, 200), ({**claude, "stream": True}, 200), (claude, 401),
        (gpt, 200), (gpt, 401), ({**gpt, "stream": True}, 200),
        ({"model": UNKNOWN_MODEL, "messages": MESSAGES}, 404),
    ]
    with httpx.Client(base_url=gw.url, timeout=30) as http:
        for body, status in calls:
            response = http.post("/v1/chat/completions", json=body,
                                 headers={**write, "X-Request-Id": REQUEST_ID})
            assert response.status_code == status, response.text
    assert upstream.requests[0].headers["x-api-key"] == HOSTED  # the canaries were really used
    assert upstream.requests[3].headers["authorization"] == f"Bearer {BYOK}"

    events = usage_events(gw, tenant, len(calls))
    async with clean_engine.connect() as connection:
        rows = [repr(tuple(row)) for table in (UsageEventRow.__table__, UsageDaily.__table__)
                for row in (await connection.execute(table.select())).all()]
    api = httpx.get(f"{gw.url}/v1/tenant/usage", params={"group_by": "model,provider,source,token"},
                    headers=tenant.headers()).text
    metrics = httpx.get(f"{gw.url}/metrics").text

    # Controls: each place searched holds what these calls left there.
    assert len(rows) >= len(calls) and any(REQUEST_ID in row for row in rows)
    assert any(token_prefix(tenant.tokens["write"]) in row for row in rows)
    assert {e["usage_source"] for e in events} == {"provider", "none", "estimated"}
    assert 'gen_ai_provider_name="anthropic"' in metrics and "gen_ai_client_token_usage" in metrics
    searched = {"rows": "\n".join(rows), "usage api": api, "metrics": metrics}
    hits = {where: canaries.hits_in(text) for where, text in searched.items()}
    assert hits == {"rows": [], "usage api": [], "metrics": []}, hits
    # /metrics names no tenant, token, request or tenant-chosen model (CONTRACT-2).
    for value in (tenant.id, token_prefix(tenant.tokens["write"]), REQUEST_ID, UNKNOWN_MODEL,
                  *tenant.tokens.values()):
        assert value not in metrics, value
