"""The database goes away mid-test and comes back; the gateway process lives on.

A private PostgreSQL cluster (see pg_cluster.py) backs one gateway whose token and
key caches are off, so every request really needs the database. While the
cluster is stopped, /readyz and every request that needs the database answer 503
``database_unavailable`` in the OpenAI shape, promptly, never 500. Once it is
started again the same process serves again without a restart, and every key
write it acknowledged (200) is still there, down to the key a chat call sends.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from modelgate.db import create_engine
from tests.fakes.upstream import FakeUpstream, run_fake_upstream
from tests.reliability.pg_cluster import PrivateCluster, migrated_cluster
from tests.reliability.upstream_harness import MODELS
from tests.support import RunningGateway, SeededTenant, run_gateway, seed_tenant

# Where each provider's adapter puts the key in the upstream request.
KEY_HEADERS = {"openai": "authorization", "anthropic": "x-api-key", "google": "x-goog-api-key"}
TIMEOUT = 15.0  # no request may hang: each must answer within this
CHAT = {"messages": [{"role": "user", "content": "Hi"}]}


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    yield from migrated_cluster()


@pytest.fixture
def fake() -> Iterator[FakeUpstream]:
    with run_fake_upstream() as fake:
        yield fake


@pytest.fixture
def tenant(cluster: PrivateCluster) -> SeededTenant:
    async def seed() -> SeededTenant:
        engine = create_engine(cluster.url)
        try:
            return await seed_tenant(engine)
        finally:
            await engine.dispose()

    return asyncio.run(seed())


@pytest.fixture
def gateway(cluster: PrivateCluster, fake: FakeUpstream, tenant) -> Iterator[RunningGateway]:
    # No platform keys: a chat call works only with the tenant's own stored key.
    with run_gateway(
        database_url=cluster.url,
        token_cache_ttl=0,
        key_cache_ttl=0,
        readyz_cache_ttl=0,  # each /readyz asks the database (still one check at a time)
        openai_base_url=f"{fake.url}/v1",
        anthropic_base_url=fake.url,
        google_base_url=fake.url,
    ) as gw:
        yield gw


class Api:
    def __init__(self, gateway: RunningGateway, tenant: SeededTenant) -> None:
        self.http = httpx.Client(base_url=gateway.url, timeout=TIMEOUT)
        self.tenant = tenant

    def put_key(self, provider: str, key: str) -> httpx.Response:
        path, headers = f"/v1/tenant/model_keys/{provider}", self.tenant.headers()
        return self.http.put(path, json={"api_key": key}, headers=headers)

    def chat(self, provider: str, *, stream: bool = False) -> httpx.Response:
        body = {**CHAT, "model": MODELS[provider], "stream": stream}
        headers = self.tenant.headers("write")
        return self.http.post("/v1/chat/completions", json=body, headers=headers)

    def needing_the_database(self) -> dict[str, httpx.Response]:
        """One request of each kind that cannot be answered without the database."""
        admin, read = self.tenant.headers("admin"), self.tenant.headers("read")
        return {
            "readyz": self.http.get("/readyz"),
            "models": self.http.get("/v1/models", headers=read),
            "tenant_models": self.http.get("/v1/tenant/models", headers=read),
            "model_keys": self.http.get("/v1/tenant/model_keys", headers=admin),
            "put_key": self.put_key("openai", "sk-byok-during-outage"),
            "settings": self.http.patch(
                "/v1/tenant/settings", json={"hosted_keys_enabled": False}, headers=admin
            ),
            "audit_log": self.http.get("/v1/tenant/audit_log", headers=admin),
            "chat": self.chat("anthropic"),
            "chat_stream": self.chat("google", stream=True),
        }


class KeyWriter(threading.Thread):
    """PUTs a new openai key again and again, recording which ones were acknowledged."""

    def __init__(self, api: Api) -> None:
        super().__init__(daemon=True)
        self.api = api
        self.halt = threading.Event()
        self.attempted: list[str] = []
        self.acknowledged: list[str] = []
        self.statuses: set[int] = set()

    def run(self) -> None:
        with httpx.Client(base_url=str(self.api.http.base_url), timeout=TIMEOUT) as http:
            while not self.halt.is_set():
                key = f"sk-byok-openai-{len(self.attempted):06d}"
                self.attempted.append(key)
                response = http.put(
                    "/v1/tenant/model_keys/openai",
                    json={"api_key": key},
                    headers=self.api.tenant.headers(),
                )
                self.statuses.add(response.status_code)
                if response.status_code == 200:
                    self.acknowledged.append(key)


class Traffic(threading.Thread):
    """Reads and chat calls in a loop, as tenants would send them, recording statuses."""

    def __init__(self, api: Api) -> None:
        super().__init__(daemon=True)
        self.api = api
        self.halt = threading.Event()
        self.statuses: Counter[int] = Counter()

    def run(self) -> None:
        with httpx.Client(base_url=str(self.api.http.base_url), timeout=TIMEOUT) as http:
            while not self.halt.is_set():
                for response in (
                    http.get("/v1/tenant/models", headers=self.api.tenant.headers("read")),
                    http.post(
                        "/v1/chat/completions",
                        json={**CHAT, "model": MODELS["anthropic"]},
                        headers=self.api.tenant.headers("write"),
                    ),
                ):
                    self.statuses[response.status_code] += 1


def assert_database_unavailable(name: str, response: httpx.Response) -> None:
    assert response.status_code == 503, (name, response.status_code, response.text)
    assert response.headers["content-type"] == "application/json", name
    assert response.json() == {
        "error": {
            "type": "api_error",
            "code": "database_unavailable",
            "message": response.json()["error"]["message"],
            "param": None,
        }
    }, name
    assert response.headers["x-should-retry"] == "true", name


def wait_for(check, timeout: float = 60.0) -> float:
    """Seconds until ``check()`` holds (bounded); fails the test after ``timeout``."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, "not within the bound"
        time.sleep(0.05)
    return time.monotonic() - started


# fast: a clean shutdown that ends every session (a planned restart, a failover);
# immediate: the server dies without a checkpoint and recovers from its WAL (a crash).
@pytest.mark.parametrize("stop_mode", ["fast", "immediate"])
def test_the_gateway_rides_out_a_database_outage(
    cluster: PrivateCluster, gateway: RunningGateway, tenant: SeededTenant, fake: FakeUpstream,
    stop_mode: str, record_property,
) -> None:
    api = Api(gateway, tenant)
    engine = gateway.gateway.engine
    assert api.http.get("/readyz").status_code == 200
    for provider in ("anthropic", "google"):
        assert api.put_key(provider, f"sk-byok-{provider}-before").status_code == 200

    # A writer keeps storing keys, and reads and chat calls keep coming, while the
    # database goes away under them: each request is answered 200 or 503, nothing else.
    writer, traffic = KeyWriter(api), Traffic(api)
    writer.start()
    traffic.start()
    wait_for(lambda: len(writer.acknowledged) >= 5 and traffic.statuses.get(200, 0) >= 4)
    stopped_at = time.monotonic()
    cluster.stop(stop_mode)
    stop_seconds = time.monotonic() - stopped_at
    wait_for(lambda: 503 in writer.statuses and 503 in traffic.statuses, timeout=TIMEOUT)
    for thread in (writer, traffic):
        thread.halt.set()
        thread.join(timeout=TIMEOUT + 5)
        assert not thread.is_alive()
    assert writer.statuses <= {200, 503}, writer.statuses
    assert set(traffic.statuses) <= {200, 503}, traffic.statuses
    fake.reset()

    # Down: each kind of request answers 503 within the bound, and again on a second
    # round (a failed connection attempt must leave nothing behind that breaks the next).
    slowest = 0.0
    for _ in range(2):
        began = time.monotonic()
        for name, response in api.needing_the_database().items():
            assert_database_unavailable(name, response)
        slowest = max(slowest, time.monotonic() - began)
    assert api.http.get("/healthz").status_code == 200  # the process itself is fine
    assert not fake.requests  # no chat call went upstream without its key check
    assert "unhandled error" not in gateway.logs.text()

    restarted_at = time.monotonic()
    cluster.start()
    start_seconds = time.monotonic() - restarted_at
    recovered = wait_for(lambda: api.http.get("/readyz").status_code == 200)
    assert gateway.gateway.engine is engine and gateway.server.started  # no restart

    # Up again: the same process serves every kind of request.
    keys = api.http.get("/v1/tenant/model_keys", headers=tenant.headers())
    assert keys.status_code == 200
    configured = {entry["provider"] for entry in keys.json()["data"] if entry["configured"]}
    assert configured == {"openai", "anthropic", "google"}
    assert api.http.get("/v1/models", headers=tenant.headers("read")).status_code == 200

    # Every acknowledged write survived: the key each chat call sends upstream is
    # the last one acknowledged, or one written after it whose answer was lost.
    last_acked = writer.acknowledged[-1]
    allowed_openai = writer.attempted[writer.attempted.index(last_acked):]
    sent = {}
    for provider in MODELS:
        response = api.chat(provider)
        assert response.status_code == 200, (provider, response.text)
        assert response.headers["ic-key-source"] == "byok"
        sent[provider] = fake.last.headers[KEY_HEADERS[provider]].removeprefix("Bearer ")
    assert sent["anthropic"] == "sk-byok-anthropic-before"
    assert sent["google"] == "sk-byok-google-before"
    assert sent["openai"] in allowed_openai, (sent["openai"], last_acked)
    assert api.put_key("openai", "sk-byok-after").status_code == 200
    assert api.chat("openai").status_code == 200
    assert fake.last.headers["authorization"] == "Bearer sk-byok-after"
    assert "unhandled error" not in gateway.logs.text()

    record_property("traffic_statuses", dict(traffic.statuses))
    record_property("acknowledged_writes", len(writer.acknowledged))
    record_property("attempted_writes", len(writer.attempted))
    record_property("stored_after_recovery_is_last_acked", sent["openai"] == last_acked)
    record_property("pg_ctl_stop_seconds", round(stop_seconds, 2))
    record_property("slowest_round_of_9_requests_while_down_seconds", round(slowest, 3))
    record_property("pg_ctl_start_seconds", round(start_seconds, 2))
    record_property("readyz_200_after_start_seconds", round(recovered, 3))


def test_readyz_answers_promptly_when_the_database_hangs(
    cluster: PrivateCluster, gateway: RunningGateway, record_property
) -> None:
    # A frozen server accepts nothing and refuses nothing: only the probe's own
    # bound can turn that into a 503 before the caller's patience (here 10 s) ends.
    http = httpx.Client(base_url=gateway.url, timeout=10.0)
    assert http.get("/readyz").status_code == 200
    cluster.freeze()
    try:
        began = time.monotonic()
        assert_database_unavailable("readyz", http.get("/readyz"))
        frozen_answer = time.monotonic() - began
    finally:
        cluster.thaw()
    recovered = wait_for(lambda: http.get("/readyz").status_code == 200)
    record_property("readyz_503_while_frozen_seconds", round(frozen_answer, 3))
    record_property("readyz_200_after_thaw_seconds", round(recovered, 3))
