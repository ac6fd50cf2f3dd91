"""A monthly budget cannot be overshot by concurrent calls across replicas (issue 14, item 2).

Three ``modelgate serve`` processes on one PostgreSQL database and one throwaway
Redis (``MODELGATE_REDIS_URL``); a tenant with a hosted key on a priced model
and a budget of exactly 10 worst-case calls; an upstream that takes 1.5 s, so
every admitted call is still in flight when the others arrive. 50 calls at
once, spread over the three: exactly 10 are answered and 40 are refused
``insufficient_quota``, only 10 reach the upstream, and once settled the
month's credits equal the sum of the usage events' credits, with nothing left
reserved, as every replica reports it.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from modelgate.catalog import load_catalog
from modelgate.db import session_factory
from modelgate.limits import service
from modelgate.limits.gate import BYTES_PER_TOKEN
from modelgate.metering.events import NANO
from modelgate.metering.models import UsageEventRow
from modelgate.metering.pricing import worst_case_credits
from tests.fakes.upstream import FakeUpstream, Script, json_script, openai_answer, run_fake_upstream
from tests.limits.redis_server import RedisServer, redis_server  # noqa: F401 (fixture)
from tests.metering.serve_harness import Served, serve
from tests.support import SeededTenant, seed_tenant

MODEL = "gpt-4o"
MAX_TOKENS = 500
MARGIN = Decimal("1.4")  # the default credit_margin
BODY = orjson.dumps({
    "model": MODEL, "max_tokens": MAX_TOKENS,
    "messages": [{"role": "user", "content": "One call of fifty, on a budget of ten."}],
})
# What the gate reserves for BODY (limits/gate.py: input = ceil(bytes / 4), output = max_tokens).
WORST_CASE_N = worst_case_credits(
    load_catalog().get(MODEL), -(-len(BODY) // BYTES_PER_TOKEN), MAX_TOKENS, MARGIN
)
AFFORDABLE, CALLS, REPLICAS = 10, 50, 3
UPSTREAM_DELAY = 1.5  # longer than it takes to send all 50: the 10 admitted overlap them all

# One database for the three replicas: PostgreSQL only (as in production).
pytestmark = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


@pytest.fixture
def workdirs() -> Iterator[list[Path]]:
    paths = [Path(tempfile.mkdtemp(prefix="mg-budget-replica-")) for _ in range(REPLICAS)]
    yield paths
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def fake() -> Iterator[FakeUpstream]:
    with run_fake_upstream() as fake:
        yield fake


def chat_at(url: str, tenant: SeededTenant, request_id: str, start: threading.Barrier) -> httpx.Response:
    headers = {**tenant.headers("write"), "content-type": "application/json",
               "x-request-id": request_id}
    with httpx.Client(timeout=30) as client:
        start.wait(timeout=30)  # all 50 leave together
        return client.post(f"{url}/v1/chat/completions", content=BODY, headers=headers)


async def recorded_credits(engine: AsyncEngine, tenant_id: str, expected: int) -> list[int]:
    """Each usage event's credits once ``expected`` events are in the database."""
    query = select(UsageEventRow.credits_n).where(UsageEventRow.tenant_id == tenant_id)
    deadline = time.monotonic() + 15
    while True:
        async with engine.connect() as connection:
            credits = list((await connection.execute(query)).scalars())
        if len(credits) >= expected or time.monotonic() > deadline:
            return credits
        await asyncio.sleep(0.1)


async def test_fifty_calls_on_three_replicas_spend_exactly_a_budget_of_ten(
    database_url: str, clean_engine: AsyncEngine, fake: FakeUpstream,
    redis_server: RedisServer, workdirs: list[Path],  # noqa: F811
) -> None:
    tenant = await seed_tenant(clean_engine)
    budget_n = AFFORDABLE * WORST_CASE_N
    async with session_factory(clean_engine)() as session, session.begin():
        await service.set_limits(session, tenant.id, monthly_credits=Decimal(budget_n) / NANO)
    slow = Script(body=json_script(openai_answer(MODEL)).body, delay=UPSTREAM_DELAY)
    fake.next(*[slow] * CALLS)
    with ExitStack() as stack:
        replicas: list[Served] = [
            stack.enter_context(serve(
                database_url, fake.url, workdir, redis_url=redis_server.url,
                usage_flush_interval=0.2, upstream_read_timeout=10,
            ))
            for workdir in workdirs
        ]
        for replica in replicas:  # the shared engine, not three per-process ones
            assert httpx.get(f"{replica.url}/readyz").json()["limits"] == "redis"
        start = threading.Barrier(CALLS)
        with ThreadPoolExecutor(CALLS) as pool:
            answers = list(pool.map(
                lambda i: chat_at(replicas[i % REPLICAS].url, tenant, f"budget-{i}", start),
                range(CALLS),
            ))
        statuses = [a.status_code for a in answers]
        assert sorted(statuses) == [200] * AFFORDABLE + [429] * (CALLS - AFFORDABLE), statuses
        refused = [a for a in answers if a.status_code == 429]
        assert {a.json()["error"]["code"] for a in refused} == {"insufficient_quota"}
        assert {a.headers["x-should-retry"] for a in refused} == {"false"}
        assert len(fake.requests) == AFFORDABLE  # a refused call never reaches the upstream

        credits = await recorded_credits(clean_engine, tenant.id, CALLS)
        assert len(credits) == CALLS  # one event per call, each written once
        spent_n = sum(credits)
        assert 0 < spent_n <= budget_n
        for replica in replicas:  # each reads the shared counts, settled
            shown = await asyncio.to_thread(_tenant_limits, replica.url, tenant)
            assert int(shown["credits_used"] * NANO) == spent_n, replica.url
            assert shown["credits_reserved"] == 0, replica.url
            assert int(shown["monthly_credits"] * NANO) == budget_n
    async with clean_engine.connect() as connection:
        written = await connection.scalar(select(func.count()).select_from(UsageEventRow).where(
            UsageEventRow.tenant_id == tenant.id, UsageEventRow.credits_n > 0))
    assert written == AFFORDABLE


def _tenant_limits(url: str, tenant: SeededTenant) -> dict:
    """GET /v1/tenant/limits once no reservation is left (settling follows each event)."""
    deadline = time.monotonic() + 5
    while True:
        answer = httpx.get(f"{url}/v1/tenant/limits", headers=tenant.headers("read"), timeout=10)
        assert answer.status_code == 200, answer.text
        shown = json.loads(answer.text, parse_float=Decimal)
        if shown["credits_reserved"] == 0 or time.monotonic() > deadline:
            return shown
        time.sleep(0.1)
