"""Several processes behaving as one gateway: cache invalidation across them.

The channel is chosen once, here: Redis pub/sub when ``MODELGATE_REDIS_URL`` is
set, else PostgreSQL LISTEN/NOTIFY, else (SQLite: one process) none.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from modelgate.cluster.invalidation import KINDS, Invalidations, Kind, message_for
from modelgate.cluster.pg_channel import PgPublisher, PgSubscription
from modelgate.cluster.redis_channel import RedisPublisher, RedisSubscription
from modelgate.config import Settings
from modelgate.db import create_engine

__all__ = ["KINDS", "Invalidations", "Kind", "announce_once", "build_invalidations"]


def build_invalidations(settings: Settings, engine: AsyncEngine) -> Invalidations:
    """The process's registry, with its publisher and (started later) listener."""
    if settings.redis_url is not None:
        url = settings.redis_url.get_secret_value()
        return Invalidations(
            RedisPublisher(url, timeout=settings.redis_timeout),
            RedisSubscription(url, timeout=settings.redis_timeout),
        )
    if not settings.is_sqlite:
        return Invalidations(PgPublisher(engine), PgSubscription(settings.database_url))
    return Invalidations()


async def announce_once(settings: Settings, kind: Kind, key: str) -> bool:
    """From a process without caches of its own (the CLI), after its commit: tell
    every serving process. False when the channel could not be reached (they then
    drop their copy at their cache TTL)."""
    payload = message_for(kind, key)
    if settings.redis_url is not None:
        url = settings.redis_url.get_secret_value()
        publisher = RedisPublisher(url, timeout=settings.redis_timeout)
        try:
            await publisher.publish(payload)
        except Exception:  # noqa: BLE001 - reported to the caller as "not announced"
            return False
        finally:
            await publisher.close()
        return True
    if settings.is_sqlite:
        return True
    engine = create_engine(settings.database_url)
    try:
        await PgPublisher(engine).publish(payload)
    except Exception:  # noqa: BLE001 - as above
        return False
    finally:
        await engine.dispose()
    return True
