"""GET /metrics on a real server: loopback only without a token, the token
(constant-time) with one, errors in the OpenAI shape, no secret in the output."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest

from modelgate import migrate
from modelgate.catalog import load_catalog
from modelgate.metering.metrics import UsageMetrics
from modelgate.metering.metrics_router import is_loopback
from tests import canaries
from tests.metering.usage_helpers import make_event
from tests.support import RunningGateway, run_gateway

OPENAI_ERROR_KEYS = {"message", "type", "param", "code"}


@pytest.fixture(scope="module")
def db_url(sqlite_url: str) -> str:
    migrate.upgrade(sqlite_url)
    return sqlite_url


@pytest.fixture(scope="module")
def open_gateway(db_url: str) -> Iterator[RunningGateway]:
    with run_gateway(database_url=db_url) as gw:
        yield gw


@pytest.fixture(scope="module")
def metrics_token() -> str:
    token = f"mt_{secrets.token_urlsafe(24)}"
    canaries.register(token)  # every response of every gateway is scanned for it
    return token


@pytest.fixture(scope="module")
def guarded_gateway(db_url: str, metrics_token: str) -> Iterator[RunningGateway]:
    with run_gateway(database_url=db_url, metrics_token=metrics_token) as gw:
        yield gw


def remote_client(gw: RunningGateway, address: str = "192.0.2.77") -> httpx.AsyncClient:
    """The running app, reached as if from another host (the ASGI client address)."""
    transport = httpx.ASGITransport(app=gw.app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway.example")


def assert_openai_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == OPENAI_ERROR_KEYS
    assert body["error"]["code"] == code


def test_loopback_clients_scrape_without_a_token(open_gateway: RunningGateway) -> None:
    response = httpx.get(f"{open_gateway.url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    for name in ("gen_ai_client_operation_duration_seconds", "gen_ai_client_token_usage",
                 "gen_ai_server_time_to_first_token_seconds", "modelgate_requests_total",
                 "modelgate_usage_events_dropped_total"):
        assert f"# TYPE {name.removesuffix('_total')}" in response.text, name
    assert "x-request-id" in response.headers  # through the gateway's middleware like any path
    openmetrics = httpx.get(f"{open_gateway.url}/metrics",
                            headers={"accept": "application/openmetrics-text; version=1.0.0"})
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
    assert openmetrics.text.rstrip().endswith("# EOF")


async def test_other_clients_get_404_without_a_token(open_gateway: RunningGateway) -> None:
    async with remote_client(open_gateway) as client:
        assert_openai_error(await client.get("/metrics"), 404, "not_found")
        # Even with a bearer token of any kind: none is configured.
        response = await client.get("/metrics", headers={"authorization": "Bearer anything"})
        assert_openai_error(response, 404, "not_found")


def test_a_remote_client_relayed_by_a_local_proxy_is_not_loopback(open_gateway: RunningGateway) -> None:
    # uvicorn trusts X-Forwarded-For from 127.0.0.1 (a proxy on this host): the
    # client is then the remote address, and is refused.
    response = httpx.get(f"{open_gateway.url}/metrics", headers={"x-forwarded-for": "203.0.113.9"})
    assert_openai_error(response, 404, "not_found")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("::ffff:127.0.0.1", True),
     ("192.0.2.1", False), ("10.0.0.1", False), ("::ffff:10.0.0.1", False), ("fe80::1", False),
     ("localhost", False), ("testclient", False), ("", False), (None, False)],
)
def test_is_loopback(host: str | None, loopback: bool) -> None:
    assert is_loopback(host) is loopback


async def test_with_a_token_set_it_is_required_from_everywhere(
    guarded_gateway: RunningGateway, metrics_token: str
) -> None:
    url = f"{guarded_gateway.url}/metrics"
    missing = httpx.get(url)
    assert_openai_error(missing, 401, "invalid_token")
    assert missing.headers["www-authenticate"] == "Bearer"
    assert metrics_token not in missing.text
    for wrong in (f"Bearer {metrics_token[:-1]}", f"Bearer {metrics_token}x", metrics_token,
                  f"Basic {metrics_token}", "Bearer", f"Bearer {metrics_token.upper()}"):
        assert_openai_error(httpx.get(url, headers={"authorization": wrong}), 401, "invalid_token")
    assert httpx.get(url, headers={"authorization": f"Bearer {metrics_token}"}).status_code == 200
    assert httpx.get(url, headers={"authorization": f"bearer {metrics_token}"}).status_code == 200
    async with remote_client(guarded_gateway) as client:
        assert_openai_error(await client.get("/metrics"), 401, "invalid_token")
        ok = await client.get("/metrics", headers={"authorization": f"Bearer {metrics_token}"})
        assert ok.status_code == 200 and "gen_ai_client_token_usage" in ok.text


def test_not_in_the_openapi_document(open_gateway: RunningGateway) -> None:
    document = httpx.get(f"{open_gateway.url}/openapi.json").json()
    assert "/metrics" not in document["paths"]


def test_no_tenant_token_or_key_in_the_scrape(guarded_gateway: RunningGateway, metrics_token: str) -> None:
    """Events full of tenant-identifying values (registered as canaries, so the
    session's response scan would catch them too) leave none of them in /metrics."""
    tenant_token = f"mg_{secrets.token_urlsafe(24)}"
    tenant_id = f"ten_{secrets.token_hex(12)}"
    config_name = f"acme-secret-project-{secrets.token_hex(8)}"
    canaries.register(tenant_token, tenant_id, config_name)
    observer = UsageMetrics.for_catalog(load_catalog())
    for status in (200, 429, 502):
        observer.observe(make_event(tenant_id, token_prefix=tenant_token[:12], model=config_name,
                                    base_model=None, request_id=tenant_token, status=status))
    response = httpx.get(f"{guarded_gateway.url}/metrics",
                         headers={"authorization": f"Bearer {metrics_token}"})
    assert response.status_code == 200
    assert 'gen_ai_request_model="other"' in response.text
    for value in (tenant_token, tenant_token[:12], tenant_id, config_name, metrics_token, "acme"):
        assert value not in response.text, value
