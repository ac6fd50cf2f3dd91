"""Secret canaries where a leak would most likely happen, at DEBUG.

The whole run is scanned at its end (tests/canaries.py); this test drives the
paths where a secret is most at risk and checks at once. Its canaries match no
secret-looking pattern (no ``sk-``, no ``AIza``), so the log redactor's patterns
cannot hide a leak: only the code's never touching them in clear can.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import openai
import pytest
from sqlalchemy import text

from modelgate.db import create_engine
from modelgate.models import Base
from tests import canaries
from tests.fakes.upstream import FakeUpstream, json_script, run_fake_upstream
from tests.reliability.upstream_harness import seeded_tenant
from tests.support import RunningGateway, SeededTenant, run_gateway

HOSTED = "hosted-canary-" + secrets.token_hex(16)
BYOK = "byok-canary-" + secrets.token_hex(16)
BEARER = "bearer-canary-" + secrets.token_hex(16)
WELL_FORMED_UNKNOWN = "mg_" + secrets.token_urlsafe(32)[:43].ljust(43, "x")
CHAT = {"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "Hi"}]}


@pytest.fixture
def setup(tmp_path) -> Iterator[tuple[RunningGateway, SeededTenant, FakeUpstream, str]]:
    url, tenant = seeded_tenant(tmp_path)
    with run_fake_upstream() as fake, run_gateway(
        database_url=url,
        log_level="DEBUG",
        anthropic_api_key=HOSTED,
        anthropic_base_url=fake.url,
        openai_base_url=f"{fake.url}/v1",
        allow_private_base_urls=True,
    ) as gw:
        yield gw, tenant, fake, url


def test_the_scanner_finds_a_registered_secret() -> None:
    # The control: without it, "0 hits" could mean a scanner that finds nothing.
    canary = "control-canary-" + secrets.token_hex(8)
    canaries.register(canary)
    assert canaries.hits_in(f"some log line with {canary} inside") == [canary[:8] + "…"]
    assert canaries.hits_in("a log line without it") == []


async def test_no_secret_leaves_the_gateway_on_any_path(setup, record_property) -> None:
    gw, tenant, fake, url = setup
    canaries.register(HOSTED, BYOK, BEARER, WELL_FORMED_UNKNOWN)
    admin, write = tenant.headers("admin"), tenant.headers("write")
    bodies: list[str] = []
    with httpx.Client(base_url=gw.url, timeout=30) as http:

        def call(method: str, path: str, **kwargs) -> httpx.Response:
            response = http.request(method, path, **kwargs)
            bodies.append(f"{response.status_code} {response.headers} {response.text}")
            return response

        # The hosted key: a call, a stream, and an upstream error that echoes it back.
        assert call("POST", "/v1/chat/completions", json=CHAT, headers=write).status_code == 200
        stream = call("POST", "/v1/chat/completions", json={**CHAT, "stream": True}, headers=write)
        assert stream.status_code == 200
        fake.next(json_script({"type": "error", "error": {
            "type": "authentication_error", "message": f"invalid x-api-key: {HOSTED}"}}, 401))
        assert call("POST", "/v1/chat/completions", json=CHAT, headers=write).status_code >= 400
        assert fake.requests[0].headers["x-api-key"] == HOSTED  # it was really used

        # Bad key bodies whose input holds the canary: each refused, none echoed.
        for body in (
            {"api_key": [BYOK]},
            {"api_key": BYOK + "x" * 5000},
            {"api_key": f"{BYOK} with spaces"},
            {"api_key": BYOK, "base_url": f"https://user:{BYOK}@llm.example.com/v1"},
            {"api_key": BYOK, "base_url": "ftp://llm.example.com/v1"},
            {"api_key": BYOK, "unknown_field": BYOK},
        ):
            assert call("PUT", "/v1/tenant/model_keys/openai", json=body, headers=admin).status_code == 422
        assert call("PUT", "/v1/tenant/model_keys/no-such-provider", json={"api_key": BYOK},
                    headers=admin).status_code == 404

        # The BYOK key stored, listed, used, echoed by the upstream, deleted.
        put = call("PUT", "/v1/tenant/model_keys/openai",
                   json={"api_key": BYOK, "base_url": f"{fake.url}/v1"}, headers=admin)
        assert put.status_code == 200
        assert call("GET", "/v1/tenant/model_keys", headers=admin).status_code == 200
        gpt = {**CHAT, "model": "gpt-4o"}
        assert call("POST", "/v1/chat/completions", json=gpt, headers=write).status_code == 200
        assert fake.last.headers["authorization"] == f"Bearer {BYOK}"
        fake.next(json_script({"error": {"message": f"Incorrect API key provided: {BYOK}",
                                         "type": "invalid_request_error"}}, 401))
        assert call("POST", "/v1/chat/completions", json=gpt, headers=write).status_code >= 400
        sdk = openai.OpenAI(base_url=f"{gw.url}/v1", api_key=tenant.tokens["write"], max_retries=0)
        assert sdk.chat.completions.create(**gpt).choices
        assert call("DELETE", "/v1/tenant/model_keys/openai", headers=admin).status_code == 200

        # Tokens that fail: a malformed one, a well-formed unknown one, in odd places.
        for headers in ({"Authorization": f"Bearer {BEARER}"},
                        {"Authorization": f"Bearer {WELL_FORMED_UNKNOWN}"},
                        {"Authorization": BEARER},
                        {"Authorization": f"Basic {BEARER}"}):
            assert call("GET", "/v1/tenant/settings", headers=headers).status_code == 401

    logs = gw.logs.text()
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = [repr(tuple(row)) for table in Base.metadata.sorted_tables
                    for row in (await connection.execute(table.select())).all()]
            audit = (await connection.execute(text("SELECT count(*) FROM audit_log"))).scalar()
    finally:
        await engine.dispose()
    raw_file = (tmp := url.partition(":///")[2]) and open(tmp, "rb").read().decode("latin-1")
    debug_lines = [line for line in logs.splitlines() if '"level":"DEBUG"' in line]
    assert debug_lines, "the gateway logged at DEBUG"
    assert audit >= 2  # the key's put and delete were audited (and scanned)
    everything = {"logs": logs, "bodies": "\n".join(bodies), "rows": "\n".join(rows),
                  "sqlite file": raw_file}
    hits = {where: canaries.hits_in(found) for where, found in everything.items()}
    assert hits == {where: [] for where in everything}, hits
    record_property("log_lines", len(logs.splitlines()))
    record_property("debug_log_lines", len(debug_lines))
    record_property("bodies", len(bodies))
    record_property("rows", len(rows))
    record_property("hits", 0)
