"""The invalidation channel going away and coming back (issue 14, item 4).

Two gateways (each with its own caches, as two processes have) on one SQLite file
and one throwaway Redis. While Redis is down a key PUT still answers 200 (the
change is committed; only the message is lost) and each gateway says so once in
its log. When Redis is back the listener reconnects and drops every cached copy,
since it cannot know what it missed: the other gateway uses the new key seconds
later, not at its 60 s cache TTL.

On PostgreSQL, the server ending the listener's dedicated connection (a restart,
a failover, an idle-session killer) is the same story: it reconnects, and the
next change is seen within 1 s again.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests import canaries
from tests.fakes.upstream import FakeUpstream, run_fake_upstream
from tests.limits.redis_server import RedisServer
from tests.reliability.upstream_harness import seeded_tenant
from modelgate.cluster.pg_channel import APPLICATION_NAME
from tests.support import RunningGateway, SeededTenant, run_gateway

HOSTED_KEY = "sk-hosted-openai-outage-0123456789"
TENANT_KEY = "sk-tenant-outage-0123456789abcdef"
CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Say hello."}]}


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, f"not within {timeout} s: {what}"
        time.sleep(0.05)
    return time.monotonic() - started


def key_sent(fake: FakeUpstream, gw: RunningGateway, tenant: SeededTenant) -> str:
    answer = httpx.post(f"{gw.url}/v1/chat/completions", json=CHAT,
                        headers=tenant.headers("write"), timeout=10)
    assert answer.status_code == 200, answer.text
    return fake.last.headers["authorization"].removeprefix("Bearer ")


def listening(gw: RunningGateway) -> bool:
    return gw.gateway.invalidations.listener.connected


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="mg-invalidation-outage-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_change_missed_during_a_redis_outage_is_dropped_on_reconnect(workdir: Path) -> None:
    database_url, tenant = seeded_tenant(workdir)
    canaries.register(TENANT_KEY)
    redis = RedisServer().start()
    redis_url = redis.url
    try:
        with run_fake_upstream() as fake:
            settings = {
                "database_url": database_url, "redis_url": redis_url,
                "token_cache_ttl": 60, "key_cache_ttl": 60,
                "openai_base_url": f"{fake.url}/v1", "openai_api_key": HOSTED_KEY,
            }
            with run_gateway(**settings) as writer, run_gateway(**settings) as reader:
                wait_for(lambda: listening(writer) and listening(reader), 10, "both listening")
                assert key_sent(fake, reader, tenant) == HOSTED_KEY  # cached for 60 s

                redis.kill()
                wait_for(lambda: not listening(reader), 10, "the reader sees Redis gone")

                put = httpx.put(f"{writer.url}/v1/tenant/model_keys/openai",
                                json={"api_key": TENANT_KEY}, headers=tenant.headers("admin"),
                                timeout=10)
                assert put.status_code == 200, put.text  # committed; only the message is lost
                assert key_sent(fake, writer, tenant) == TENANT_KEY
                assert key_sent(fake, reader, tenant) == HOSTED_KEY  # missed it: still cached

                redis.start()  # the same port, empty: as a restarted Redis without persistence
                waited = wait_for(lambda: key_sent(fake, reader, tenant) == TENANT_KEY, 10,
                                  "the reader drops its stale copy once Redis is back")
                print(f"stale copy dropped {waited:.2f} s after Redis came back")
            # Said once per outage by each listener, not once per retry (logging is per
            # process: both gateways' lines reach each stream); never the URL.
            log = reader.logs.text()
            assert log.count("invalidation listener on Redis is down") == 2
            assert log.count("invalidation listener reconnected to Redis") == 2
            assert log.count("invalidation not published") == 1
            assert redis_url not in log
    finally:
        redis.kill()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_postgres_listener_cut_by_the_server_reconnects(
    database_url: str, clean_engine: AsyncEngine, tenant: SeededTenant
) -> None:
    canaries.register(TENANT_KEY)
    with run_fake_upstream() as fake:
        settings = {
            "database_url": database_url, "token_cache_ttl": 60, "key_cache_ttl": 60,
            "openai_base_url": f"{fake.url}/v1", "openai_api_key": HOSTED_KEY,
        }
        with run_gateway(**settings) as writer, run_gateway(**settings) as reader:
            await _async_wait(lambda: listening(writer) and listening(reader), 10)
            before = reader.gateway.invalidations.listener.connections
            async with clean_engine.connect() as connection:
                ended = await connection.scalar(text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND application_name = :name"
                ), {"name": APPLICATION_NAME})
            # Ours (one listener per gateway), and any of a gateway other tests left running
            # on this database: they reconnect as well.
            assert ended >= 2
            await _async_wait(
                lambda: reader.gateway.invalidations.listener.connections > before, 10
            )
            assert await _to_thread(key_sent, fake, reader, tenant) == HOSTED_KEY  # cached

            put = await _to_thread(lambda: httpx.put(
                f"{writer.url}/v1/tenant/model_keys/openai", json={"api_key": TENANT_KEY},
                headers=tenant.headers("admin"), timeout=10,
            ))
            assert put.status_code == 200, put.text
            started = time.monotonic()
            while await _to_thread(key_sent, fake, reader, tenant) != TENANT_KEY:
                assert time.monotonic() - started < 1.0, "not heard after reconnecting"
                await asyncio.sleep(0.02)


async def _async_wait(check: Callable[[], bool], timeout: float) -> None:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, "timed out"
        await asyncio.sleep(0.05)


async def _to_thread(function, *args):  # type: ignore[no-untyped-def]
    return await asyncio.to_thread(function, *args)
