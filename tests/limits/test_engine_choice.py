"""The backend is chosen once, from the settings."""

from __future__ import annotations

import pytest

from modelgate.config import SettingsError, load_settings
from modelgate.limits.engine import build_limits
from modelgate.limits.fallback import FallbackLimits
from modelgate.limits.local import LocalLimits
from tests.limits.redis_server import RedisServer


async def test_no_redis_url_means_local_limits() -> None:
    engine = build_limits(load_settings(redis_url=None))
    assert isinstance(engine, LocalLimits) and engine.status == "local"


async def test_a_redis_url_means_redis_with_a_local_fallback(redis_server: RedisServer) -> None:
    engine = build_limits(load_settings(redis_url=redis_server.url, redis_pool_size=3))
    try:
        assert isinstance(engine, FallbackLimits) and engine.status == "redis"
        assert engine.redis.client.connection_pool.max_connections == 3
    finally:
        await engine.aclose()


def test_a_redis_url_that_is_not_one_stops_the_start() -> None:
    with pytest.raises(SettingsError, match="MODELGATE_REDIS_URL: .*redis://"):
        load_settings(redis_url="http://127.0.0.1:6379")
