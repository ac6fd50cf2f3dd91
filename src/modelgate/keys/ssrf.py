"""The guard on a tenant's ``base_url``: only public http(s) endpoints, unless allowed.

A BYOK ``base_url`` makes the gateway send requests, with the tenant's key, to
an address the tenant chose; without this guard it could reach the cloud
metadata service, the database or anything else on the private network.

``validate_base_url`` parses the URL strictly, parses numeric hosts itself
with the permissive rules of ``inet_aton`` (``127.1``, ``0x7f000001``,
``0177.0.0.1`` and ``2130706433`` all mean 127.0.0.1 to the C resolver),
resolves host names, and refuses the URL if ANY address is not public.

It also refuses the gateway's own public names and addresses (``own_hosts``,
from ``MODELGATE_PUBLIC_HOSTS``), however spelled, and names that resolve to one
of those addresses: a base_url there would make the gateway call itself.
``points_at_gateway`` repeats that check, without DNS, on a stored URL at call
time, in case the setting changed after the key was stored.

Known limit: the check happens when the key is set. A name may later resolve
elsewhere (DNS rebinding, or just a changed record), and the HTTP client
resolves again when it connects. Callers must also send with
``follow_redirects=False`` so that an upstream cannot redirect the request
inward; pinning the checked address in the transport would close the rest.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from modelgate.errors import BaseUrlInvalid

__all__ = [
    "MAX_URL_LENGTH",
    "Resolver",
    "is_public_address",
    "points_at_gateway",
    "validate_base_url",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# A resolver takes (host, port) and returns addresses: strings, ipaddress
# objects, or getaddrinfo 5-tuples (so `loop.getaddrinfo` itself also fits).
Resolver = Callable[[str, int], Awaitable[Iterable[Any]]]

MAX_URL_LENGTH = 2048  # also the width of the provider_keys.base_url column
RESOLVE_TIMEOUT = 5.0
_PARAM = "base_url"
_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+")
_DEFAULT_PORTS = {"http": 80, "https": 443}

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network
# Spelled out rather than left to `is_global`, whose tables change between
# Python releases; the flags are checked as well, as a second net.
_BLOCKED_V4 = tuple(
    _V4(net)
    for net in (
        "0.0.0.0/8",  # "this network"; 0.0.0.0 reaches the local host
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, including cloud metadata 169.254.169.254
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
    )
)
_BLOCKED_V6 = tuple(
    _V6(net)
    for net in (
        "::/128",
        "::1/128",
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard
        "2001::/23",  # IETF protocol assignments, including Teredo 2001::/32
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation
        "5f00::/16",  # SRv6 SIDs
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated, still routed by some stacks)
        "ff00::/8",  # multicast
    )
)
# Prefixes whose addresses carry an IPv4 address that is what actually gets reached.
_MAPPED = _V6("::ffff:0:0/96")
_COMPAT = _V6("::/96")
_NAT64 = _V6("64:ff9b::/96")
_SIX_TO_FOUR = _V6("2002::/16")


def is_public_address(ip: IPAddress) -> bool:
    """True if ``ip`` is a globally reachable unicast address (embedded IPv4 judged as IPv4)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id is not None:
            ip = ipaddress.IPv6Address(int(ip))
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return is_public_address(embedded)
        blocked: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = _BLOCKED_V6
    else:
        blocked = _BLOCKED_V4
    if any(ip in net for net in blocked):
        return False
    flags = (
        ip.is_private,
        ip.is_loopback,
        ip.is_link_local,
        ip.is_multicast,
        ip.is_reserved,
        ip.is_unspecified,
        getattr(ip, "is_site_local", False),
    )
    return not any(flags) and ip.is_global


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip in _MAPPED or ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _COMPAT and int(ip) > 1:  # :: and ::1 are themselves, not IPv4
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _SIX_TO_FOUR:
        return ipaddress.IPv4Address((int(ip) >> 80) & 0xFFFFFFFF)
    return None


async def validate_base_url(
    url: str,
    *,
    allow_private: bool,
    own_hosts: frozenset[str] = frozenset(),
    resolver: Resolver | None = None,
) -> str:
    """Return ``url`` normalised (lower-case scheme and host, canonical IP, no
    trailing slash), or raise ``BaseUrlInvalid`` saying why. ``own_hosts`` are
    the gateway's own names and addresses (``Settings.own_hosts``).

    Messages name the host at most, never the whole URL, which could carry a
    credential in its path or query.
    """
    if not isinstance(url, str) or not url.strip():
        raise _invalid("base_url must be a non-empty http(s) URL")
    if len(url) > MAX_URL_LENGTH:
        raise _invalid(f"base_url is longer than {MAX_URL_LENGTH} characters")
    # urlsplit silently drops tabs and newlines and browsers treat "\" as "/";
    # refusing them (and anything non-ASCII) leaves one way to read the URL.
    if any(ord(ch) <= 0x20 or ord(ch) >= 0x7F or ch == "\\" for ch in url):
        raise _invalid(
            "base_url must not contain spaces, control characters, backslashes or "
            "non-ASCII characters (use punycode and percent-encoding)"
        )
    try:
        parts = urlsplit(url)
    except ValueError:
        raise _invalid("base_url is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise _invalid("base_url must use http or https")
    if "@" in parts.netloc:
        raise _invalid("base_url must not contain credentials (user:password@)")
    if "#" in url:
        raise _invalid("base_url must not contain a fragment")
    if "?" in url:
        # The adapters append paths, which a query string would end up after.
        raise _invalid("base_url must not contain a query string")
    host, port = _split_host_port(parts.netloc)
    ip = _ip_literal(host)
    own = _own_hosts(own_hosts)
    if ip is not None:
        if own.has_address(ip):
            raise _invalid(_own_message(str(ip)))
        if not allow_private and not is_public_address(ip):
            raise _invalid(_private_message(ip))
        host_text = f"[{ip}]" if ip.version == 6 else str(ip)
    else:
        if host.rstrip(".") in own.names:
            raise _invalid(_own_message(host.rstrip(".")))
        addresses = await _resolve(host, port or _DEFAULT_PORTS[scheme], resolver)
        for address in addresses:
            if own.has_address(address):
                raise _invalid(_own_message(f"{host.rstrip('.')} ({address})"))
        if not allow_private:
            for address in addresses:
                if not is_public_address(address):
                    raise _invalid(_private_message(address, host))
        host_text = host.rstrip(".")
    netloc = host_text if port is None else f"{host_text}:{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


def points_at_gateway(url: str, own_hosts: frozenset[str]) -> bool:
    """True if a stored (already validated) ``url`` names one of ``own_hosts``.

    No DNS: it runs on every call through a custom endpoint, and the hop header
    stops a loop through a name that only resolves to the gateway.
    """
    if not own_hosts:
        return False
    own = _own_hosts(own_hosts)
    try:
        host, _ = _split_host_port(urlsplit(url).netloc)
        ip = _ip_literal(host)
    except (BaseUrlInvalid, ValueError):
        return False  # not a URL we would have stored; the call fails on its own
    return own.has_address(ip) if ip is not None else host.rstrip(".") in own.names


@dataclass(frozen=True, slots=True)
class _OwnHosts:
    names: frozenset[str]
    addresses: frozenset[IPAddress]

    def has_address(self, ip: IPAddress) -> bool:
        return bool(self.addresses) and _canonical(ip) in self.addresses


@lru_cache(maxsize=8)
def _own_hosts(own_hosts: frozenset[str]) -> _OwnHosts:
    """Split ``own_hosts`` into names and canonical addresses, parsed by the same
    rules as a base_url's host (so ``127.1`` in the setting is 127.0.0.1). Cached:
    the setting is one frozenset for the life of the process."""
    names: set[str] = set()
    addresses: set[IPAddress] = set()
    for entry in own_hosts:
        if entry.count(":") == 1:  # "name:port": the port does not matter, the host does
            entry = entry.partition(":")[0].rstrip(".")
        try:
            ip = _ip_literal(f"[{entry}]" if ":" in entry else entry)
        except BaseUrlInvalid:
            ip = None  # not a host we could ever be pointed at: it matches nothing
        if ip is not None:
            addresses.add(_canonical(ip))
        else:
            names.add(entry)
    return _OwnHosts(frozenset(names), frozenset(addresses))


def _canonical(ip: IPAddress) -> IPAddress:
    """One spelling per reachable address: no zone id, embedded IPv4 as IPv4."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id is not None:
            ip = ipaddress.IPv6Address(int(ip))
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return embedded
    return ip


def _split_host_port(netloc: str) -> tuple[str, int | None]:
    if netloc.startswith("["):
        host, bracket, rest = netloc[1:].partition("]")
        if not bracket:
            raise _invalid("base_url has an unclosed IPv6 bracket")
        host = "[" + host + "]"  # marks an IPv6 literal for _ip_literal
    else:
        host, colon, port_text = netloc.partition(":")
        rest = colon + port_text
    if not host:
        raise _invalid("base_url must include a host")
    if not rest or rest == ":":
        return host.lower(), None
    port_text = rest[1:] if rest.startswith(":") else ""
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise _invalid("base_url has an invalid port")
    return host.lower(), int(port_text)


def _ip_literal(host: str) -> IPAddress | None:
    """The address a numeric host denotes, None for a host name; refuses malformed ones."""
    if host.startswith("["):
        literal = host[1:-1]
        if "%" in literal:
            raise _invalid("base_url must not use an IPv6 zone id")
        try:
            return ipaddress.IPv6Address(literal)
        except ValueError:
            raise _invalid("base_url has an invalid IPv6 address") from None
    if not _HOST_NAME.fullmatch(host):
        raise _invalid("base_url has an invalid host name")
    labels = host.rstrip(".").split(".")
    # As in the URL standard: a host whose last label is a number is an IPv4
    # address and must parse as one; it never goes to DNS.
    if not _NUMERIC_LABEL.fullmatch(labels[-1]):
        return None
    address = _inet_aton(labels)
    if address is None:
        raise _invalid("base_url has an invalid IPv4 address")
    return address


def _inet_aton(labels: list[str]) -> ipaddress.IPv4Address | None:
    # 1 to 4 parts, each decimal, 0x-hex or 0-octal; the last fills the
    # remaining bytes ("127.1" is 127.0.0.1, "2130706433" is 127.0.0.1 too).
    if len(labels) > 4:
        return None
    numbers: list[int] = []
    for label in labels:
        number = _parse_ipv4_number(label)
        if number is None:
            return None
        numbers.append(number)
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 1 << (8 * (5 - len(labels))):
        return None
    value = last
    for index, number in enumerate(head):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _parse_ipv4_number(label: str) -> int | None:
    if label[:2] == "0x":
        digits = label[2:]
        return int(digits, 16) if digits else 0
    if len(label) > 1 and label.startswith("0"):
        return int(label, 8) if all(ch in "01234567" for ch in label) else None
    return int(label) if label.isdigit() else None


async def _resolve(host: str, port: int, resolver: Resolver | None) -> list[IPAddress]:
    resolve = resolver or _getaddrinfo
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT):
            results = list(await resolve(host.rstrip("."), port))
    except TimeoutError:
        raise _invalid(f"base_url host {host!r} did not resolve in time") from None
    except (OSError, UnicodeError, ValueError):
        raise _invalid(f"base_url host {host!r} does not resolve") from None
    addresses = [_as_address(result) for result in results]
    if not addresses:
        raise _invalid(f"base_url host {host!r} does not resolve")
    return addresses


async def _getaddrinfo(host: str, port: int) -> list[Any]:
    loop = asyncio.get_running_loop()
    return await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)


def _as_address(result: Any) -> IPAddress:
    if isinstance(result, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return result
    if isinstance(result, tuple):  # getaddrinfo: (family, type, proto, canonname, sockaddr)
        result = result[4][0]
    try:
        # getaddrinfo reports link-local IPv6 with a "%zone" suffix.
        return ipaddress.ip_address(str(result).split("%", 1)[0])
    except ValueError:
        raise _invalid("base_url host resolves to something that is not an IP address") from None


def _private_message(ip: IPAddress, host: str | None = None) -> str:
    via = f"host {host!r} resolves to {ip}" if host else f"{ip}"
    return (
        "base_url must point to a public address, not a private, loopback, link-local "
        f"or reserved one ({via}); private base URLs are not allowed on this gateway"
    )


def _own_message(host: str) -> str:
    return (
        f"base_url must not point at this gateway itself (host {host}); a provider key "
        "whose base_url is the gateway would make every call call the gateway again"
    )


def _invalid(message: str) -> BaseUrlInvalid:
    return BaseUrlInvalid(message, param=_PARAM)
