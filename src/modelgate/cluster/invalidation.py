"""Dropping cached copies everywhere when what they copy changes.

The hot path reads tokens, keys and tenant settings from per-process caches. A
change (a revoked token, a key put or deleted, new settings or limits) is made
in one process, or by the CLI, a process of its own; every other process must
drop its copy at once, not when a TTL runs out. So whoever makes the change
``announce``s it: this process drops its own entries at once, then the message
goes out on a channel (Redis pub/sub, or PostgreSQL NOTIFY) that a listener in
each process hears (cluster/listener.py). The TTLs stay, as the bound on
staleness while a listener is down.

A message names a kind and a key, never a secret: a token is named by its
SHA-256 digest (what the database stores), everything else by the tenant id.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol, get_args

from modelgate.cluster.listener import InvalidationListener, Subscription

log = logging.getLogger("modelgate.cluster")

Kind = Literal["token", "keys", "settings", "limits", "configs", "groups"]
KINDS: frozenset[str] = frozenset(get_args(Kind))

# Redis channel name and PostgreSQL LISTEN channel (an identifier: no colon).
REDIS_CHANNEL = "mg:invalidate"
PG_CHANNEL = "mg_invalidate"

# PostgreSQL refuses a NOTIFY payload of 8000 bytes or more; ours are ~100.
_MAX_PAYLOAD = 1000


class Publisher(Protocol):
    """Sends one encoded message to every process's listener."""

    async def publish(self, payload: str) -> None: ...

    async def close(self) -> None: ...


class NoPublisher:
    """One process on SQLite: there is nobody to tell."""

    async def publish(self, payload: str) -> None:
        return None

    async def close(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class Message:
    kind: Kind
    key: str
    # Which process sent it: the sender has already dropped its own entries.
    origin: str

    def encode(self) -> str:
        return f"{self.kind} {self.origin} {self.key}"

    @classmethod
    def decode(cls, payload: str | bytes) -> Message | None:
        """The message, or None for anything malformed (it is ignored, never fatal)."""
        if isinstance(payload, bytes):
            payload = payload.decode("utf-8", "replace")
        if len(payload) > _MAX_PAYLOAD:
            return None
        parts = payload.split(" ")
        if len(parts) != 3 or parts[0] not in KINDS or not parts[2]:
            return None
        return cls(parts[0], parts[2], parts[1])  # type: ignore[arg-type]


def message_for(kind: Kind, key: str, *, origin: str = "cli") -> str:
    """The payload announcing a change of ``kind`` for ``key`` (a digest or a tenant id)."""
    if kind not in KINDS:
        raise ValueError(f"unknown invalidation kind {kind!r}")
    if not key or " " in key:
        raise ValueError("an invalidation key is a digest or an id, without spaces")
    return Message(kind, key, origin).encode()


def _nothing() -> None:
    return None


@dataclass(slots=True)
class _Cache:
    drop: Callable[[str], None]
    clear: Callable[[], None]


class Invalidations:
    """The registry of caches by kind, and the way out to the other processes.

    A cache registers how to drop one key and how to clear everything (used when
    the listener (re)connects: messages sent while it was away are lost)."""

    def __init__(
        self,
        publisher: Publisher | None = None,
        subscription: Subscription | None = None,
        *,
        publish_timeout: float = 2.0,
    ) -> None:
        self.publisher: Publisher = publisher or NoPublisher()
        # None: one process (SQLite), nothing to hear.
        self.listener = (
            InvalidationListener(subscription, receive=self.receive, clear_all=self.clear_all)
            if subscription is not None
            else None
        )
        # An admin request waits at most this long for the channel before answering.
        self.publish_timeout = publish_timeout
        self.origin = uuid.uuid4().hex[:16]
        self._caches: dict[str, list[_Cache]] = {kind: [] for kind in KINDS}
        self._publish_failing = False

    def start(self) -> None:
        if self.listener is not None:
            self.listener.start()

    async def close(self) -> None:
        try:
            if self.listener is not None:
                await self.listener.stop()
        finally:
            await self.publisher.close()

    def register(
        self, kind: Kind, *, drop: Callable[[str], None], clear: Callable[[], None] | None = None
    ) -> None:
        """``drop(key)`` on each message of ``kind``; ``clear()`` (once per cache, so
        give it for one kind only) whenever messages may have been missed."""
        self._caches[kind].append(_Cache(drop, clear or _nothing))

    def drop(self, kind: Kind, key: str) -> None:
        """Drop this process's entries for ``key``."""
        for cache in self._caches[kind]:
            cache.drop(key)

    def clear_all(self) -> None:
        for caches in self._caches.values():
            for cache in caches:
                cache.clear()

    def receive(self, payload: str | bytes) -> None:
        """A message from the channel: drop what it names, unless we sent it."""
        message = Message.decode(payload)
        if message is None:
            log.debug("invalidation message ignored: malformed")
            return
        if message.origin != self.origin:
            self.drop(message.kind, message.key)

    async def announce(self, kind: Kind, key: str) -> None:
        """After a committed change: drop here at once, then tell every other process.

        Never raises for the channel: the change is committed, and the TTLs bound
        what the others serve if the message is lost."""
        self.drop(kind, key)
        try:
            async with asyncio.timeout(self.publish_timeout):
                await self.publisher.publish(message_for(kind, key, origin=self.origin))
        except Exception as exc:  # noqa: BLE001 - any channel failure degrades to the TTL
            if not self._publish_failing:
                log.warning(
                    "invalidation not published (%s); other processes drop their copy "
                    "within the cache TTL",
                    type(exc).__name__,
                )
            self._publish_failing = True
        else:
            self._publish_failing = False
