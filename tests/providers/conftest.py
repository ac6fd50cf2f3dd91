"""Fixtures of the provider tests: a pooled client as the registry builds it, and
respx in front of it (nothing reaches the network)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
import respx

from modelgate.providers.base import HTTPAdapter, Timeouts
from modelgate.providers.registry import adapter_class, build_client


@pytest.fixture
def upstream() -> Iterator[respx.MockRouter]:
    # using="httpx": respx stands in for whatever transport the client has (ours is aiohttp).
    with respx.mock(using="httpx", assert_all_called=False, assert_all_mocked=True) as router:
        yield router


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    client = build_client(Timeouts(connect=1.0, read=2.0, total=5.0))
    yield client
    await client.aclose()


@pytest.fixture
def make_adapter(client: httpx.AsyncClient) -> Callable[..., HTTPAdapter]:
    def make(style: str, timeouts: Timeouts | None = None, **options: object) -> HTTPAdapter:
        return adapter_class(style)(client, timeouts or Timeouts(1.0, 2.0, 5.0), **options)

    return make
