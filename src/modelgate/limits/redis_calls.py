"""The limits engine's own way of talking to Redis: a lean pool and pre-packed
commands, because redis-py's general path cost more CPU than the limits may.

Measured (docs/performance.md, "Limits cost"): one EVALSHA through
``Script.__call__`` cost about 85 µs of CPU, of which about 33 µs was
``BlockingConnectionPool``'s get and release (a condition, a timeout context, the
observability records of redis-py 8) and about 23 µs the general command path
(an encoder call per argument, the retry wrapper, events); the socket write and
the reply read were about 28 µs. Two of them per call (admit, settle) were far
over the 10 % of a call the limits may cost. So here:

* ``LeanPool`` keeps idle connections in a LIFO list and hands one over in a
  list pop; only when all ``size`` connections are busy does a caller wait (a
  future, at most ``timeout``, then ``ConnectionError`` as redis-py's pool).
  Its connections are made by the client's pool (same URL, timeouts, no
  retries) but are only ever counted here, so ``size`` bounds them all.
* A command is packed once into RESP bytes (``Packed``: the fixed head and the
  tenant's keys are cached; the figures are appended per call).
* The read alone is timed (``timeout`` per reply, then the connection is dropped
  and redis's ``TimeoutError`` raised): redis-py's ``socket_timeout`` would also wrap each
  write in ``asyncio.wait_for``, a task per command (9–18 µs of CPU each, measured),
  for a write of a few hundred bytes that a socket buffer always takes at once (a
  connection never has more than one command outstanding).
* Each connection is a ``RespConnection`` (limits/resp_connection.py: a raw
  ``asyncio.Protocol`` on hiredis's reader, a write and a future per command)
  rather than redis-py's connection (a ``StreamReader``, its parser's read loop and
  a timeout context per reply). Where that class would not be faithful (TLS, a
  credential provider, RESP3), redis-py's connection is kept (``RedisPyConnection``).
* A failure or a cancellation while a connection is out disconnects it before
  it goes back, so a half-read reply can never reach the next caller; it
  reconnects on its next use.
* NOSCRIPT (Redis restarted, its script cache empty) loads the script on that
  connection and sends the command once more, as redis-py's ``Script`` does.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError, NoScriptError
from redis.exceptions import TimeoutError as ReplyTimeout

from modelgate.limits.resp_connection import RespConnection, bulk, pack


class Script:
    """One Lua script: its source and SHA-1, and the packed head of its EVALSHA."""

    def __init__(self, source: str, sha: str, numkeys: int, numargs: int) -> None:
        self.load = pack(b"SCRIPT", b"LOAD", source.encode())
        # *<count> EVALSHA <sha> <numkeys>: the same for every call of this script.
        self.head = b"*%d\r\n" % (3 + numkeys + numargs) + bulk(b"EVALSHA") + bulk(
            sha.encode()) + bulk(b"%d" % numkeys)


class PoolConnection(Protocol):
    """What ``LeanPool`` needs of a connection: one command at a time."""

    async def request(self, packed: bytes) -> Any: ...

    async def drop(self) -> None: ...

    async def aclose(self) -> None: ...


class RedisPyConnection:
    """A redis-py connection behind ``PoolConnection``: for what ``RespConnection``
    declines (TLS, say)."""

    def __init__(self, connection: AbstractConnection, read_timeout: float) -> None:
        self.connection = connection
        self.read_timeout = read_timeout

    async def request(self, packed: bytes) -> Any:
        await self.connection.send_packed_command(packed, check_health=False)
        # With a timeout given, redis-py answers None when it passes (no script
        # of ours returns nil): the caller drops the connection, as for any failure.
        reply = await self.connection.read_response(timeout=self.read_timeout)
        if reply is None:
            raise ReplyTimeout("Timeout reading from redis")
        return reply

    async def drop(self) -> None:
        await self.connection.disconnect(nowait=True)

    async def aclose(self) -> None:
        await self.connection.disconnect()


class LeanPool:
    """At most ``size`` connections to the client's Redis (module docstring)."""

    def __init__(self, client: Redis, *, size: int, timeout: float) -> None:
        pool = client.connection_pool
        # Each reply waits at most the client's socket timeout (else the pool's wait).
        read_timeout = pool.connection_kwargs.get("socket_timeout") or timeout
        self._new_connection: Callable[[], PoolConnection] = RespConnection.factory(
            pool.connection_class, pool.connection_kwargs, read_timeout
        ) or self._redis_py_connections(pool.connection_class, pool.connection_kwargs,
                                        read_timeout)
        self._size = size
        self._timeout = timeout
        self._idle: list[PoolConnection] = []
        self._all: set[PoolConnection] = set()
        self._waiters: deque[asyncio.Future[PoolConnection]] = deque()

    @staticmethod
    def _redis_py_connections(connection_class: type[AbstractConnection],
                              kwargs: dict[str, Any],
                              read_timeout: float) -> Callable[[], PoolConnection]:
        kwargs = {**kwargs, "socket_timeout": None}  # the read alone is timed
        return lambda: RedisPyConnection(connection_class(**kwargs), read_timeout)

    async def evalsha(self, script: Script, packed: bytes) -> Any:
        """Run ``script`` with ``packed`` (its head, keys and arguments); its reply."""
        connection = await self._acquire()
        try:
            try:
                return await connection.request(packed)
            except NoScriptError:
                await connection.request(script.load)
                return await connection.request(packed)
        except BaseException:
            await connection.drop()
            raise
        finally:
            self._release(connection)

    async def command(self, *parts: bytes) -> Any:
        """Any other command (PING): rare, so packed on the spot."""
        connection = await self._acquire()
        try:
            return await connection.request(pack(*parts))
        except BaseException:
            await connection.drop()
            raise
        finally:
            self._release(connection)

    async def aclose(self) -> None:
        for connection in list(self._all):
            await connection.aclose()

    async def _acquire(self) -> PoolConnection:
        if self._idle:
            return self._idle.pop()
        if len(self._all) < self._size:
            connection = self._new_connection()
            self._all.add(connection)
            return connection  # it connects on its first command
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(waiter, self._timeout)
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                self._release(waiter.result())  # handed over just as the wait ended
            if isinstance(exc, TimeoutError):
                raise ConnectionError("No connection available.") from None
            raise

    def _release(self, connection: PoolConnection) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        self._idle.append(connection)
