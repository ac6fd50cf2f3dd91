"""Tenant isolation: every endpoint × every way a caller can be the wrong one.

Tenant A is seeded with data that would be recognisable anywhere: a BYOK key
with its own base_url, settings that differ from the default, audit rows and a
usage event with request ids of its own. Then every /v1 route of the app (read
from the app itself, so a new route cannot be forgotten) is called as:

- nobody (no token) ........................ 401 invalid_token
- a revoked token of A's ................... 401 invalid_token
- A's token without the scope it needs ..... 403 insufficient_scope
- tenant B's admin token ................... B's own data (2xx) or 404; never A's

Paths may name A's own objects (``{a_config}``, ``{a_group}``: A's model config
and model group ids), so that B is seen asking for them by id.

No answer may carry any of A's markers, and A's data is unchanged at the end.
Finally a key row copied from A to B in the database is refused
(``key_unavailable``) and the upstream never sees a request with it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from modelgate.keys.models import ProviderKey
from modelgate.tenants.models import ApiToken
from modelgate.db import utcnow
from tests.fakes.upstream import FakeUpstream, run_fake_upstream
from tests.reliability.upstream_harness import upstream_settings
from tests.support import RunningGateway, SeededTenant, run_gateway, seed_tenant

A_KEY = "sk-isolation-canary-tenant-a-0123456789"
A_BASE_URL = "http://10.99.88.77/v1"  # private: allowed here, and unmistakable
A_REQUEST_ID = "req-isolation-tenant-a-marker"
A_CONFIG_NAME = "isolation-a-config-marker"
A_GROUP_NAME = "isolation-a-group-marker"
CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}
EMBED = {"model": "text-embedding-3-small", "input": "Hi"}

# One concrete request per route: (path, JSON body or None), and the scope it needs.
REQUESTS: dict[tuple[str, str], tuple[str, dict | None, str]] = {
    ("POST", "/v1/chat/completions"): ("/v1/chat/completions", CHAT, "write"),
    ("POST", "/v1/embeddings"): ("/v1/embeddings", EMBED, "write"),
    ("GET", "/v1/models"): ("/v1/models", None, "read"),
    ("GET", "/v1/tenant/models"): ("/v1/tenant/models", None, "read"),
    ("GET", "/v1/tenant/models/{model_id}"): ("/v1/tenant/models/gpt-4o", None, "read"),
    ("GET", "/v1/tenant/model_keys"): ("/v1/tenant/model_keys", None, "admin"),
    ("PUT", "/v1/tenant/model_keys/{provider}"): (
        "/v1/tenant/model_keys/anthropic", {"api_key": "sk-isolation-b-key"}, "admin"
    ),
    ("DELETE", "/v1/tenant/model_keys/{provider}"): ("/v1/tenant/model_keys/openai", None, "admin"),
    ("GET", "/v1/tenant/settings"): ("/v1/tenant/settings", None, "admin"),
    ("PATCH", "/v1/tenant/settings"): ("/v1/tenant/settings", {"hosted_keys_enabled": True}, "admin"),
    ("GET", "/v1/tenant/audit_log"): ("/v1/tenant/audit_log?limit=100&after=999999999", None, "admin"),
    ("GET", "/v1/tenant/usage"): (
        "/v1/tenant/usage?group_by=day,model,provider,source,token", None, "admin"
    ),
    ("GET", "/v1/tenant/usage/events"): ("/v1/tenant/usage/events?limit=100", None, "admin"),
    ("GET", "/v1/tenant/limits"): ("/v1/tenant/limits", None, "read"),
    ("POST", "/v1/tenant/model_configs"): (
        "/v1/tenant/model_configs", {"name": "isolation-b-config", "base_model": "gpt-4o"}, "admin"
    ),
    ("GET", "/v1/tenant/model_configs"): ("/v1/tenant/model_configs", None, "read"),
    ("GET", "/v1/tenant/model_configs/{config_id}"): (
        "/v1/tenant/model_configs/{a_config}", None, "read"
    ),
    ("PATCH", "/v1/tenant/model_configs/{config_id}"): (
        "/v1/tenant/model_configs/{a_config}", {"enabled": False, "name": "taken-by-b"}, "admin"
    ),
    ("DELETE", "/v1/tenant/model_configs/{config_id}"): (
        "/v1/tenant/model_configs/{a_config}", None, "admin"
    ),
    ("POST", "/v1/tenant/model_groups"): (
        "/v1/tenant/model_groups",
        {"name": "isolation-b-group", "members": [{"model": "gpt-4o"}]},
        "admin",
    ),
    ("GET", "/v1/tenant/model_groups"): ("/v1/tenant/model_groups", None, "read"),
    ("GET", "/v1/tenant/model_groups/{group_id}"): (
        "/v1/tenant/model_groups/{a_group}", None, "read"
    ),
    ("PATCH", "/v1/tenant/model_groups/{group_id}"): (
        "/v1/tenant/model_groups/{a_group}", {"strategy": "loadbalance"}, "admin"
    ),
    ("DELETE", "/v1/tenant/model_groups/{group_id}"): (
        "/v1/tenant/model_groups/{a_group}", None, "admin"
    ),
    ("POST", "/v1/tenant/model_groups/{group_id}/models/{model}"): (
        "/v1/tenant/model_groups/{a_group}/models/gpt-4o-mini", None, "admin"
    ),
    ("DELETE", "/v1/tenant/model_groups/{group_id}/models/{model}"): (
        f"/v1/tenant/model_groups/{{a_group}}/models/{A_CONFIG_NAME}", None, "admin"
    ),
}
# A token of A's that lacks the needed scope.
LACKING = {"read": "write", "write": "read", "admin": "read"}


@pytest.fixture
def fake() -> Iterator[FakeUpstream]:
    with run_fake_upstream() as fake:
        yield fake


@pytest.fixture
def gateway(database_url: str, fake: FakeUpstream) -> Iterator[RunningGateway]:
    with run_gateway(
        database_url=database_url, allow_private_base_urls=True, usage_flush_interval=0.1,
        **upstream_settings(fake.url),
    ) as gw:
        yield gw


def v1_routes(gateway: RunningGateway) -> set[tuple[str, str]]:
    """Every /v1 operation the app serves, as its OpenAPI document lists them (no
    route is hidden from the document)."""
    return {
        (method.upper(), path)
        for path, methods in gateway.app.openapi()["paths"].items()  # type: ignore[attr-defined]
        if path.startswith("/v1/")
        for method in methods
    }


def seed_a(gw: RunningGateway, a: SeededTenant) -> dict[str, str]:
    """A's data; returns the ids of A's objects that the matrix's paths name."""
    admin = {**a.headers("admin"), "X-Request-Id": A_REQUEST_ID}
    # A usage event of A's (its request id and token prefix are markers), on the
    # platform's key, while A still allows it.
    chat = httpx.post(
        f"{gw.url}/v1/chat/completions", json={**CHAT, "model": "claude-haiku-4-5"},
        headers={**a.headers("write"), "X-Request-Id": A_REQUEST_ID}, timeout=30,
    )
    assert chat.status_code == 200, chat.text
    put = httpx.put(
        f"{gw.url}/v1/tenant/model_keys/openai",
        json={"api_key": A_KEY, "base_url": A_BASE_URL},
        headers=admin,
    )
    assert put.status_code == 200, put.text
    patch = httpx.patch(f"{gw.url}/v1/tenant/settings", json={"hosted_keys_enabled": False}, headers=admin)
    assert patch.status_code == 200, patch.text
    config = httpx.post(
        f"{gw.url}/v1/tenant/model_configs",
        json={"name": A_CONFIG_NAME, "base_model": "gpt-4o", "system_prompt": "A's prompt"},
        headers=admin,
    )
    assert config.status_code == 201, config.text
    group = httpx.post(
        f"{gw.url}/v1/tenant/model_groups",
        json={"name": A_GROUP_NAME, "members": [{"model": A_CONFIG_NAME}, {"model": "gpt-4o"}]},
        headers=admin,
    )
    assert group.status_code == 201, group.text
    deadline = time.monotonic() + 10  # the recorder writes it within a few flushes
    while not usage_ids(gw, a) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(usage_ids(gw, a)) == 1
    return {"a_config": config.json()["id"], "a_group": group.json()["id"]}


def usage_ids(gw: RunningGateway, tenant: SeededTenant) -> list[str]:
    url = f"{gw.url}/v1/tenant/usage/events?limit=100"
    events = httpx.get(url, headers=tenant.headers()).json()
    return [event["id"] for event in events["data"]]


def a_markers(a: SeededTenant, a_ids: dict[str, str]) -> list[str]:
    return [A_KEY, A_BASE_URL, "10.99.88.77", A_REQUEST_ID, a.id, a.name,
            A_CONFIG_NAME, A_GROUP_NAME, "A's prompt", *a_ids.values(),
            *(token[:11] for token in a.tokens.values()), *a.tokens.values()]


def a_state(gw: RunningGateway, a: SeededTenant) -> tuple:
    keys = httpx.get(f"{gw.url}/v1/tenant/model_keys", headers=a.headers()).json()
    settings = httpx.get(f"{gw.url}/v1/tenant/settings", headers=a.headers()).json()
    audit = httpx.get(f"{gw.url}/v1/tenant/audit_log?limit=100", headers=a.headers()).json()
    usage = httpx.get(f"{gw.url}/v1/tenant/usage", headers=a.headers()).json()
    configs = httpx.get(f"{gw.url}/v1/tenant/model_configs", headers=a.headers()).json()
    groups = httpx.get(f"{gw.url}/v1/tenant/model_groups", headers=a.headers()).json()
    audit_ids = [entry["id"] for entry in audit["data"]]
    return keys, settings, audit_ids, usage_ids(gw, a), usage["totals"], configs, groups


async def test_every_endpoint_against_every_wrong_caller(
    gateway: RunningGateway, clean_engine: AsyncEngine, fake: FakeUpstream, record_property
) -> None:
    a, b = await seed_tenant(clean_engine), await seed_tenant(clean_engine)
    revoked = await seed_tenant(clean_engine)  # its admin token is revoked below, before any use
    async with clean_engine.begin() as connection:
        await connection.execute(
            update(ApiToken).where(ApiToken.tenant_id == revoked.id).values(revoked_at=utcnow())
        )
    a_ids = seed_a(gateway, a)
    before = a_state(gateway, a)
    routes = v1_routes(gateway)
    assert routes == set(REQUESTS), f"routes without a matrix entry: {routes ^ set(REQUESTS)}"

    answers: Counter[tuple[str, int]] = Counter()
    markers = a_markers(a, a_ids)
    with httpx.Client(base_url=gateway.url, timeout=30) as http:
        for (method, _), (template, body, scope) in sorted(REQUESTS.items()):
            path = template.format(**a_ids)
            callers = {
                "no token": ({}, {401}),
                "revoked token": (revoked.headers("admin"), {401}),
                "token without the scope": (a.headers(LACKING[scope]), {403}),
                "other tenant": (b.headers("admin"), {200, 201, 404}),
            }
            for caller, (headers, allowed) in callers.items():
                response = http.request(method, path, json=body, headers=headers)
                answers[(caller, response.status_code)] += 1
                assert response.status_code in allowed, (caller, method, path, response.text)
                leaked = [m for m in markers if m in response.text or m in str(response.headers)]
                assert not leaked, (caller, method, path, leaked)
                if response.status_code >= 400:
                    error = response.json()["error"]
                    expected = {401: "invalid_token", 403: "insufficient_scope"}.get(response.status_code)
                    assert expected is None or error["code"] == expected, (caller, path, error)
    # B's chat call used B's hosted path, never A's key or A's endpoint.
    assert fake.requests and all(A_KEY not in str(r.headers) for r in fake.requests)
    assert a_state(gateway, a) == before  # nothing B did touched A
    record_property("routes", len(REQUESTS))
    record_property("calls", sum(answers.values()))
    record_property("answers", dict(sorted(answers.items())))


async def test_a_key_row_copied_to_another_tenant_is_never_used(
    gateway: RunningGateway, clean_engine: AsyncEngine, fake: FakeUpstream
) -> None:
    a, b = await seed_tenant(clean_engine), await seed_tenant(clean_engine)
    put = httpx.put(f"{gateway.url}/v1/tenant/model_keys/openai", json={"api_key": A_KEY},
                    headers=a.headers())
    assert put.status_code == 200
    # An operator's mistake or an attacker with SQL access: A's row, duplicated for B.
    async with clean_engine.begin() as connection:
        row = (await connection.execute(
            select(ProviderKey.__table__).where(ProviderKey.tenant_id == a.id)
        )).mappings().one()
        copied = {**row, "tenant_id": b.id}
        copied.pop("id", None)
        await connection.execute(insert(ProviderKey.__table__).values(**copied))
    fake.reset()
    chat = httpx.post(f"{gateway.url}/v1/chat/completions", json=CHAT, headers=b.headers("write"))
    assert chat.status_code == 422, chat.text
    assert chat.json()["error"]["code"] == "key_unavailable"
    assert A_KEY not in chat.text
    assert fake.requests == []  # refused before any call: the copied key was never sent
    # A's own key still works for A.
    assert httpx.post(f"{gateway.url}/v1/chat/completions", json=CHAT,
                      headers=a.headers("write")).status_code == 200
    assert fake.last.headers["authorization"] == f"Bearer {A_KEY}"
