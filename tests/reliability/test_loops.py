"""Loops (issue 12, item 3): a tenant must not be able to make the gateway call itself.

The attack: store the tenant's own gateway token as its OpenAI key and the
gateway's own URL as ``base_url``; every call then calls the gateway, which calls
the gateway, until a pool runs dry. Three defences, each tested here:

- every upstream request carries the hop header, and the middleware refuses an
  incoming one that does (508 ``loop_detected``), before auth and the database;
- a ``base_url`` on one of the gateway's own hosts (MODELGATE_PUBLIC_HOSTS) is
  refused when it is stored, and again when it is called;
- a gateway token is refused as a provider key when it is stored.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import event

from modelgate.db import create_engine, session_factory
from modelgate.keys import service as keys
from modelgate.providers.registry import HOP_HEADER
from modelgate.tenants.tokens import new_token
from tests.fakes.upstream import run_fake_upstream
from tests.foundation.test_http import assert_error
from tests.reliability.upstream_harness import seeded_tenant
from tests.support import RunningGateway, SeededTenant, run_gateway

KEYS = "/v1/tenant/model_keys"
CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}


def served(gw: RunningGateway, path: str) -> list[int]:
    """The statuses of the requests for ``path`` that the gateway served (its access log)."""
    statuses = []
    for line in gw.logs.text().splitlines():
        record = orjson.loads(line) if line.startswith("{") else {}
        if record.get("message") == "request" and record.get("path") == path:
            statuses.append(record["status"])
    return statuses


async def store_key(db_url: str, gw: RunningGateway, tenant: SeededTenant, **key: str | None) -> None:
    """Store a key through the real service layer, as a row written before the PUT
    checks existed would be (the PUT endpoint now refuses this key)."""
    engine = create_engine(db_url)
    try:
        async with session_factory(engine)() as session, session.begin():
            await keys.put_key(
                session, keyring=gw.gateway.keyring, tenant_id=tenant.id, provider="openai", **key
            )
    finally:
        await engine.dispose()


def test_the_hop_header_is_refused_on_every_path_before_auth_and_database(tmp_path: Path) -> None:
    db_url, tenant = seeded_tenant(tmp_path)
    with run_gateway(database_url=db_url) as gw:
        statements: list[str] = []
        # Observes every SQL statement the gateway's engine runs (it changes nothing).
        event.listen(gw.gateway.engine.sync_engine, "before_cursor_execute",
                     lambda *args: statements.append(args[2]))
        unknown = {"Authorization": f"Bearer {new_token()}"}
        control = httpx.get(f"{gw.url}/v1/models", headers=unknown, timeout=30)
        assert_error(control, 401, "invalid_token")  # without the header: auth, a look-up
        assert statements
        statements.clear()
        for method, path, headers in [
            ("GET", "/v1/models", unknown),
            ("GET", "/v1/models", tenant.headers("read")),
            ("POST", "/v1/chat/completions", tenant.headers("write")),
            ("PUT", f"{KEYS}/openai", tenant.headers("admin")),
            ("GET", "/v1/models", {}),  # no token at all
            ("GET", "/healthz", {}),
            ("GET", "/readyz", {}),
            ("GET", "/openapi.json", {}),
            ("GET", "/no/such/path", {}),
        ]:
            for value in ("1", "7", ""):
                response = httpx.request(
                    method, f"{gw.url}{path}", headers={**headers, HOP_HEADER: value}, json=CHAT,
                    timeout=30,
                )
                error = assert_error(response, 508, "loop_detected")
                assert error["type"] == "invalid_request_error" and HOP_HEADER in error["message"]
                assert response.headers["x-should-retry"] == "false"
                assert response.headers["x-request-id"]
        assert statements == []  # refused before any database work


def test_the_attack_end_to_end_is_one_refused_hop(tmp_path: Path) -> None:
    """The tenant's own token as its OpenAI key, the gateway's own URL as base_url
    (loopback allowed, no public hosts configured, so only the hop header stands in
    the way): each call is served twice, the second refused, and the first answers
    a clean upstream error."""
    db_url, tenant = seeded_tenant(tmp_path)
    with run_gateway(database_url=db_url, allow_private_base_urls=True, public_hosts="") as gw:
        asyncio.run(
            store_key(db_url, gw, tenant, api_key=tenant.tokens["write"], base_url=f"{gw.url}/v1")
        )
        with httpx.Client(base_url=gw.url, headers=tenant.headers("write"), timeout=30) as client:
            plain = client.post("/v1/chat/completions", json=CHAT)
            error = assert_error(plain, 502, "upstream_unavailable")
            assert "508" in error["message"]
            streamed = client.post("/v1/chat/completions", json={**CHAT, "stream": True})
            assert_error(streamed, 502, "upstream_unavailable")
        # Two calls, two requests each: the tenant's, and the gateway's refused hop.
        # (An access line is written just after its answer is sent: give it a moment,
        # and then some more, in which a recursion would have added lines.)
        deadline = time.monotonic() + 5
        while len(served(gw, "/v1/chat/completions")) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        assert sorted(served(gw, "/v1/chat/completions")) == [502, 502, 508, 508]
        assert tenant.tokens["write"] not in gw.logs.text() + plain.text + streamed.text


async def test_a_gateway_token_is_refused_as_a_provider_key(
    gateway: RunningGateway, tenant: SeededTenant
) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, headers=tenant.headers()) as client:
        for token in (tenant.tokens["write"], tenant.tokens["admin"], new_token()):
            response = await client.put(f"{KEYS}/openai", json={"api_key": token})
            error = assert_error(response, 422, "validation_error")
            assert error["param"] == "api_key" and "gateway token" in error["message"]
            assert token not in response.text and token[3:20] not in response.text
            response = await client.put(
                f"{KEYS}/openai", json={"api_key": token, "base_url": "https://8.8.8.8/v1"}
            )
            assert_error(response, 422, "validation_error")
        listing = await client.get(KEYS)
        assert not any(entry["configured"] for entry in listing.json()["data"])
        # A key that merely starts like one is a provider's business, not ours.
        ok = await client.put(f"{KEYS}/openai", json={"api_key": "mg_not-a-token"})
        assert ok.status_code == 200, ok.text


@pytest.mark.parametrize(
    "base_url",
    [
        "https://gw.example.com/v1",
        "https://GW.Example.COM./v1",
        "https://8.8.4.4/v1",
        "https://134743044/v1",
        "https://[::ffff:808:404]/v1",
        "http://localhost:9/v1",  # resolves (from /etc/hosts) to a listed address
    ],
)
def test_put_refuses_the_gateways_own_hosts(tmp_path: Path, base_url: str) -> None:
    db_url, tenant = seeded_tenant(tmp_path)
    with run_gateway(
        database_url=db_url,
        allow_private_base_urls=True,  # loopback is allowed: the own-host rule refuses it
        public_hosts="gw.example.com,8.8.4.4,127.0.0.1",
    ) as gw, httpx.Client(base_url=gw.url, headers=tenant.headers(), timeout=30) as client:
        response = client.put(f"{KEYS}/openai", json={"api_key": "sk-a", "base_url": base_url})
        error = assert_error(response, 422, "base_url_invalid")
        assert error["param"] == "base_url" and "gateway itself" in error["message"]
        ok = client.put(f"{KEYS}/openai", json={"api_key": "sk-a", "base_url": "https://8.8.8.8/v1"})
        assert ok.status_code == 200, ok.text


def test_a_stored_base_url_that_became_an_own_host_is_refused_at_call_time(
    tmp_path: Path,
) -> None:
    db_url, tenant = seeded_tenant(tmp_path)
    with run_fake_upstream() as fake:
        base_url = f"{fake.url}/v1"  # http://127.0.0.1:<port>/v1
        with run_gateway(database_url=db_url, allow_private_base_urls=True) as before:
            put = httpx.put(
                f"{before.url}{KEYS}/openai", headers=tenant.headers(),
                json={"api_key": "sk-tenant-own-0123456789", "base_url": base_url},
            )
            assert put.status_code == 200, put.text
            ok = httpx.post(f"{before.url}/v1/chat/completions", headers=tenant.headers("write"),
                            json=CHAT, timeout=30)
            assert ok.status_code == 200, ok.text
        assert len(fake.requests) == 1
        # The operator now lists 127.0.0.1 among the gateway's own addresses.
        with run_gateway(
            database_url=db_url, allow_private_base_urls=True, public_hosts="127.0.0.1"
        ) as after:
            for body in (CHAT, {**CHAT, "stream": True}):
                response = httpx.post(f"{after.url}/v1/chat/completions",
                                      headers=tenant.headers("write"), json=body, timeout=30)
                error = assert_error(response, 422, "base_url_invalid")
                assert error["param"] == "base_url" and "openai" in error["message"]
        assert len(fake.requests) == 1  # nothing more went out
