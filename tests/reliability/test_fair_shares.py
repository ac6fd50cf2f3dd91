"""Fair shares of what every tenant's custom endpoints share (issue 12, item 4).

Tenant A points its base_url at an endpoint that holds every connection open and
trickles a byte at a time (``slow_endpoint.TrickleEndpoint``), or at a host name
whose DNS server never answers. Tenant B has its own base_url (the loopback fake
on another address) and makes hosted calls. Whatever A does, B's calls finish
on time, and A learns at once (429) when it is over its share.

Each test runs a real gateway (uvicorn, the real app) on a private SQLite file:
the database is not what these tests are about.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from modelgate.db import create_engine, session_factory
from modelgate.keys.service import put_key
from tests.fakes.upstream import FakeUpstream, run_fake_upstream
from tests.reliability.slow_endpoint import (
    TrickleEndpoint,
    queries_received,
    silent_nameserver,
    trickle_endpoint,
)
from tests.reliability.upstream_harness import seeded_tenant, upstream_settings
from tests.support import RunningGateway, SeededTenant, run_gateway

PROMPT_BOUND = 3.0  # seconds: generous for a loopback call, far below any queue behind A (~10 s)
REFUSED_AT_ONCE = 0.5  # seconds: a 429 that does not wait
A_KEY = "sk-fair-shares-tenant-a-0123456789"
B_KEY = "sk-fair-shares-tenant-b-0123456789"


def chat(content: str = "Hi", *, model: str = "gpt-4o", stream: bool = False) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": content}], "stream": stream}


@pytest.fixture
def tenants(tmp_path: Path) -> tuple[str, SeededTenant, SeededTenant]:
    url, a = seeded_tenant(tmp_path)
    _, b = seeded_tenant(tmp_path)
    return url, a, b


@pytest.fixture
def fake() -> Iterator[FakeUpstream]:
    with run_fake_upstream() as fake:
        yield fake


@contextmanager
def gateway_for(url: str, fake: FakeUpstream, **settings: object) -> Iterator[RunningGateway]:
    with run_gateway(
        database_url=url,
        allow_private_base_urls=True,
        upstream_connect_timeout=5.0,  # a call queued for a connection waits this (and as long again)
        upstream_read_timeout=10.0,  # longer than any test: the trickle keeps A's reads alive
        **upstream_settings(fake.url),
        **settings,
    ) as gw:
        yield gw


def put_base_url(gw: RunningGateway, tenant: SeededTenant, key: str, base_url: str) -> None:
    answer = httpx.put(
        f"{gw.url}/v1/tenant/model_keys/openai",
        json={"api_key": key, "base_url": base_url},
        headers=tenant.headers(),
    )
    assert answer.status_code == 200, answer.text


async def timed_call(
    client: httpx.AsyncClient,
    gw: RunningGateway,
    tenant: SeededTenant,
    body: dict,
    timeout: float = 30.0,
) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    answer = await client.post(
        f"{gw.url}/v1/chat/completions",
        json=body,
        headers=tenant.headers("write"),
        timeout=timeout,
    )
    return answer, time.monotonic() - started


async def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the gateway"
        await asyncio.sleep(0.02)


async def assert_b_on_time(
    client: httpx.AsyncClient, gw: RunningGateway, b: SeededTenant
) -> None:
    """B's call to its own base_url and B's hosted call both answer, promptly."""
    for body in (chat(), chat(model="claude-haiku-4-5")):
        answer, took = await timed_call(client, gw, b, body)
        assert answer.status_code == 200, answer.text
        assert took < PROMPT_BOUND, f"B's {body['model']} call took {took:.2f} s"


async def test_a_slow_host_holds_no_more_than_its_share_of_the_pool(
    tenants: tuple[str, SeededTenant, SeededTenant], fake: FakeUpstream
) -> None:
    """Six calls of A's hang on its trickling endpoint. The custom-endpoints pool
    has 4 connections; without a per-host limit A's calls take all 4 and B's
    call to its own endpoint queues behind them."""
    url, a, b = tenants
    with (
        trickle_endpoint() as slow,
        gateway_for(
            url, fake, upstream_max_connections=4, custom_endpoint_max_per_host=2
        ) as gw,
    ):
        put_base_url(gw, a, A_KEY, slow.url)
        put_base_url(gw, b, B_KEY, f"{fake.url}/v1")
        async with httpx.AsyncClient(timeout=30) as client:
            held = [asyncio.create_task(timed_call(client, gw, a, chat())) for _ in range(6)]
            try:
                await wait_until(lambda: slow.open >= 2)
                await asyncio.sleep(0.3)  # time for the other four to take what they can
                await assert_b_on_time(client, gw, b)
                assert slow.open == 2, "A's host holds more connections than its share"
                assert not any(task.done() for task in held)  # A's calls were really held
            finally:
                for task in held:
                    task.cancel()


async def test_a_tenant_over_its_cap_is_refused_at_once_and_every_exit_frees_its_slot(
    tenants: tuple[str, SeededTenant, SeededTenant], fake: FakeUpstream
) -> None:
    """A has 3 slots. Three streams that go on (the trickle) hold all of them: a
    4th call gets 429 at once, and the upstream never sees it; B is unaffected.
    Then each way a call can end gives its slot back, and at the end no entry
    is left for either tenant."""
    url, a, b = tenants
    with (
        trickle_endpoint() as slow,
        gateway_for(url, fake, custom_endpoint_tenant_concurrency=3) as gw,
    ):
        put_base_url(gw, a, A_KEY, slow.url)
        put_base_url(gw, b, B_KEY, f"{fake.url}/v1")
        slots = gw.gateway.custom_endpoint_slots
        async with httpx.AsyncClient(timeout=30) as client:
            streams = [await open_stream(client, gw, a) for _ in range(3)]
            assert slots.in_use(a.id) == 3 and slow.accepted == 3

            refused, took = await timed_call(client, gw, a, chat(), timeout=3.0)
            assert refused.status_code == 429, refused.text
            assert took < REFUSED_AT_ONCE, f"the 429 took {took:.2f} s"
            assert refused.json()["error"]["code"] == "rate_limit_exceeded"
            assert refused.json()["error"]["type"] == "rate_limit_error"
            assert refused.headers["retry-after"] == "1"
            assert refused.headers["x-should-retry"] == "true"
            assert slow.accepted == 3  # the upstream was not called

            # B's own endpoint and hosted calls: B has slots of its own. Success frees B's.
            await assert_b_on_time(client, gw, b)
            assert slots.in_use(b.id) == 0

            # The client leaves mid-stream.
            await streams.pop()[0].aclose()
            await wait_until(lambda: slots.in_use(a.id) == 2)

            # The upstream fails before its first byte (a plain call, then a stream).
            for body in (chat("fail"), chat("fail", stream=True)):
                failed, _ = await timed_call(client, gw, a, body)
                assert failed.status_code == 502, failed.text
                assert slots.in_use(a.id) == 2

            # The client gives up while the upstream holds back its headers (the call
            # is cancelled inside the gateway), for a plain call and a stream.
            for body in (chat("hang"), chat("hang", stream=True)):
                with pytest.raises(httpx.ReadTimeout):
                    await client.post(
                        f"{gw.url}/v1/chat/completions",
                        json=body,
                        headers=a.headers("write"),
                        timeout=httpx.Timeout(30, read=0.3),
                    )
                await wait_until(lambda: slots.in_use(a.id) == 2)

            # A's endpoint drops the two streams that are left, mid-stream.
            slow.stop()
            for response, chunks in streams:
                tail = b"".join([chunk async for chunk in chunks])
                assert b'"error"' in tail  # ended with the gateway's error event
                await response.aclose()
            await wait_until(lambda: slots.in_use(a.id) == 0)
            assert slots.tenants() == 0  # no entry is kept for an idle tenant


async def open_stream(
    client: httpx.AsyncClient, gw: RunningGateway, tenant: SeededTenant
) -> tuple[httpx.Response, AsyncIterator[bytes]]:
    """A stream that has begun: its status and its first event have arrived. The
    iterator reads the rest (closing it would close the stream)."""
    request = client.build_request(
        "POST",
        f"{gw.url}/v1/chat/completions",
        json=chat(stream=True),
        headers=tenant.headers("write"),
    )
    response = await client.send(request, stream=True)
    assert response.status_code == 200
    chunks = response.aiter_raw()
    assert b"Hello" in await anext(chunks)
    return response, chunks


async def test_a_stalled_dns_costs_a_its_own_calls_only(
    tenants: tuple[str, SeededTenant, SeededTenant], fake: FakeUpstream
) -> None:
    """A's base_url names a host whose DNS server never answers (the name resolved
    when the key was set; the records went bad later). A's calls fail with 504
    after MODELGATE_DNS_TIMEOUT, not after the connect timeout; B's calls, one of
    which needs a lookup of its own (``localhost``), finish on time meanwhile."""
    url, a, b = tenants
    dns_timeout = 0.5
    with (
        silent_nameserver() as (nameserver, queries),
        gateway_for(url, fake, custom_endpoint_nameservers=nameserver, dns_timeout=dns_timeout) as gw,
    ):
        put_base_url(gw, b, B_KEY, f"http://localhost:{fake.url.rsplit(':', 1)[1]}/v1")
        await store_key(url, gw, a, "http://a.stalls.test:9/v1")
        async with httpx.AsyncClient(timeout=30) as client:
            a_calls = [timed_call(client, gw, a, chat()) for _ in range(8)]
            answers = await asyncio.gather(*a_calls, assert_b_on_time(client, gw, b))
        for answer, took in answers[:-1]:
            assert answer.status_code == 504, answer.text
            assert answer.json()["error"]["code"] == "upstream_timeout"
            # Bounded by the lookup timeout, not by a stalled server (a generous margin:
            # on a loaded 2-core CI machine the event loop itself can lag by a second).
            assert took < dns_timeout + 3.0, f"A's lookup took {took:.2f} s"
        assert queries_received(queries) >= 1  # the stall was the DNS server's


async def store_key(url: str, gw: RunningGateway, tenant: SeededTenant, base_url: str) -> None:
    """Store a key through the keys service (the PUT endpoint would resolve the
    host now, and this one does not resolve any more)."""
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session, session.begin():
            await put_key(
                session,
                keyring=gw.gateway.keyring,
                tenant_id=tenant.id,
                provider="openai",
                api_key=A_KEY,
                base_url=base_url,
            )
    finally:
        await engine.dispose()
