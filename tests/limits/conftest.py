"""The two engines, built the way ``build_limits`` builds them, on a throwaway Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from modelgate.config import load_settings
from modelgate.limits.local import LocalLimits
from modelgate.limits.redis_engine import RedisLimits
from modelgate.limits.types import MonthSeed
from tests.limits.redis_server import RedisServer, redis_server  # noqa: F401 (fixture)

EngineFactory = Callable[..., LocalLimits | RedisLimits]


@pytest.fixture
def tenant() -> str:
    """A tenant of its own per test: the session's Redis is shared by every test."""
    return f"tn_{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["local", "redis"])
async def make_engine(
    request: pytest.FixtureRequest, redis_server: RedisServer  # noqa: F811
) -> AsyncIterator[EngineFactory]:
    """``make_engine(reservation_ttl=…, seed=…)``: the parametrised engine."""
    built: list[RedisLimits] = []

    def make(*, reservation_ttl: float = 900.0, seed: MonthSeed | None = None):
        if request.param == "local":
            return LocalLimits(reservation_ttl=reservation_ttl, seed=seed)
        settings = load_settings(
            redis_url=redis_server.url, reservation_ttl=reservation_ttl, redis_timeout=2.0
        )
        engine = RedisLimits.from_settings(settings, seed=seed)
        built.append(engine)
        return engine

    yield make
    for engine in built:
        await engine.aclose()
