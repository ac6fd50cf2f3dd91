"""The transport for tenant-chosen endpoints (BYOK ``base_url``): every connection
is checked against SSRF at the moment it is made.

The URL was checked when it was stored, but DNS can change after that (a name
rebound to 169.254.169.254), and the operator may have turned private URLs off
since. So this transport resolves the host itself, refuses the connection if any
address is not public (unless private URLs are allowed now), and connects to the
address it checked. TLS still verifies, and SNI still names, the original host:
httpcore passes the origin's host name to ``start_tls``, not the IP used here.

It also gives custom endpoints their own connection pool, so a tenant's slow
endpoint cannot use up the connections that platform-key calls need.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from modelgate.keys.ssrf import is_public_address


class BlockedAddress(httpcore.ConnectError):
    """The endpoint's host resolves to an address that calls may not reach."""


class GuardedBackend(httpcore.AsyncNetworkBackend):
    def __init__(
        self, *, allow_private: bool, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self.allow_private = allow_private
        self._inner = inner or httpcore.AnyIOBackend()

    async def _addresses(self, host: str, port: int, timeout: float | None) -> list[str]:
        try:
            async with asyncio.timeout(timeout):
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM
                )
        except (OSError, TimeoutError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host!r}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise httpcore.ConnectError(f"cannot resolve {host!r}")
        if not self.allow_private:
            for address in addresses:
                if not is_public_address(ipaddress.ip_address(address.split("%", 1)[0])):
                    raise BlockedAddress(f"{host!r} resolves to a non-public address")
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        failure: Exception | None = None
        for address in await self._addresses(host, port, timeout):
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress("unix sockets are not reachable from a base_url")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, *, allow_private: bool, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, trust_env=False)
        # httpx builds its pool without a way to pass a network backend; replace it.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(allow_private=allow_private),
        )
