"""GET /v1/tenant/usage and /v1/tenant/usage/events through the real app, on both
databases: hand-computed aggregates, group_by, paging, filters, 422s, isolation
between tenants, and the admin scope."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from modelgate.metering.batch_write import write_batch
from modelgate.metering.events import UsageEvent
from modelgate.metering.partitions import month_of, prepare_months
from tests.foundation.test_http import assert_error
from tests.metering.usage_helpers import make_event
from tests.support import RunningGateway, SeededTenant

USAGE = "/v1/tenant/usage"
EVENTS = "/v1/tenant/usage/events"
MARCH = {"start": "2026-03-01", "end": "2026-03-31"}
TOK_A, TOK_B = "mg_tokaaaaaa", "mg_tokbbbbbb"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def store(engine: AsyncEngine, events: list[UsageEvent]) -> None:
    async with engine.begin() as connection:
        await prepare_months(
            connection, {month_of(e.created_at) for e in events},
            now=datetime.now(UTC), retention_months=0,
        )
    async with engine.begin() as connection:
        await write_batch(connection, events)


def march_events(tenant_id: str) -> list[UsageEvent]:
    return [
        make_event(tenant_id, created_at=at("2026-03-01T10:00:00"), token_prefix=TOK_A,
                   input_tokens=100, output_tokens=50, cached_input_tokens=20,
                   cost_nusd=1_234, credits_n=1_728),
        make_event(tenant_id, created_at=at("2026-03-01T23:59:59"), model="claude-sonnet",
                   provider="anthropic", source="byok", token_prefix=TOK_B, status=502,
                   input_tokens=10, output_tokens=0, cost_nusd=None, credits_n=0),
        make_event(tenant_id, created_at=at("2026-03-02T00:00:00"), token_prefix=TOK_B,
                   status=499, input_tokens=30, output_tokens=7, reasoning_tokens=5,
                   cost_nusd=2_000_000_000, credits_n=2_800_000_000, stream=True, ttft_ms=80),
        make_event(tenant_id, created_at=at("2026-03-31T12:00:00"), base_model=None,
                   provider=None, source=None, token_prefix=TOK_A, status=404,
                   input_tokens=0, output_tokens=0, usage_source="none", cost_nusd=None,
                   credits_n=0),
        # The next day, past the range.
        make_event(tenant_id, created_at=at("2026-04-01T00:00:00"), input_tokens=1000),
    ]


def decimal_json(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    return json.loads(response.text, parse_float=Decimal)


def figures(requests, errors, inp, out, cached, reasoning, cost, credits) -> dict:  # type: ignore[no-untyped-def]
    return {
        "requests": requests, "errors": errors, "input_tokens": inp, "output_tokens": out,
        "cached_input_tokens": cached, "reasoning_tokens": reasoning,
        "cost_usd": Decimal(cost), "credits": Decimal(credits),
    }


@pytest.fixture
async def seeded(
    clean_engine: AsyncEngine, tenant: SeededTenant, other_tenant: SeededTenant
) -> tuple[list[UsageEvent], list[UsageEvent]]:
    mine = march_events(tenant.id)
    theirs = [
        make_event(other_tenant.id, created_at=at("2026-03-01T11:00:00"), input_tokens=9_999,
                   model="claude-sonnet", provider="anthropic", cost_nusd=7_000_000_000),
        make_event(other_tenant.id, created_at=at("2026-03-15T11:00:00"), status=500),
    ]
    await store(clean_engine, mine + theirs)
    return mine, theirs


async def test_aggregates_by_day_with_exact_money(
    gateway: RunningGateway, tenant: SeededTenant, seeded: tuple
) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, headers=tenant.headers()) as client:
        response = await client.get(USAGE, params=MARCH)
    body = decimal_json(response)
    assert body["data"] == [
        {"day": "2026-03-01", **figures(2, 1, 110, 50, 20, 0, "0.000001234", "0.000001728")},
        {"day": "2026-03-02", **figures(1, 1, 30, 7, 0, 5, "2", "2.8")},
        {"day": "2026-03-31", **figures(1, 1, 0, 0, 0, 0, "0", "0")},
    ]
    assert body["totals"] == figures(4, 3, 140, 57, 20, 5, "2.000001234", "2.800001728")
    # JSON numbers written from the Decimal: no float noise, no strings.
    assert '"cost_usd":2.000001234' in response.text and '"credits":2.800001728' in response.text


async def test_group_by_combinations(
    gateway: RunningGateway, tenant: SeededTenant, seeded: tuple
) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, headers=tenant.headers()) as client:
        by_model = decimal_json(await client.get(USAGE, params={**MARCH, "group_by": "model,provider"}))
        by_source = decimal_json(await client.get(USAGE, params={**MARCH, "group_by": "source, token"}))
        april = decimal_json(await client.get(
            USAGE, params={"start": "2026-04-01", "end": "2026-04-01", "group_by": "day,model"}
        ))
    assert by_model["data"] == [
        {"model": "claude-sonnet", "provider": "anthropic", **figures(1, 1, 10, 0, 0, 0, "0", "0")},
        {"model": "gpt-4o-mini", "provider": None, **figures(1, 1, 0, 0, 0, 0, "0", "0")},
        {"model": "gpt-4o-mini", "provider": "openai",
         **figures(2, 1, 130, 57, 20, 5, "2.000001234", "2.800001728")},
    ]
    assert by_source["data"] == [
        {"source": None, "token": TOK_A, **figures(1, 1, 0, 0, 0, 0, "0", "0")},
        {"source": "byok", "token": TOK_B, **figures(1, 1, 10, 0, 0, 0, "0", "0")},
        {"source": "hosted", "token": TOK_A, **figures(1, 0, 100, 50, 20, 0, "0.000001234", "0.000001728")},
        {"source": "hosted", "token": TOK_B, **figures(1, 1, 30, 7, 0, 5, "2", "2.8")},
    ]
    assert april["data"] == [
        {"day": "2026-04-01", "model": "gpt-4o-mini", **figures(1, 0, 1000, 20, 0, 0, "0.0000015", "0.0000021")}
    ]
    assert by_model["totals"] == by_source["totals"]


async def test_default_range_is_this_month_so_far(
    gateway: RunningGateway, tenant: SeededTenant, clean_engine: AsyncEngine
) -> None:
    now = datetime.now(UTC)
    await store(clean_engine, [
        make_event(tenant.id, created_at=now, input_tokens=7),
        make_event(tenant.id, created_at=now - timedelta(days=40), input_tokens=1000),
    ])
    async with httpx.AsyncClient(base_url=gateway.url, headers=tenant.headers()) as client:
        body = decimal_json(await client.get(USAGE))
    assert body["data"] == [{"day": now.date().isoformat(), **figures(1, 0, 7, 20, 0, 0, "0.0000015", "0.0000021")}]


async def test_events_are_paged_newest_first_and_filtered(
    gateway: RunningGateway, tenant: SeededTenant, seeded: tuple
) -> None:
    mine, _ = seeded
    newest_first = [e.id for e in reversed(mine)]
    async with httpx.AsyncClient(base_url=gateway.url, headers=tenant.headers()) as client:
        ids, after, pages = [], None, []
        while True:
            params = {"limit": 2, **({"after": after} if after else {})}
            page = decimal_json(await client.get(EVENTS, params=params))
            pages.append((len(page["data"]), page["has_more"]))
            ids += [e["id"] for e in page["data"]]
            if not page["has_more"]:
                break
            after = page["data"][-1]["id"]
        assert ids == newest_first and pages == [(2, True), (2, True), (1, False)]
        everything = decimal_json(await client.get(EVENTS))["data"]
        claude = decimal_json(await client.get(EVENTS, params={"model": "claude-sonnet"}))["data"]
        openai = decimal_json(await client.get(EVENTS, params={"provider": "openai"}))["data"]
        left = decimal_json(await client.get(EVENTS, params={"status": 499}))["data"]
    assert [e["id"] for e in claude] == [mine[1].id] and claude[0]["cost_usd"] is None
    assert [e["id"] for e in openai] == [mine[4].id, mine[2].id, mine[0].id]
    assert [e["id"] for e in left] == [mine[2].id]
    first = everything[-1]
    assert first == {
        "id": mine[0].id, "request_id": mine[0].request_id, "created_at": "2026-03-01T10:00:00+00:00",
        "model": "gpt-4o-mini", "base_model": "gpt-4o-mini", "provider": "openai",
        "source": "hosted", "token_prefix": TOK_A, "endpoint": "chat", "stream": False,
        "status": 200, "input_tokens": 100, "output_tokens": 50, "cached_input_tokens": 20,
        "reasoning_tokens": 0, "usage_source": "provider", "cost_usd": Decimal("0.000001234"),
        "credits": Decimal("0.000001728"), "latency_ms": 120, "ttft_ms": None, "attempts": 1,
    }
    assert "tenant_id" not in everything[0]


async def test_tenants_see_only_their_own_usage(
    gateway: RunningGateway, tenant: SeededTenant, other_tenant: SeededTenant, seeded: tuple
) -> None:
    mine, theirs = seeded
    async with httpx.AsyncClient(base_url=gateway.url, headers=tenant.headers()) as client:
        # Their newest id as my cursor: my older events, nothing of theirs.
        crossed = decimal_json(await client.get(EVENTS, params={"after": theirs[-1].id}))
        answers = [
            crossed,
            decimal_json(await client.get(EVENTS, params={"limit": 100})),
            decimal_json(await client.get(USAGE, params={**MARCH, "group_by": "token,model"})),
        ]
    assert [e["id"] for e in crossed["data"]] == [mine[2].id, mine[1].id, mine[0].id]  # before 03-15
    text = json.dumps(answers, default=str)
    assert not any(e.id in text for e in theirs) and "9999" not in text and "7.0" not in text
    async with httpx.AsyncClient(base_url=gateway.url, headers=other_tenant.headers()) as client:
        body = decimal_json(await client.get(USAGE, params=MARCH))
    assert body["totals"]["requests"] == 2 and body["totals"]["cost_usd"] == Decimal("7.0000015")


async def test_bad_queries_are_422_and_non_admins_403(
    gateway: RunningGateway, tenant: SeededTenant
) -> None:
    bad_usage = [
        {"start": "2026-13-01"}, {"start": "yesterday"}, {"end": "2026-02-30"},
        {"start": "2026-03-02", "end": "2026-03-01"},
        {"start": "2025-01-01", "end": "2026-01-02"},  # 367 days
        {"group_by": "week"}, {"group_by": ""}, {"group_by": "day,,model"}, {"start": "0"},
    ]
    bad_events = [
        {"limit": 0}, {"limit": 101}, {"limit": "many"}, {"after": "ue_zz"},
        {"after": "1' OR '1'='1"}, {"status": "ok"}, {"status": 1000},
    ]
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        for params in bad_usage:
            assert_error(await client.get(USAGE, params=params, headers=tenant.headers()), 422, "validation_error")
        for params in bad_events:
            assert_error(await client.get(EVENTS, params=params, headers=tenant.headers()), 422, "validation_error")
        # 366 days is allowed (a leap year, inclusive).
        ok = await client.get(USAGE, params={"start": "2028-01-01", "end": "2028-12-31"}, headers=tenant.headers())
        assert ok.status_code == 200
        for path in (USAGE, EVENTS):
            for which in ("read", "write"):
                assert_error(await client.get(path, headers=tenant.headers(which)), 403, "insufficient_scope")
            assert_error(await client.get(path), 401, "invalid_token")
