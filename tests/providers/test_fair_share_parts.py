"""The parts of the fair-shares fix on their own (the end-to-end proof is
tests/reliability/test_fair_shares.py): the tenant slot counter, and what the
registry and the guarded transport are built with."""

from __future__ import annotations

import httpx
import pytest

from modelgate.providers.guarded_transport import GuardedTransport
from modelgate.providers.registry import CUSTOM_ENDPOINTS, ProviderRegistry
from modelgate.providers.tenant_slots import RateLimitExceeded, TenantSlots

STYLES = {"openai": "openai", "anthropic": "anthropic", "google": "google"}


def test_a_tenant_gets_limit_slots_then_429_and_others_are_unaffected() -> None:
    slots = TenantSlots(2)
    held = [slots.take("a"), slots.take("a")]
    with pytest.raises(RateLimitExceeded) as refused:
        slots.take("a")
    error = refused.value
    assert (error.status_code, error.type, error.code) == (429, "rate_limit_error", "rate_limit_exceeded")
    assert error.retryable and error.headers == {"Retry-After": "1"}
    with slots.take("b"):  # another tenant's share is its own
        assert slots.in_use("b") == 1
    held[0].release()
    held[0].release()  # idempotent: a second exit path does not free a slot twice
    assert slots.in_use("a") == 1
    slots.take("a").release()
    held[1].release()
    assert slots.in_use("a") == 0 and slots.tenants() == 0  # no entry left behind


async def test_a_stream_holds_its_slot_until_it_is_closed() -> None:
    slots = TenantSlots(1)

    async def chunks():
        yield b"one"
        yield b"two"

    stream = slots.take("a").held_through(chunks())
    assert await anext(stream) == b"one"
    assert slots.in_use("a") == 1  # past its first chunk, still held
    await stream.aclose()  # the client left mid-stream
    assert slots.tenants() == 0


async def test_the_registry_wires_event_limits_and_the_guarded_pool() -> None:
    transport = GuardedTransport(
        allow_private=True, limits=httpx.Limits(max_connections=8), max_per_host=3
    )
    registry = ProviderRegistry.build(
        STYLES, max_event_bytes=4321, custom_endpoint_transport=transport
    )
    try:
        for adapters in (registry.adapters, registry.custom_adapters):
            assert {a.max_event_bytes for a in adapters.values()} == {4321}
        assert registry.is_custom_endpoint(registry.custom_adapters["openai"], "openai")
        assert not registry.is_custom_endpoint(registry.adapters["openai"], "openai")
        # The pool is made on first use; any request makes it (nothing listens here).
        with pytest.raises(httpx.TransportError):
            await registry.clients[CUSTOM_ENDPOINTS].get("http://127.0.0.1:9/")
        assert transport.connector is not None
        assert (transport.connector.limit, transport.connector.limit_per_host) == (8, 3)
    finally:
        await registry.close_all()
