"""Unauthenticated load (issue 12, item 9): what a caller without a valid token can
make the gateway spend is bounded.

Database work is counted honestly, from the real engine's own cursor events: a
query that runs is a query counted, whatever the code path that issued it.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from sqlalchemy import event

from modelgate.tenants.tokens import token_digest
from tests.support import SeededTenant, run_gateway

SETTINGS = "/v1/tenant/settings"


@contextmanager
def recorded_statements(gw) -> Iterator[list[tuple[str, str]]]:
    """(statement, parameters) of every query the gateway's engine runs in the block."""
    seen: list[tuple[str, str]] = []
    engine = gw.gateway.engine.sync_engine

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append((statement, repr(parameters)))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def made_up_token() -> str:
    return "mg_" + secrets.token_urlsafe(32)


async def test_made_up_tokens_are_looked_up_at_most_at_the_set_rate(
    database_url: str, tenant: SeededTenant
) -> None:
    rate, burst, flood = 5.0, 10, 300
    # A short TTL, so that the valid token's entry expires and is refreshed from
    # the database many times during the flood: the bucket must never refuse it.
    with run_gateway(
        database_url=database_url,
        token_cache_ttl=0.2,
        unknown_token_rate=rate,
        unknown_token_burst=burst,
        register_sent_secrets=False,  # made-up tokens are no secrets to scan for
    ) as gw:
        valid = tenant.headers("admin")
        valid_digest = token_digest(tenant.tokens["admin"])
        async with httpx.AsyncClient(base_url=gw.url, timeout=10.0) as http:
            assert (await http.get(SETTINGS, headers=valid)).status_code == 200

            with recorded_statements(gw) as statements:
                started = time.monotonic()
                made_up = iter([made_up_token() for _ in range(flood)])
                valid_statuses: list[int] = []

                async def attacker() -> list[httpx.Response]:
                    answers = []
                    for token in made_up:
                        headers = {"Authorization": f"Bearer {token}"}
                        answers.append(await http.get(SETTINGS, headers=headers))
                    return answers

                async def tenant_calls() -> None:
                    while time.monotonic() - started < 1.5 or not flood_done.is_set():
                        valid_statuses.append((await http.get(SETTINGS, headers=valid)).status_code)
                        await asyncio.sleep(0.03)

                flood_done = asyncio.Event()
                tenant_task = asyncio.create_task(tenant_calls())
                answers = [a for batch in await asyncio.gather(*(attacker() for _ in range(10)))
                           for a in batch]
                flood_done.set()
                await tenant_task
                elapsed = time.monotonic() - started

        token_lookups = [p for s, p in statements if "api_tokens" in s and "SELECT" in s.upper()]
        made_up_lookups = [p for p in token_lookups if valid_digest not in p]
        valid_lookups = len(token_lookups) - len(made_up_lookups)

    assert len(answers) == flood
    for answer in answers:  # the same plain 401 whether or not the bucket was empty
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "invalid_token"
    bound = burst + rate * elapsed + 1
    assert len(made_up_lookups) <= bound, (len(made_up_lookups), bound, elapsed)
    assert len(made_up_lookups) >= burst  # the burst itself does reach the database
    # The valid token kept working throughout, refreshed from the database as its entry expired.
    assert valid_statuses and set(valid_statuses) == {200}, valid_statuses
    assert valid_lookups >= 2, valid_lookups


async def test_readyz_shares_one_database_check_per_ttl(database_url: str) -> None:
    ttl = 0.5
    with run_gateway(database_url=database_url, readyz_cache_ttl=ttl) as gw:
        async with httpx.AsyncClient(base_url=gw.url, timeout=10.0) as http:
            with recorded_statements(gw) as statements:
                # Many callers at once: they share one check.
                burst = await asyncio.gather(*(http.get("/readyz") for _ in range(50)))
                at_once = sum("SELECT 1" in s for s, _ in statements)

                # A steady stream of callers: one check per TTL.
                started = time.monotonic()
                steady = []
                while time.monotonic() - started < 3 * ttl:
                    steady.append(await http.get("/readyz"))
                    await asyncio.sleep(0.01)
                elapsed = time.monotonic() - started
                in_total = sum("SELECT 1" in s for s, _ in statements)

    assert {r.status_code for r in burst} == {200}
    assert {r.status_code for r in steady} == {200}
    assert len(steady) > 20
    assert at_once == 1, at_once
    assert in_total - at_once <= math.ceil(elapsed / ttl) + 1, (in_total, len(steady), elapsed)
