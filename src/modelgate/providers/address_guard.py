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

Lookups go to c-ares (aiodns), not to ``getaddrinfo`` in the event loop's
default executor: a tenant whose DNS stalls would otherwise hold those few
threads, which every other lookup (and anything else run in the executor)
waits for. c-ares uses no thread per lookup, and each lookup is cut off after
``lookup_timeout`` (``LookupTimedOut``: a 504 for that call only).
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
from collections.abc import Sequence

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import AsyncResolver
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


class LookupTimedOut(OSError):
    """The endpoint's host name did not resolve within the lookup timeout.

    An OSError with an errno, so that aiohttp reports it as a failed lookup
    (``ClientConnectorDNSError``) with this as the cause; the transport turns it
    into ``httpx.ConnectTimeout``."""

    def __init__(self) -> None:
        super().__init__(errno.ETIMEDOUT, "the endpoint's host name did not resolve in time")


class _TimedResolver(AbstractResolver):
    """c-ares lookups with a hard deadline; with ``vet``, the SSRF check of every address."""

    def __init__(self, *, timeout: float, nameservers: Sequence[str], vet: bool) -> None:
        # The asyncio deadline below bounds a lookup (c-ares's own timeout is per
        # try and per server). c-ares gives up soon after, so that an abandoned
        # query does not linger: one try, twice the deadline.
        options: dict[str, object] = {"timeout": 2 * timeout, "tries": 1}
        if nameservers:
            options["nameservers"] = list(nameservers)
        self._inner = AsyncResolver(**options)
        self._timeout = timeout
        self._vet = vet

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            async with asyncio.timeout(self._timeout):
                results = await self._inner.resolve(host, port, family)
        except TimeoutError:
            raise LookupTimedOut() from None
        if self._vet and not all(_is_public(result["host"]) for result in results):
            raise BlockedAddress()
        return results

    async def close(self) -> None:
        await self._inner.close()


class AddressGuard:
    """What the transport plugs into its connector; ``allow_private`` lets all through.

    ``nameservers`` (``host[:port]``, empty: the system's) is where lookups go."""

    def __init__(
        self,
        *,
        allow_private: bool,
        lookup_timeout: float = 2.0,
        nameservers: Sequence[str] = (),
    ) -> None:
        self.allow_private = allow_private
        self.lookup_timeout = lookup_timeout
        self.nameservers = tuple(nameservers)

    def resolver(self) -> AbstractResolver:
        """A new resolver; call it inside the event loop that will use it."""
        return _TimedResolver(
            timeout=self.lookup_timeout, nameservers=self.nameservers, vet=not self.allow_private
        )

    def socket_factory(self, addr_info: AddrInfoType) -> socket.socket:
        family, type_, proto, _, address = addr_info
        if not self.allow_private and not _is_public(str(address[0])):
            raise BlockedAddress()
        return socket.socket(family=family, type=type_, proto=proto)
