"""Invalidation over Redis pub/sub: PUBLISH to one channel, every process SUBSCRIBEd to it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from modelgate.cluster.invalidation import REDIS_CHANNEL

# A silent network failure never raises on an idle subscription: ping it, and treat
# a connection that has not answered for _DEAD_AFTER seconds as lost.
_PING_EVERY = 5.0
_DEAD_AFTER = 15.0


class RedisPublisher:
    def __init__(self, url: str, *, timeout: float) -> None:
        # Its own small pool: an announce never waits behind the limits' traffic.
        self._client = redis.Redis.from_url(
            url, socket_connect_timeout=timeout, socket_timeout=timeout, max_connections=4
        )

    async def publish(self, payload: str) -> None:
        await self._client.publish(REDIS_CHANNEL, payload)

    async def close(self) -> None:
        await self._client.aclose()


class RedisSubscription:
    name = "Redis"

    def __init__(self, url: str, *, timeout: float) -> None:
        self._url = url
        self._timeout = timeout

    async def listen(
        self, deliver: Callable[[str | bytes], None], connected: Callable[[], None]
    ) -> None:
        # No silent retries inside redis-py: a lost connection must surface here, so
        # that the caches are cleared when it is back (redis-py would resubscribe quietly).
        client = redis.Redis.from_url(
            self._url,
            socket_connect_timeout=max(self._timeout, 1.0),
            socket_timeout=max(self._timeout, 5.0),
            socket_keepalive=True,
            retry=Retry(NoBackoff(), 0),
        )
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(REDIS_CHANNEL)
            connected()
            last_seen = last_ping = time.monotonic()
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                now = time.monotonic()
                if message is not None:
                    last_seen = now
                    if message["type"] == "message":
                        deliver(message["data"])
                if now - last_seen > _DEAD_AFTER:
                    raise ConnectionError("no answer from Redis")
                if now - last_ping > _PING_EVERY:
                    await pubsub.ping()  # its pong arrives as a message
                    last_ping = now
        finally:
            await asyncio.shield(_close(pubsub, client))


async def _close(pubsub: redis.client.PubSub, client: redis.Redis) -> None:
    try:
        await pubsub.aclose()
    finally:
        await client.aclose()
