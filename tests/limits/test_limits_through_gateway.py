"""The limits on the real chat path (CONTRACT-2, "Limits and budgets"), on both databases.

A real gateway (tests/support.py, in-process engine: no Redis) in front of the
loopback fake; the operator's limits are stored with the real service, and the
gateway reads them afresh on every call (``key_cache_ttl=0``). What is checked
is what a client and the provider see: the 429s and their headers, the
``x-ratelimit-*`` headers, how many requests reached the upstream, and that the
month's credits equal the usage events' credits once the calls are settled.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from modelgate.catalog import load_catalog
from modelgate.db import session_factory
from modelgate.limits import service
from modelgate.limits.gate import BYTES_PER_TOKEN
from modelgate.metering.events import NANO
from modelgate.metering.pricing import worst_case_credits
from tests.fakes.upstream import FakeUpstream
from tests.metering.outcome_harness import (  # noqa: F401 (fixtures)
    decimal_json,
    fake,
    gateway_settings,
    upstream,
    usage_events,
)
from tests.support import RunningGateway, SeededTenant, run_gateway, seed_tenant

MODEL = "gpt-4o"
MAX_TOKENS = 1000
MARGIN = Decimal("1.4")  # the default credit_margin
BODY = orjson.dumps({
    "model": MODEL, "max_tokens": MAX_TOKENS,
    "messages": [{"role": "user", "content": "Say hello, within limits."}],
})
# The reservation the gate takes for BODY on a hosted key (limits/gate.py's rules).
WORST_CASE_N = worst_case_credits(
    load_catalog().get(MODEL), -(-len(BODY) // BYTES_PER_TOKEN), MAX_TOKENS, MARGIN
)
RATE_HEADERS = [
    f"x-ratelimit-{kind}-{name}"
    for kind in ("limit", "remaining", "reset") for name in ("requests", "tokens")
]


@pytest.fixture(scope="module")
def limited_gateway(database_url: str, fake: FakeUpstream) -> Iterator[RunningGateway]:  # noqa: F811
    # key_cache_ttl=0: every call reads the limits the test has just stored.
    with run_gateway(database_url=database_url, key_cache_ttl=0, **gateway_settings(fake.url)) as gw:
        yield gw


@pytest.fixture
async def seeded(clean_engine: AsyncEngine) -> SeededTenant:
    # Named apart from tests/limits/conftest.py's `tenant` (a bare id for engine tests).
    return await seed_tenant(clean_engine)


async def set_limits(engine: AsyncEngine, tenant_id: str, **figures: Any) -> None:
    async with session_factory(engine)() as session, session.begin():
        await service.set_limits(session, tenant_id, **figures)


def chat(gw: RunningGateway, tenant: SeededTenant) -> httpx.Response:
    return httpx.post(
        f"{gw.url}/v1/chat/completions", content=BODY, timeout=30,
        headers={**tenant.headers("write"), "content-type": "application/json"},
    )


def error_code(response: httpx.Response) -> str:
    return response.json()["error"]["code"]


def tenant_limits(gw: RunningGateway, tenant: SeededTenant) -> dict[str, Any]:
    return decimal_json(httpx.get(f"{gw.url}/v1/tenant/limits", headers=tenant.headers("read")))


def nano(credits: Decimal | int) -> int:
    return int(Decimal(credits) * NANO)


async def test_over_rpm_is_a_429_that_never_reaches_the_upstream(
    limited_gateway: RunningGateway, upstream: FakeUpstream, clean_engine: AsyncEngine,  # noqa: F811
    seeded: SeededTenant,
) -> None:
    await set_limits(clean_engine, seeded.id, rpm=3)
    answers = [chat(limited_gateway, seeded) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429], answers[-1].text
    refused = answers[-1]
    assert refused.json()["error"]["type"] == "rate_limit_error"
    assert error_code(refused) == "rate_limit_exceeded"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-should-retry"] == "true"
    assert len(upstream.requests) == 3  # the refused call was never sent
    # Each admitted answer counts down what is left of the minute.
    assert [a.headers["x-ratelimit-remaining-requests"] for a in answers[:3]] == ["2", "1", "0"]


async def test_the_ratelimit_headers_are_only_for_a_tenant_with_limits(
    limited_gateway: RunningGateway, upstream: FakeUpstream, clean_engine: AsyncEngine,  # noqa: F811
    seeded: SeededTenant,
) -> None:
    free = chat(limited_gateway, seeded)
    assert free.status_code == 200, free.text
    assert not [h for h in free.headers if h.startswith("x-ratelimit-")]
    await set_limits(clean_engine, seeded.id, rpm=600, tpm=200_000)
    limited = chat(limited_gateway, seeded)
    assert limited.status_code == 200, limited.text
    assert {h: limited.headers.get(h) is not None for h in RATE_HEADERS} == dict.fromkeys(
        RATE_HEADERS, True
    )
    assert limited.headers["x-ratelimit-limit-requests"] == "600"
    assert limited.headers["x-ratelimit-limit-tokens"] == "200000"
    assert int(limited.headers["x-ratelimit-remaining-tokens"]) <= 200_000 - MAX_TOKENS


async def test_a_hosted_call_whose_worst_case_does_not_fit_is_insufficient_quota(
    limited_gateway: RunningGateway, upstream: FakeUpstream, clean_engine: AsyncEngine,  # noqa: F811
    seeded: SeededTenant,
) -> None:
    # One nano-credit short of the call's worst case: refused before the upstream.
    await set_limits(clean_engine, seeded.id, monthly_credits=Decimal(WORST_CASE_N - 1) / NANO)
    refused = chat(limited_gateway, seeded)
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["type"] == "insufficient_quota"
    assert error_code(refused) == "insufficient_quota"
    assert refused.headers["x-should-retry"] == "false"
    assert upstream.requests == []
    # Exactly the worst case fits.
    await set_limits(clean_engine, seeded.id, monthly_credits=Decimal(WORST_CASE_N) / NANO)
    admitted = chat(limited_gateway, seeded)
    assert admitted.status_code == 200, admitted.text
    assert len(upstream.requests) == 1


async def test_byok_calls_are_not_counted_against_credits(
    limited_gateway: RunningGateway, upstream: FakeUpstream, clean_engine: AsyncEngine,  # noqa: F811
    seeded: SeededTenant,
) -> None:
    await set_limits(clean_engine, seeded.id, monthly_credits=Decimal("0.000000001"))
    assert error_code(chat(limited_gateway, seeded)) == "insufficient_quota"  # hosted: refused
    put = httpx.put(
        f"{limited_gateway.url}/v1/tenant/model_keys/openai",
        json={"api_key": "sk-byok-limits-tenant-0123456789", "base_url": f"{upstream.url}/v1"},
        headers=seeded.headers("admin"),
    )
    assert put.status_code == 200, put.text
    answers = [chat(limited_gateway, seeded) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200], answers[-1].text
    assert upstream.last.headers["authorization"] == "Bearer sk-byok-limits-tenant-0123456789"
    events = usage_events(limited_gateway, seeded, 4)
    assert sorted((e["source"], e["status"]) for e in events) == [
        ("byok", 200), ("byok", 200), ("byok", 200), ("hosted", 429),
    ]
    shown = tenant_limits(limited_gateway, seeded)
    assert (shown["credits_used"], shown["credits_reserved"]) == (0, 0)


async def test_credits_used_is_the_sum_of_the_usage_events(
    limited_gateway: RunningGateway, upstream: FakeUpstream, clean_engine: AsyncEngine,  # noqa: F811
    seeded: SeededTenant,
) -> None:
    await set_limits(clean_engine, seeded.id, monthly_credits=Decimal(100))
    answers = [chat(limited_gateway, seeded) for _ in range(5)]
    assert {a.status_code for a in answers} == {200}
    events = usage_events(limited_gateway, seeded, 5)
    spent_n = sum(nano(e["credits"]) for e in events)
    assert spent_n > 0  # priced hosted calls: the sum is no trivial 0 == 0
    deadline = time.monotonic() + 5
    shown = tenant_limits(limited_gateway, seeded)
    while shown["credits_reserved"] != 0 and time.monotonic() < deadline:
        time.sleep(0.05)  # the settlements run just after each event
        shown = tenant_limits(limited_gateway, seeded)
    assert nano(shown["credits_used"]) == spent_n
    assert shown["credits_reserved"] == 0
    assert nano(shown["monthly_credits"]) == 100 * NANO
