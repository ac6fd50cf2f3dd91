"""Clients that drop: 100 after two chunks of a stream, 100 before the first byte.

Raw sockets play the clients, so that each drop is exactly where we say. After
every drop the fake upstream must see its connection closed (it counts them),
and when all is done the gateway must be back where it started: the same number
of tasks on its event loop, no upstream socket left open (counted by the kernel,
whatever HTTP transport the gateway uses), no client socket left open.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import orjson
import pytest

from tests.fakes.upstream import FakeUpstream, Script, events_of, run_fake_upstream
from tests.reliability.upstream_harness import (
    MODELS,
    gateway_task_count,
    open_connections,
    port_of,
    seeded_tenant,
    upstream_settings,
)
from tests.support import RunningGateway, SeededTenant, run_gateway

DROPS = 100
WAVE = 25  # clients in flight at once
SSE = "text/event-stream"
SETTLE = 20.0  # seconds allowed for the gateway to close everything after a wave
# Streams that have begun and then wait: no terminator, so only a drop ends them.
OPEN_ENDED = {
    "openai": events_of("openai_text.sse")[:-1],  # all but [DONE]
    "anthropic": events_of("anthropic_text.sse")[:-1],  # all but message_stop
    "google": events_of("google_text.sse")[:2],  # before the finish reason
}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeUpstream]:
    with run_fake_upstream() as fake:
        yield fake


@pytest.fixture(scope="module")
def tenant_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, SeededTenant]:
    return seeded_tenant(tmp_path_factory.mktemp("disconnects"))


@pytest.fixture
def gateway(tenant_db, fake: FakeUpstream) -> Iterator[RunningGateway]:
    """A fresh gateway per scenario, so that its starting counts are its own. Long
    timeouts: nothing but the client leaving may close an upstream call early."""
    with run_gateway(
        database_url=tenant_db[0],
        upstream_read_timeout=120.0,
        upstream_total_timeout=300.0,
        **upstream_settings(fake.url),
    ) as gw:
        yield gw


async def eventually(condition: Callable[[], bool], timeout: float = SETTLE) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return condition()
        await asyncio.sleep(0.02)
    return True


class Client:
    """One raw HTTP/1.1 client connection to the gateway."""

    def __init__(self, gateway: RunningGateway, tenant: SeededTenant) -> None:
        self.port = port_of(gateway.url)
        self.token = tenant.tokens["write"]

    async def post_stream(
        self, model: str, text: str
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        messages = [{"role": "user", "content": text}]
        body = orjson.dumps({"model": model, "messages": messages, "stream": True})
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(
            b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\n"
            b"authorization: Bearer " + self.token.encode() + b"\r\n"
            b"content-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(body) + body
        )
        await writer.drain()
        return reader, writer


async def drop(writer: asyncio.StreamWriter) -> None:
    writer.close()
    await writer.wait_closed()


def snapshot(gateway: RunningGateway, fake: FakeUpstream) -> dict[str, int]:
    return {
        "tasks": gateway_task_count(gateway),
        "upstream_sockets": open_connections(remote_port=port_of(fake.url)),  # the gateway's end
        "fake_sockets": open_connections(local_port=port_of(fake.url)),  # the fake's end
        "client_sockets": open_connections(local_port=port_of(gateway.url)),
    }


async def settled(
    gateway: RunningGateway, fake: FakeUpstream, start: dict[str, int]
) -> dict[str, int]:
    """The gateway's counts once they are back at ``start``, or after SETTLE seconds."""
    await eventually(lambda: snapshot(gateway, fake) == start)
    return snapshot(gateway, fake)


def waves() -> list[tuple[str, int]]:
    """DROPS clients in waves of WAVE, each wave on one provider, in turn."""
    providers = sorted(MODELS)
    return [
        (providers[i % len(providers)], min(WAVE, DROPS - n))
        for i, n in enumerate(range(0, DROPS, WAVE))
    ]


async def test_clients_dropping_after_two_chunks(gateway, tenant_db, fake, record_property) -> None:
    fake.reset()
    start = snapshot(gateway, fake)
    client = Client(gateway, tenant_db[1])
    began = time.monotonic()
    dropped = 0

    async def read_two_chunks_then_drop(model: str, i: int) -> None:
        reader, writer = await client.post_stream(model, f"drop-{i}")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert head.startswith(b"HTTP/1.1 200 "), head
        seen = b""
        while seen.count(b"\n\n") < 2:  # SSE events end with a blank line
            piece = await asyncio.wait_for(reader.read(4096), 10)
            assert piece, "the gateway ended the stream by itself"
            seen += piece
        await drop(writer)

    for provider, size in waves():
        script = Script(chunks=OPEN_ENDED[provider], hang_after=True, content_type=SSE)
        fake.next(*[script] * size)
        model = MODELS[provider]
        await asyncio.gather(*(read_two_chunks_then_drop(model, dropped + i) for i in range(size)))
        dropped += size
        # Each upstream stream was left hanging; only the gateway closing it ends it.
        assert await eventually(lambda: fake.disconnects == dropped and fake.active == 0), (
            fake.disconnects, fake.active, dropped)

    end = await settled(gateway, fake, start)
    record_property("drops", dropped)
    record_property("upstream_disconnects_seen", fake.disconnects)
    record_property("before", start)
    record_property("after", end)
    record_property("seconds", round(time.monotonic() - began, 2))
    assert dropped == DROPS and fake.disconnects == DROPS
    assert end == start


async def test_clients_dropping_before_the_first_byte(
    gateway, tenant_db, fake, record_property
) -> None:
    fake.reset()
    start = snapshot(gateway, fake)
    client = Client(gateway, tenant_db[1])
    began = time.monotonic()
    dropped = peak = 0
    logged_before = len(gateway.logs.text())

    for provider, size in waves():
        # The upstream holds its headers far longer than the test may run.
        fake.next(*[Script(delay=600, chunks=[], content_type=SSE)] * size)
        expected = len(fake.requests) + size
        connections = await asyncio.gather(
            *(client.post_stream(MODELS[provider], f"wait-{dropped + i}") for i in range(size))
        )
        # Drop only once every call is waiting on the upstream, not still in auth.
        assert await eventually(lambda: len(fake.requests) == expected), len(fake.requests)
        # The probes see what is in flight (else "back to the start" would prove nothing).
        busy = snapshot(gateway, fake)
        assert busy["tasks"] > start["tasks"]
        assert busy["upstream_sockets"] >= size and busy["fake_sockets"] >= size
        assert busy["client_sockets"] >= size
        peak = max(peak, busy["upstream_sockets"])
        await asyncio.gather(*(drop(writer) for _, writer in connections))
        dropped += size
        assert await eventually(lambda: fake.disconnects == dropped and fake.active == 0), (
            fake.disconnects, fake.active, dropped)

    end = await settled(gateway, fake, start)
    access = [
        orjson.loads(line) for line in gateway.logs.text()[logged_before:].splitlines()
        if '"path":"/v1/chat/completions"' in line
    ]
    record_property("drops", dropped)
    record_property("upstream_disconnects_seen", fake.disconnects)
    record_property("before", start)
    record_property("after", end)
    record_property("peak_upstream_sockets", peak)
    record_property("seconds", round(time.monotonic() - began, 2))
    assert dropped == DROPS and fake.disconnects == DROPS
    assert end == start
    # Each left before its answer began: 499 in the access log, never a 500.
    assert [entry.get("status") for entry in access] == [499] * DROPS
