"""Against a real socket on loopback: what a mock transport cannot show.

A real read timeout inside a stream, a real refused connection, and a client
that goes away closing the real upstream connection.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from modelgate.errors import UpstreamTimeout, UpstreamUnavailable
from modelgate.providers.base import Timeouts
from modelgate.providers.registry import ProviderRegistry, build_client
from tests.providers.helpers import (
    CANARY,
    SSE_HEAD,
    LoopbackServer,
    assert_no_secret,
    chat,
    chunked,
    collect,
    deltas,
    events,
    fixture,
    split_events,
    target,
)

FAST = Timeouts(connect=1.0, read=0.3, total=5.0)


@pytest.fixture
async def providers():
    registry = ProviderRegistry.build(
        {"anthropic": "anthropic", "openai": "openai", "google": "google"}, FAST
    )
    yield registry
    await registry.close_all()


async def test_a_whole_stream_over_real_http(providers) -> None:
    raw = fixture("anthropic_text.sse")
    steps: list[bytes | float] = [chunked(raw[i : i + 37]) for i in range(0, len(raw), 37)]
    server = LoopbackServer(SSE_HEAD, [*steps, b"0\r\n\r\n"])
    async with server.running():
        adapter = providers.adapter_for("anthropic")
        out = await collect(
            adapter.stream(*chat(stream=True), target("anthropic", base_url=server.url))
        )
    # The usage chunk is always there for the meter; the gateway strips it for a
    # client that did not ask (tests/metering).
    tail = deltas(events(out))[-3:]
    assert tail[0] == ({}, "stop") and "usage" in tail[1] and tail[2] == "[DONE]"
    request = server.requests[0]
    assert request.startswith(b"POST /v1/messages HTTP/1.1")
    assert b"x-api-key: " + CANARY.encode() in request


async def test_a_real_idle_timeout_mid_stream_ends_with_an_error_event(providers) -> None:
    # The role-only delta and the first content: the stream has begun (before the
    # first content, a failure raises instead: providers/holdback.py).
    first = b"".join(split_events(fixture("openai_text.sse"))[:2])
    server = LoopbackServer(SSE_HEAD, [chunked(first), 3.0])
    async with server.running():
        adapter = providers.adapter_for("openai")
        out = await collect(
            adapter.stream(*chat(stream=True), target("openai", base_url=server.url))
        )
        await asyncio.wait_for(server.disconnected.wait(), 2)
    items = events(out)
    assert items[0]["choices"][0]["delta"]["role"] == "assistant"
    assert items[-1]["error"]["code"] == "upstream_timeout"
    assert "[DONE]" not in items


async def test_a_real_timeout_before_the_answer_raises(providers) -> None:
    server = LoopbackServer(b"", [3.0])  # accepts, reads, never answers
    async with server.running():
        with pytest.raises(UpstreamTimeout) as raised:
            await providers.adapter_for("google").complete(
                *chat(), target("google", base_url=server.url)
            )
    assert isinstance(raised.value.__cause__, httpx.ReadTimeout)
    assert_no_secret(raised.value)


async def test_a_refused_connection_is_unavailable(providers) -> None:
    server = LoopbackServer(b"")
    async with server.running():
        closed_url = server.url  # the port is free again once the server is gone
    with pytest.raises(UpstreamUnavailable) as raised:
        await providers.adapter_for("openai").complete(
            *chat(), target("openai", base_url=closed_url)
        )
    assert isinstance(raised.value.__cause__, httpx.ConnectError)
    assert_no_secret(raised.value)


async def test_a_client_that_goes_away_closes_the_upstream_connection(providers) -> None:
    start = split_events(fixture("google_text.sse"))[0]
    server = LoopbackServer(SSE_HEAD, [chunked(start), 30.0])
    async with server.running():
        stream = providers.adapter_for("google").stream(
            *chat(stream=True), target("google", base_url=server.url)
        )
        await anext(stream)
        assert not server.disconnected.is_set()
        await stream.aclose()
        await asyncio.wait_for(server.disconnected.wait(), 1)


async def test_registry_clients_are_pooled_and_do_not_read_the_environment() -> None:
    client = build_client(FAST, max_connections=7, max_keepalive_connections=3)
    server = LoopbackServer(b"HTTP/1.1 204 No Content\r\n\r\n")
    try:
        assert client.follow_redirects is False
        assert client.trust_env is False
        assert client.timeout == httpx.Timeout(connect=1.0, read=0.3, write=0.3, pool=1.0)
        async with server.running():
            assert (await client.get(server.url)).status_code == 204
        pool = client._transport.connector  # made by the first request
        assert pool is not None and pool.limit == 7  # the limit reached the connection pool
    finally:
        await client.aclose()
