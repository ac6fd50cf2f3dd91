"""The per-process listener: one background task, kept connected to the channel.

A channel (Redis pub/sub or PostgreSQL LISTEN) is a ``Subscription``: one call
of ``listen`` holds one connection and returns or raises when it is lost. This
task reconnects it with backoff for the life of the process. Each (re)connect
clears every registered cache, since messages sent while no connection was
listening are gone. While it is down the cache TTLs bound staleness; that is
logged once per outage, not once per retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger("modelgate.cluster")

_FIRST_RETRY = 0.1
_MAX_RETRY = 5.0


class Subscription(Protocol):
    name: str

    async def listen(
        self, deliver: Callable[[str | bytes], None], connected: Callable[[], None]
    ) -> None:
        """Hold one connection: call ``connected`` once subscribed, ``deliver`` per message;
        return or raise when the connection is lost."""
        ...


class InvalidationListener:
    def __init__(
        self,
        subscription: Subscription,
        *,
        receive: Callable[[str | bytes], None],
        clear_all: Callable[[], None],
    ) -> None:
        self._subscription = subscription
        self._receive = receive
        self._clear_all = clear_all
        self._task: asyncio.Task[None] | None = None
        self.connected = False
        # Times the listener has (re)subscribed: for /readyz-style checks and tests.
        self.connections = 0

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._run(), name="invalidation-listener")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    def _on_connected(self) -> None:
        # Whatever was announced while nobody listened is lost: start from empty caches.
        self._clear_all()
        if self.connections and not self.connected:
            log.info("invalidation listener reconnected to %s", self._subscription.name)
        self.connected = True
        self.connections += 1

    async def _run(self) -> None:
        delay = _FIRST_RETRY
        warned = False
        while True:
            error = "connection closed"
            try:
                await self._subscription.listen(self._receive, self._on_connected)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure: reconnect; TTLs bound staleness
                error = type(exc).__name__  # never the message: it may carry the URL
            if self.connected:
                delay, warned = _FIRST_RETRY, False  # a working connection was lost: retry soon
            self.connected = False
            if not warned:
                log.warning(
                    "invalidation listener on %s is down (%s); cached tokens and keys are "
                    "dropped at their TTL until it is back",
                    self._subscription.name,
                    error,
                )
                warned = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, _MAX_RETRY)
