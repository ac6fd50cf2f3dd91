"""Several processes behave as one gateway (issue 14, item 4): a change made in one
process, or by the CLI, is seen by every other process within 1 s.

Three real ``modelgate serve`` processes share one PostgreSQL database, with token
and key caches of 60 s, so only the invalidation channel can explain an answer
that changes within a second. Each test runs once over PostgreSQL LISTEN/NOTIFY
and once over Redis pub/sub (a throwaway ``redis-server`` on a free port).

- A token revoked with ``modelgate token revoke`` (a process of its own) gets 401
  from all three processes within 1 s.
- A key PUT through one process is the key the other two send upstream within
  1 s (until then they had cached "no key of its own": the hosted key); after a
  DELETE through another, the other two are back on the hosted key within 1 s.
- Hosted keys turned off in the tenant's settings through one process: the other
  two refuse hosted calls (422 model_key_missing) within 1 s.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis

from modelgate import migrate
from modelgate.cluster.invalidation import REDIS_CHANNEL
from modelgate.db import create_engine
from modelgate.models import Base
from modelgate.tenants.tokens import token_digest, token_prefix
from tests import canaries
from tests.fakes.upstream import FakeUpstream, run_fake_upstream
from tests.limits.redis_server import RedisServer
from tests.metering.serve_harness import HOSTED_KEY, Served, serve
from tests.support import TEST_KEYRING, SeededTenant, seed_tenant

PROCESSES = 3
DEADLINE = 1.0  # seconds, from the change being committed to every process seeing it
LONG_TTL = 60  # the caches' safety net: far longer than the deadline
CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Say hello."}]}


@dataclass
class Cluster:
    database_url: str
    redis_url: str | None
    upstream: FakeUpstream
    processes: list[Served]
    tenant: SeededTenant

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``modelgate …`` as an operator runs it, a process of its own."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("MODELGATE_")}
        env["MODELGATE_DATABASE_URL"] = self.database_url
        env["MODELGATE_ENCRYPTION_KEYS"] = TEST_KEYRING
        if self.redis_url:
            env["MODELGATE_REDIS_URL"] = self.redis_url
        return subprocess.run(
            [sys.executable, "-m", "modelgate.cli", *args],
            env=env, capture_output=True, text=True, timeout=60,
        )


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeUpstream]:
    with run_fake_upstream() as fake:
        yield fake


async def _seed(url: str) -> SeededTenant:
    engine = create_engine(url)
    try:
        return await seed_tenant(engine)
    finally:
        await engine.dispose()


async def _empty(url: str) -> None:
    """What clean_engine does after a test: scan the rows for secrets, then delete them."""
    engine = create_engine(url)
    try:
        await canaries.scan_rows(engine, Base.metadata.sorted_tables)
        async with engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                await connection.execute(table.delete())
    finally:
        await engine.dispose()


@pytest.fixture(scope="module", params=["postgres-notify", "redis-pubsub"])
def cluster(
    request: pytest.FixtureRequest, postgres_server_url: str, fake: FakeUpstream
) -> Iterator[Cluster]:
    """Three gateways on one PostgreSQL (and, for redis-pubsub, one Redis), 60 s caches."""
    migrate.upgrade(postgres_server_url)
    tenant = asyncio.run(_seed(postgres_server_url))
    root = Path(tempfile.mkdtemp(prefix="mg-invalidation-"))
    try:
        with ExitStack() as stack:
            redis_url = None
            if request.param == "redis-pubsub":
                redis = RedisServer().start()
                stack.callback(redis.kill)
                redis_url = redis.url
            settings: dict[str, object] = {
                "token_cache_ttl": LONG_TTL, "key_cache_ttl": LONG_TTL, "log_level": "WARNING",
            }
            if redis_url:
                settings["redis_url"] = redis_url
            processes = []
            for index in range(PROCESSES):
                workdir = root / f"gateway-{index}"
                workdir.mkdir()
                processes.append(stack.enter_context(
                    serve(postgres_server_url, fake.url, workdir, **settings)
                ))
            yield Cluster(postgres_server_url, redis_url, fake, processes, tenant)
    finally:
        shutil.rmtree(root, ignore_errors=True)
        asyncio.run(_empty(postgres_server_url))


def status_of(served: Served, token: str) -> int:
    answer = httpx.get(f"{served.url}/v1/models", headers={"Authorization": f"Bearer {token}"},
                       timeout=5)
    return answer.status_code


def key_sent_through(cluster: Cluster, served: Served) -> str:
    """Makes one chat call through ``served``: the key the upstream received for it
    (found by a marker of its own: calls through several processes run at once)."""
    marker = uuid.uuid4().hex
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": f"Say {marker}."}]}
    answer = httpx.post(f"{served.url}/v1/chat/completions", json=body,
                        headers=cluster.tenant.headers("write"), timeout=10)
    assert answer.status_code == 200, answer.text
    [received] = [r for r in list(cluster.upstream.requests)
                  if isinstance(r.body, dict) and marker in str(r.body.get("messages"))]
    return received.headers["authorization"].removeprefix("Bearer ")


def seconds_until(check: Callable[[Served], bool], processes: list[Served], since: float
                  ) -> list[float | None]:
    """Polls ``check`` on every process at once (one thread each) until it holds: the
    seconds from ``since`` for each, or None for one still failing past the deadline."""

    def poll(served: Served) -> float | None:
        while True:
            if check(served):
                return time.monotonic() - since
            if time.monotonic() - since > DEADLINE:
                return None
            time.sleep(0.02)

    with ThreadPoolExecutor(len(processes)) as pool:
        return list(pool.map(poll, processes))


def put_key(served: Served, tenant: SeededTenant, api_key: str) -> None:
    answer = httpx.put(f"{served.url}/v1/tenant/model_keys/openai", json={"api_key": api_key},
                       headers=tenant.headers("admin"), timeout=10)
    assert answer.status_code == 200, answer.text


def test_cli_revocation_reaches_every_process_within_a_second(cluster: Cluster) -> None:
    token = cluster.tenant.tokens["read"]
    for served in cluster.processes:  # each caches the token for 60 s
        assert status_of(served, token) == 200

    with ExitStack() as stack:
        heard = None
        if cluster.redis_url:  # what goes over the wire: the digest, never the token
            heard = redis.Redis.from_url(cluster.redis_url).pubsub(ignore_subscribe_messages=True)
            stack.callback(heard.close)
            heard.subscribe(REDIS_CHANNEL)
        revoked = cluster.cli("token", "revoke", token_prefix(token))
        committed = time.monotonic()
        assert revoked.returncode == 0, revoked.stderr
        assert "could not be notified" not in revoked.stderr
        if heard is not None:
            message = heard.get_message(timeout=5) or heard.get_message(timeout=5)
            assert message is not None and message["data"] == (
                f"token cli {token_digest(token)}".encode()
            )

    delays = seconds_until(lambda s: status_of(s, token) == 401, cluster.processes, committed)
    print(f"revocation seen after {delays} s")  # the figure reported in docs/reliability.md
    assert None not in delays, f"still 200 after {DEADLINE} s on some process: {delays}"
    # And for good: the cache does not bring it back.
    assert [status_of(served, token) for served in cluster.processes] == [401] * PROCESSES


def test_key_change_through_one_process_reaches_the_others_within_a_second(
    cluster: Cluster,
) -> None:
    first, second, third = cluster.processes
    tenant_key = "sk-tenant-own-0123456789abcdef"
    canaries.register(tenant_key)
    for served in cluster.processes:  # each caches "no key of its own" for 60 s
        assert key_sent_through(cluster, served) == HOSTED_KEY

    put_key(first, cluster.tenant, tenant_key)
    committed = time.monotonic()
    assert key_sent_through(cluster, first) == tenant_key  # the writer: at once, as before
    delays = seconds_until(lambda s: key_sent_through(cluster, s) == tenant_key,
                           [second, third], committed)
    print(f"key PUT seen after {delays} s")
    assert None not in delays, f"the hosted key still sent after {DEADLINE} s: {delays}"

    # A DELETE through another process: the rest fall back to the hosted key.
    deleted = httpx.delete(f"{second.url}/v1/tenant/model_keys/openai",
                           headers=cluster.tenant.headers("admin"), timeout=10)
    assert deleted.status_code == 200, deleted.text
    committed = time.monotonic()
    delays = seconds_until(lambda s: key_sent_through(cluster, s) == HOSTED_KEY,
                           [first, third], committed)
    print(f"key DELETE seen after {delays} s")
    assert None not in delays, f"the deleted key still sent after {DEADLINE} s: {delays}"


def chat_error_code(served: Served, tenant: SeededTenant) -> str | None:
    answer = httpx.post(f"{served.url}/v1/chat/completions", json=CHAT,
                        headers=tenant.headers("write"), timeout=10)
    return None if answer.status_code == 200 else answer.json()["error"]["code"]


def test_settings_change_through_one_process_reaches_the_others_within_a_second(
    cluster: Cluster,
) -> None:
    first, *others = cluster.processes
    for served in cluster.processes:  # each caches the tenant's settings with its tokens
        assert chat_error_code(served, cluster.tenant) is None  # the hosted key

    def set_hosted(enabled: bool) -> None:
        answer = httpx.patch(f"{first.url}/v1/tenant/settings",
                             json={"hosted_keys_enabled": enabled},
                             headers=cluster.tenant.headers("admin"), timeout=10)
        assert answer.status_code == 200, answer.text

    set_hosted(False)
    try:
        committed = time.monotonic()
        delays = seconds_until(
            lambda s: chat_error_code(s, cluster.tenant) == "model_key_missing", others, committed
        )
        print(f"settings PATCH seen after {delays} s")
        assert None not in delays, f"hosted keys still used after {DEADLINE} s: {delays}"
    finally:
        set_hosted(True)
