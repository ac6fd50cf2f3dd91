"""A group call and the tenant's limits (routing/admission.py): admitted once,
however many members it tries; its reservation settles to the member that
answered, and a failed attempt's share comes back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from modelgate.db import session_factory
from modelgate.limits import service
from modelgate.metering.events import NANO
from tests.fakes.upstream import FakeUpstream, json_script
from tests.metering.outcome_harness import decimal_json, gateway_settings, usage_events
from tests.routing.conftest import chat, create_group
from tests.support import RunningGateway, SeededTenant, run_gateway


@pytest.fixture(scope="module")
def limited_gateway(database_url: str, fake: FakeUpstream) -> Iterator[RunningGateway]:
    # key_cache_ttl=0: every call reads the limits the test has just stored.
    with run_gateway(database_url=database_url, key_cache_ttl=0,
                     **gateway_settings(fake.url)) as gw:
        yield gw


async def set_limits(engine: AsyncEngine, tenant_id: str, **figures: Any) -> None:
    async with session_factory(engine)() as session, session.begin():
        await service.set_limits(session, tenant_id, **figures)


def failing() -> Any:
    return json_script({"error": {"message": "down"}}, 500)


async def test_a_group_call_counts_once_against_rpm(
    limited_gateway: RunningGateway, upstream: FakeUpstream, clean_engine: AsyncEngine,
    tenant: SeededTenant,
) -> None:
    create_group(limited_gateway, tenant, "pair", "gpt-4o", "gpt-4o-mini")
    await set_limits(clean_engine, tenant.id, rpm=3)
    answers = []
    for _ in range(4):
        upstream.next(failing())  # every call fails over: two attempts each
        answers.append(chat(limited_gateway, tenant, "pair"))
    assert [a.status_code for a in answers] == [200, 200, 200, 429], answers[-1].text
    assert [a.headers["ic-attempts"] for a in answers[:3]] == ["2", "2", "2"]
    assert [a.headers["x-ratelimit-remaining-requests"] for a in answers[:3]] == ["2", "1", "0"]
    assert answers[-1].json()["error"]["code"] == "rate_limit_exceeded"


async def test_a_failed_attempts_reservation_comes_back(
    limited_gateway: RunningGateway, upstream: FakeUpstream, clean_engine: AsyncEngine,
    tenant: SeededTenant,
) -> None:
    create_group(limited_gateway, tenant, "pair", "gpt-4o", "gpt-4o-mini")
    await set_limits(clean_engine, tenant.id, monthly_credits=Decimal(50))
    upstream.next(failing())
    response = chat(limited_gateway, tenant, "pair", max_tokens=100)
    assert response.status_code == 200 and response.headers["ic-model"] == "gpt-4o-mini"
    [event] = usage_events(limited_gateway, tenant, 1)
    assert event["base_model"] == "gpt-4o-mini" and event["credits"] > 0
    deadline = time.monotonic() + 10
    while True:
        shown = decimal_json(httpx.get(f"{limited_gateway.url}/v1/tenant/limits",
                                       headers=tenant.headers("read")))
        if shown["credits_reserved"] == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    # Nothing is left reserved, and only the member that answered was charged.
    assert shown["credits_reserved"] == 0
    assert int(Decimal(shown["credits_used"]) * NANO) == int(Decimal(event["credits"]) * NANO)
