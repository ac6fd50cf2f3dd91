"""/readyz says where the limits are counted (CONTRACT-2: "limits": "local" while
Redis is unreachable), and the gateway keeps serving with per-process limits."""

from __future__ import annotations

import time

import httpx

from tests.limits.redis_server import RedisServer
from tests.support import SeededTenant, run_gateway


def readyz(url: str) -> dict[str, str]:
    response = httpx.get(f"{url}/readyz", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_without_redis_the_limits_are_local(database_url: str) -> None:
    with run_gateway(database_url=database_url) as gateway:
        assert readyz(gateway.url) == {"status": "ready", "limits": "local"}


def test_readyz_says_local_once_redis_is_gone(database_url: str, other_tenant: SeededTenant) -> None:
    server = RedisServer().start()
    try:
        with run_gateway(database_url=database_url, redis_url=server.url) as gateway:
            # The engine learns of Redis by using it: until then, and while it answers, "redis".
            assert readyz(gateway.url)["limits"] == "redis"
            server.kill()
            deadline = time.monotonic() + 10
            seen = None
            while time.monotonic() < deadline:
                # Any use of the engine notices the outage: /v1/tenant/limits asks it.
                limits = httpx.get(
                    f"{gateway.url}/v1/tenant/limits", headers=other_tenant.headers("read"), timeout=10
                )
                assert limits.status_code == 200, limits.text  # never a 500 for Redis
                seen = readyz(gateway.url)["limits"]
                if seen == "local":
                    break
                time.sleep(0.1)
            assert seen == "local"
    finally:
        server.kill()
