"""One Redis connection as a raw ``asyncio.Protocol`` on hiredis's ``Reader``: what
``LeanPool`` (limits/redis_calls.py) sends its commands over.

redis-py's connection wraps each command in its own plumbing: a ``StreamReader``,
the parser's read loop and an ``asyncio.timeout`` context per read. A connection
of ``LeanPool`` never has more than one command outstanding, so here a command is
one synchronous ``transport.write`` and one future, which ``data_received`` sets
from hiredis's ``Reader``; the read timeout is a ``loop.call_later`` on that
future (no task, no timeout context).

It is made from the client pool's own ``connection_kwargs`` (``RespConnection.
factory``) and behaves as redis-py's connection there:

* it connects lazily, on its first command (TCP, or a unix socket), within
  ``socket_connect_timeout``, then sends AUTH (with the username if one is given),
  CLIENT SETNAME and SELECT as redis-py's ``on_connect`` does;
* replies are the values redis-py gives with ``decode_responses=False`` (its
  hiredis parser is this same ``Reader``), and an error reply raises the exception
  redis-py's ``parse_error`` makes of it (NOSCRIPT is ``NoScriptError``);
* a refused or lost connection raises redis's ``ConnectionError``, a connect or a
  reply later than its timeout redis's ``TimeoutError``; a late reply also aborts
  the connection, so it can never be read as the answer to the next command.

What it cannot do as faithfully (TLS, a credential provider, RESP3, decoded
replies) ``factory`` declines, and ``LeanPool`` keeps redis-py's connection.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Mapping
from typing import Any

import hiredis
from redis._parsers.base import BaseParser
from redis.asyncio.connection import (
    Connection,
    UnixDomainSocketConnection,
    get_default_socket_keepalive_options,
)
from redis.exceptions import (
    AuthenticationError,
    AuthenticationWrongNumberOfArgsError,
    ConnectionError,
    InvalidResponse,
    RedisError,
)
from redis.exceptions import TimeoutError as ReplyTimeout

NOT_ENOUGH_DATA = object()  # hiredis's "no whole reply yet" (a reply may be False-y)
CLOSED_BY_SERVER = "Connection closed by server."  # redis-py's words for it


def bulk(value: bytes) -> bytes:
    """One RESP bulk string."""
    return b"$%d\r\n%b\r\n" % (len(value), value)


def pack(*parts: bytes) -> bytes:
    """A whole RESP command from its already encoded parts."""
    return b"*%d\r\n" % len(parts) + b"".join(bulk(part) for part in parts)


def _encode(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


class _ReplyProtocol(asyncio.Protocol):
    """The transport's side: feeds what arrives to the reader and hands the one
    awaited reply to its future."""

    def __init__(self) -> None:
        self.reader = hiredis.Reader(protocolError=InvalidResponse,
                                     replyError=BaseParser.parse_error,
                                     notEnoughData=NOT_ENOUGH_DATA)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[Any] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        waiter = self.waiter
        try:
            self.reader.feed(data)
            reply = self.reader.gets()
        except Exception as exc:  # a protocol error: nothing after it can be trusted
            self._fail(exc)
            return
        if reply is NOT_ENOUGH_DATA:
            return
        if waiter is None or waiter.done():
            # Nobody asked for it (never so with one command at a time): drop the
            # connection rather than hand it to the next command.
            self._fail(ConnectionError("Unexpected reply from redis"))
            return
        self.waiter = None
        # As redis-py: an error reply (or an array led by a connection error) raises.
        if isinstance(reply, RedisError):
            waiter.set_exception(reply)
        elif type(reply) is list and reply and isinstance(reply[0], ConnectionError):
            waiter.set_exception(reply[0])
        else:
            waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            error = ConnectionError(CLOSED_BY_SERVER)
            error.__cause__ = exc
            waiter.set_exception(error)

    def _fail(self, exc: BaseException) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        if self.transport is not None:
            self.transport.abort()


class RespConnection:
    """One connection, one command at a time (see the module docstring)."""

    def __init__(
        self,
        *,
        read_timeout: float | None,
        host: str = "localhost",
        port: int = 6379,
        path: str | None = None,
        db: int = 0,
        username: str | None = None,
        password: str | None = None,
        client_name: str | None = None,
        socket_connect_timeout: float | None = None,
        socket_keepalive: bool = False,
        socket_keepalive_options: Mapping[int, int] | None = None,
    ) -> None:
        self.read_timeout = read_timeout
        self.host, self.port, self.path = host, int(port), path
        self.db = int(db or 0)
        self.username, self.password, self.client_name = username, password, client_name
        self.connect_timeout = socket_connect_timeout
        self.keepalive = socket_keepalive
        self.keepalive_options = dict(socket_keepalive_options or {})
        self._protocol: _ReplyProtocol | None = None

    @classmethod
    def factory(cls, connection_class: type, kwargs: Mapping[str, Any],
                read_timeout: float | None) -> Callable[[], RespConnection] | None:
        """A maker of connections like the pool's, or None where this class would
        not be faithful to redis-py's (TLS, a credential provider, RESP3, decoding)."""
        if connection_class not in (Connection, UnixDomainSocketConnection):
            return None
        if kwargs.get("credential_provider") is not None or kwargs.get("decode_responses"):
            return None
        if kwargs.get("protocol") not in (None, 2, "2"):
            return None
        unix = connection_class is UnixDomainSocketConnection
        # As redis-py: no options given means its defaults (idle 30 s, and so on).
        keepalive_options = kwargs.get("socket_keepalive_options",
                                       get_default_socket_keepalive_options())
        settings = {
            "read_timeout": read_timeout,
            "db": kwargs.get("db", 0),
            "username": kwargs.get("username"),
            "password": kwargs.get("password"),
            "client_name": kwargs.get("client_name"),
            "socket_connect_timeout": kwargs.get("socket_connect_timeout"),
            "socket_keepalive": bool(kwargs.get("socket_keepalive")),
            "socket_keepalive_options": keepalive_options if isinstance(keepalive_options,
                                                                        Mapping) else None,
        }
        if unix:
            settings["path"] = kwargs.get("path", "")
        else:
            settings["host"] = kwargs.get("host", "localhost")
            settings["port"] = kwargs.get("port", 6379)
        return lambda: cls(**settings)

    async def request(self, packed: bytes) -> Any:
        """Send one packed command; its reply (or the exception of an error reply)."""
        protocol = self._protocol
        if protocol is None or protocol.transport is None or protocol.transport.is_closing():
            protocol = await self._connect()
        return await self._round_trip(protocol, packed)

    async def drop(self) -> None:
        """Close at once (after a failure or a cancellation: whatever is still on
        the way is never read); the next command connects afresh."""
        protocol, self._protocol = self._protocol, None
        if protocol is not None and protocol.transport is not None:
            protocol.transport.abort()

    async def aclose(self) -> None:
        await self.drop()

    async def _round_trip(self, protocol: _ReplyProtocol, packed: bytes) -> Any:
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        protocol.waiter = waiter
        protocol.transport.write(packed)  # type: ignore[union-attr]
        if self.read_timeout is None:
            return await waiter
        timer = loop.call_later(self.read_timeout, self._time_out, protocol, waiter)
        try:
            return await waiter
        finally:
            timer.cancel()

    @staticmethod
    def _time_out(protocol: _ReplyProtocol, waiter: asyncio.Future[Any]) -> None:
        if not waiter.done():
            protocol._fail(ReplyTimeout("Timeout reading from redis"))

    async def _connect(self) -> _ReplyProtocol:
        await self.drop()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                if self.path is not None:
                    _, protocol = await loop.create_unix_connection(_ReplyProtocol, self.path)
                else:
                    _, protocol = await loop.create_connection(_ReplyProtocol, self.host,
                                                               self.port)
        except TimeoutError:
            raise ReplyTimeout("Timeout connecting to server") from None
        except OSError as exc:
            raise ConnectionError(f"Error connecting to {self._where()}. {exc}") from exc
        self._protocol = protocol
        try:
            self._set_keepalive(protocol)
            await self._hello(protocol)
        except BaseException:
            await self.drop()
            raise
        return protocol

    def _where(self) -> str:
        return self.path if self.path is not None else f"{self.host}:{self.port}"

    def _set_keepalive(self, protocol: _ReplyProtocol) -> None:
        sock = protocol.transport.get_extra_info("socket") if protocol.transport else None
        if sock is None or not self.keepalive or self.path is not None:
            return
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for option, value in self.keepalive_options.items():
            sock.setsockopt(socket.SOL_TCP, option, value)

    async def _hello(self, protocol: _ReplyProtocol) -> None:
        """AUTH, CLIENT SETNAME and SELECT, as redis-py's ``on_connect`` (RESP2)."""
        if self.username or self.password:
            password = _encode(self.password or "")
            try:
                if self.username:
                    reply = await self._round_trip(
                        protocol, pack(b"AUTH", _encode(self.username), password))
                else:
                    reply = await self._round_trip(protocol, pack(b"AUTH", password))
            except AuthenticationWrongNumberOfArgsError:  # a Redis before 6: no usernames
                reply = await self._round_trip(protocol, pack(b"AUTH", password))
            if reply != b"OK":
                raise AuthenticationError("Invalid Username or Password")
        if self.client_name:
            command = pack(b"CLIENT", b"SETNAME", _encode(self.client_name))
            if await self._round_trip(protocol, command) != b"OK":
                raise ConnectionError("Error setting client name")
        if self.db:
            if await self._round_trip(protocol, pack(b"SELECT", b"%d" % self.db)) != b"OK":
                raise ConnectionError("Invalid Database")
