"""GET /v1/tenant/limits: the tenant's own limits and month, read-only, on both databases.

A real gateway (tests/support.py) reads what the real service stored; the
month's credits come from usage written by the real batch writer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from modelgate.db import session_factory
from modelgate.limits import service
from modelgate.limits.local import LocalLimits
from modelgate.limits.types import TenantLimits
from tests.limits.test_limits_storage import store_usage
from tests.metering.usage_helpers import make_event
from tests.support import RunningGateway, SeededTenant, run_gateway, seed_tenant

LIMITS = "/v1/tenant/limits"


# Named apart from tests/limits/conftest.py's `tenant` (a bare id for the engine tests).
@pytest.fixture
async def seeded(clean_engine: AsyncEngine) -> SeededTenant:
    return await seed_tenant(clean_engine)


@pytest.fixture
async def neighbour(clean_engine: AsyncEngine) -> SeededTenant:
    return await seed_tenant(clean_engine)


def this_month() -> str:
    return datetime.now(UTC).date().replace(day=1).isoformat()


async def set_limits(engine: AsyncEngine, tenant_id: str, **figures) -> None:
    async with session_factory(engine)() as session, session.begin():
        await service.set_limits(session, tenant_id, **figures)


async def test_the_tenant_sees_its_limits_and_credits_as_exact_decimals(
    gateway: RunningGateway, clean_engine: AsyncEngine, seeded: SeededTenant
) -> None:
    await set_limits(
        clean_engine, seeded.id, rpm=600, tpm=200_000, concurrency=20,
        monthly_credits=Decimal("50.000000001"),
    )
    now = datetime.now(UTC)
    await store_usage(clean_engine, [
        make_event(seeded.id, created_at=now, credits_n=12_340_000_000),
        make_event(seeded.id, created_at=now, credits_n=1),
        make_event(seeded.id, created_at=now, source="byok", credits_n=0),
    ])
    answer = httpx.get(f"{gateway.url}{LIMITS}", headers=seeded.headers("read"))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "rpm": 600, "tpm": 200_000, "concurrency": 20, "monthly_credits": 50.000000001,
        "credits_used": 12.340000001, "credits_reserved": 0, "period_start": this_month(),
    }
    # Written from the exact decimal: no float ever rounded the nano-credit away.
    assert '"monthly_credits":50.000000001' in answer.text
    assert '"credits_used":12.340000001' in answer.text


async def test_unlimited_figures_are_null(
    gateway: RunningGateway, clean_engine: AsyncEngine, seeded: SeededTenant
) -> None:
    url = f"{gateway.url}{LIMITS}"
    expected = {
        "rpm": None, "tpm": None, "concurrency": None, "monthly_credits": None,
        "credits_used": 0, "credits_reserved": 0, "period_start": this_month(),
    }
    assert httpx.get(url, headers=seeded.headers("read")).json() == expected  # never set
    await set_limits(clean_engine, seeded.id, tpm=1000)
    await set_limits(clean_engine, seeded.id, clear=True)
    assert httpx.get(url, headers=seeded.headers("admin")).json() == expected  # cleared


async def test_each_tenant_sees_only_its_own(
    gateway: RunningGateway, clean_engine: AsyncEngine,
    seeded: SeededTenant, neighbour: SeededTenant,
) -> None:
    await set_limits(clean_engine, seeded.id, rpm=11, monthly_credits=Decimal(111))
    await set_limits(clean_engine, neighbour.id, rpm=22)
    await store_usage(clean_engine, [
        make_event(seeded.id, created_at=datetime.now(UTC), credits_n=5_000_000_000),
    ])
    mine = httpx.get(f"{gateway.url}{LIMITS}", headers=seeded.headers("read")).json()
    theirs = httpx.get(f"{gateway.url}{LIMITS}", headers=neighbour.headers("read")).json()
    assert (mine["rpm"], mine["monthly_credits"], mine["credits_used"]) == (11, 111, 5)
    assert (theirs["rpm"], theirs["monthly_credits"], theirs["credits_used"]) == (22, None, 0)


async def test_the_route_needs_runs_read(gateway: RunningGateway, seeded: SeededTenant) -> None:
    url = f"{gateway.url}{LIMITS}"
    refused = httpx.get(url, headers=seeded.headers("write"))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "insufficient_scope"
    assert httpx.get(url).status_code == 401


@pytest.mark.parametrize("method", ["PUT", "PATCH", "POST", "DELETE"])
async def test_a_tenant_cannot_change_its_limits(
    gateway: RunningGateway, clean_engine: AsyncEngine, seeded: SeededTenant, method: str
) -> None:
    await set_limits(clean_engine, seeded.id, rpm=5)
    answer = httpx.request(
        method, f"{gateway.url}{LIMITS}", json={"rpm": 0, "monthly_credits": None},
        headers=seeded.headers("admin"),
    )
    assert answer.status_code == 405
    assert answer.json()["error"]["code"] == "method_not_allowed"
    async with session_factory(clean_engine)() as session:
        assert (await service.get_limits(session, seeded.id)).rpm == 5


async def test_with_a_limits_engine_its_month_and_reservations_are_shown(
    database_url: str, clean_engine: AsyncEngine, seeded: SeededTenant
) -> None:
    """The engine counts what the database does not have yet: credits settled in the
    last seconds and the reservations of calls in flight."""
    await set_limits(clean_engine, seeded.id, monthly_credits=Decimal(100))
    now = datetime.now(UTC)
    await store_usage(
        clean_engine, [make_event(seeded.id, created_at=now, credits_n=2_000_000_000)]
    )
    # The real in-process engine, seeded from the database as the app's will be.
    seed = service.month_seed(session_factory(clean_engine))
    engine = LocalLimits(reservation_ttl=900, seed=seed)
    budget = TenantLimits(monthly_credits_n=100 * 10**9)
    done = await engine.admit(seeded.id, budget, request_id="r-done", tokens=10,
                              credits_n=500_000_000, hosted=True, now=now)
    await engine.admit(seeded.id, budget, request_id="r-flying", tokens=10,
                       credits_n=250_000_000, hosted=True, now=now)
    await engine.settle(done, tokens=10, credits_n=100_000_001)
    with run_gateway(database_url=database_url) as gw:
        gw.gateway.limits = engine  # the attribute the lifespan gives the gateway
        answer = httpx.get(f"{gw.url}{LIMITS}", headers=seeded.headers("read"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["monthly_credits"], body["period_start"]) == (100, this_month())
    assert '"credits_used":2.100000001' in answer.text  # 2 from the database + 0.100000001 settled
    assert '"credits_reserved":0.25' in answer.text
