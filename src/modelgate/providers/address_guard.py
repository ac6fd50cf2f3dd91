"""The connect-time SSRF check for tenant-chosen endpoints (BYOK ``base_url``).

The URL was checked when it was stored, but DNS can change after that (a name
rebound to 169.254.169.254), and the operator may have turned private URLs off
since. So every connection is checked again as it is made, in two places of
aiohttp's connector:

- the resolver refuses a host name if ANY of its addresses is not public (as
  ``keys.ssrf`` does when the URL is stored), so the refusal is clear and early;
- the socket factory sees the exact address about to be connected, IP literals
  included (aiohttp does not resolve those), and refuses a non-public one.

The connector connects to the addresses the resolver returned, so what was
checked is what is reached; TLS still verifies, and SNI still names, the
original host.
"""

from __future__ import annotations

import ipaddress
import socket

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohappyeyeballs import AddrInfoType

from modelgate.keys.ssrf import is_public_address


class BlockedAddress(OSError):
    """The endpoint's host resolves to an address that calls may not reach.

    An OSError, so that aiohttp treats it as a failed connect; the transport
    turns it into ``httpx.ConnectError`` with this as the cause."""

    def __init__(self) -> None:
        # One message for every address: with several refused addresses aiohttp
        # raises the first only when all messages are equal (else a plain OSError).
        super().__init__("the endpoint resolves to a non-public address")


def _is_public(host: str) -> bool:
    try:
        return is_public_address(ipaddress.ip_address(host.split("%", 1)[0]))
    except ValueError:
        return False


class _GuardedResolver(AbstractResolver):
    def __init__(self) -> None:
        self._inner = aiohttp.ThreadedResolver()  # loop.getaddrinfo, as before

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if not all(_is_public(result["host"]) for result in results):
            raise BlockedAddress()
        return results

    async def close(self) -> None:
        await self._inner.close()


class AddressGuard:
    """What the transport plugs into its connector; ``allow_private`` lets all through."""

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private

    def resolver(self) -> AbstractResolver:
        return aiohttp.ThreadedResolver() if self.allow_private else _GuardedResolver()

    def socket_factory(self, addr_info: AddrInfoType) -> socket.socket:
        family, type_, proto, _, address = addr_info
        if not self.allow_private and not _is_public(str(address[0])):
            raise BlockedAddress()
        return socket.socket(family=family, type=type_, proto=proto)
