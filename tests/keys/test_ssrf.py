"""The base_url guard: what a tenant may point the gateway at. No test needs DNS."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

import pytest

from modelgate.errors import BaseUrlInvalid
from modelgate.keys.ssrf import is_public_address, validate_base_url

PUBLIC = {
    "api.openai.com": ["104.18.7.192", "2606:4700::6812:7c0"],
    "api.example.com": ["93.184.215.14"],
    "mixed.example.com": ["93.184.215.14", "10.0.0.7"],
    "mixed6.example.com": ["2606:4700::1", "fd00::1"],
    "metadata.example.com": ["169.254.169.254"],
    "localhost": ["127.0.0.1", "::1"],
    "rebind.example.com": ["::ffff:192.168.1.1"],
    "linklocal6.example.com": ["fe80::1%eth0"],
}


class FakeResolver:
    """Answers from a table; anything else does not resolve, like NXDOMAIN."""

    def __init__(self, table: dict[str, list[str]] | None = None) -> None:
        self.table = PUBLIC if table is None else table
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> Iterable[str]:
        self.asked.append((host, port))
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.table[host]


async def check(
    url: str, *, allow_private: bool = False, resolver: FakeResolver | None = None
) -> str:
    return await validate_base_url(
        url, allow_private=allow_private, resolver=resolver or FakeResolver()
    )


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("https://api.openai.com/v1", "https://api.openai.com/v1"),
        ("https://api.openai.com/v1/", "https://api.openai.com/v1"),
        ("HTTPS://API.OpenAI.com/v1//", "https://api.openai.com/v1"),
        ("http://api.example.com", "http://api.example.com"),
        ("http://api.example.com/", "http://api.example.com"),
        ("https://api.example.com:8443/openai/v1", "https://api.example.com:8443/openai/v1"),
        ("https://api.example.com./v1", "https://api.example.com/v1"),
        ("https://8.8.8.8/v1", "https://8.8.8.8/v1"),
        ("https://[2606:4700::1111]:443/v1", "https://[2606:4700::1111]:443/v1"),
        ("https://[::ffff:8.8.8.8]/v1", "https://[::ffff:808:808]/v1"),
    ],
)
async def test_public_urls_are_allowed_and_normalised(url: str, normalised: str) -> None:
    assert await check(url) == normalised


async def test_resolver_gets_host_and_default_port() -> None:
    resolver = FakeResolver()
    await check("https://api.example.com/v1", resolver=resolver)
    await check("http://api.example.com:8080", resolver=resolver)
    assert resolver.asked == [("api.example.com", 443), ("api.example.com", 8080)]


REFUSED = [
    # scheme
    ("ftp://api.example.com/", "http or https"),
    ("file:///etc/passwd", "http or https"),
    ("javascript:alert(1)", "http or https"),
    ("gopher://api.example.com/", "http or https"),
    ("api.example.com/v1", "http or https"),
    ("//api.example.com/v1", "http or https"),
    # credentials, fragments, queries, shape
    ("https://user:hunter2@api.example.com/v1", "credentials"),
    ("https://sk-secret@api.example.com/v1", "credentials"),
    ("https://api.example.com@127.0.0.1/", "credentials"),
    ("https://api.example.com/v1#frag", "fragment"),
    ("https://api.example.com/v1?key=sk-secret", "query"),
    ("https:///v1", "host"),
    ("https://", "host"),
    ("http:api.example.com", "host"),
    ("https://:443/v1", "host"),
    ("https://api.example.com:0/", "port"),
    ("https://api.example.com:99999/", "port"),
    ("https://api.example.com:http/", "port"),
    ("https://api.example.com\\@127.0.0.1/", "backslash"),
    ("https://api.example.com/v1\n", "control"),
    ("https://api.exa\tmple.com/v1", "control"),
    ("https://bücher.example/v1", "non-ASCII"),
    ("https://" + "a" * 2050 + ".com", "longer than 2048"),
    ("https://[::1/v1", "not a valid URL"),
    ("https://[fe80::1%25eth0]/v1", "zone"),
    ("https://exa_mple%2ecom/v1", "host name"),
    # numeric tricks for 127.0.0.1 and friends
    ("http://127.0.0.1/", "public address"),
    ("http://127.1/", "public address"),
    ("http://127.0.1/", "public address"),
    ("http://2130706433/", "public address"),
    ("http://0x7f000001/", "public address"),
    ("http://0X7F000001/", "public address"),
    ("http://0x7f.0x0.0x0.0x1/", "public address"),
    ("http://0177.0.0.1/", "public address"),
    ("http://017700000001/", "public address"),
    ("http://127.0.0.1./", "public address"),
    ("http://0/", "public address"),
    ("http://0x/", "public address"),
    ("http://[::ffff:127.0.0.1]/", "public address"),
    ("http://[::ffff:7f00:1]/", "public address"),
    ("http://[::127.0.0.1]/", "public address"),  # IPv4-compatible
    ("http://[64:ff9b::a9fe:a9fe]/", "public address"),  # NAT64 of 169.254.169.254
    ("http://[2002:a00:1::]/", "public address"),  # 6to4 of 10.0.0.1
    ("http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "public address"),  # Teredo
    # malformed numeric hosts never go to DNS
    ("http://256.0.0.1/", "invalid IPv4"),
    ("http://1.2.3.4.5/", "invalid IPv4"),
    ("http://08.0.0.1/", "invalid IPv4"),
    ("http://4294967296/", "invalid IPv4"),
    ("http://1.2.65536/", "invalid IPv4"),
    # private, link-local, CGNAT, multicast, unspecified, reserved
    ("http://169.254.169.254/latest/meta-data", "public address"),
    ("http://100.64.0.1/", "public address"),
    ("http://10.0.0.1/", "public address"),
    ("http://10.255.255.255/", "public address"),
    ("http://172.16.0.1/", "public address"),
    ("http://172.31.255.254/", "public address"),
    ("http://192.168.0.1/", "public address"),
    ("http://0.0.0.0/", "public address"),
    ("http://224.0.0.1/", "public address"),
    ("http://240.0.0.1/", "public address"),
    ("http://255.255.255.255/", "public address"),
    ("http://192.0.2.1/", "public address"),
    ("http://198.18.0.1/", "public address"),
    ("http://[::1]/", "public address"),
    ("http://[::]/", "public address"),
    ("http://[fc00::1]/", "public address"),
    ("http://[fd12:3456::1]/", "public address"),
    ("http://[fe80::1]/", "public address"),
    ("http://[fec0::1]/", "public address"),
    ("http://[ff02::1]/", "public address"),
    ("http://[::ffff:10.0.0.1]/", "public address"),
    ("http://[::ffff:169.254.169.254]/", "public address"),
    ("http://[2001:db8::1]/", "public address"),
    # host names that resolve inward, partly inward, or not at all
    ("http://localhost/", "public address"),
    ("http://mixed.example.com/", "10.0.0.7"),
    ("http://mixed6.example.com/", "fd00::1"),
    ("http://metadata.example.com/", "169.254.169.254"),
    ("http://rebind.example.com/", "public address"),
    ("http://linklocal6.example.com/", "public address"),
    ("http://does-not-exist.invalid/", "does not resolve"),
    ("http://1.2.3.4abc/", "does not resolve"),
]


@pytest.mark.parametrize(("url", "reason"), REFUSED)
async def test_refused(url: str, reason: str) -> None:
    with pytest.raises(BaseUrlInvalid) as info:
        await check(url)
    error = info.value
    assert reason in error.message
    assert error.param == "base_url"
    assert error.status_code == 422 and error.code == "base_url_invalid"
    for secret in ("hunter2", "sk-secret"):
        assert secret not in error.message


async def test_allow_private_lets_loopback_and_private_through() -> None:
    for url, normalised in [
        ("http://127.0.0.1:9001/v1", "http://127.0.0.1:9001/v1"),
        ("http://127.1:9001/v1/", "http://127.0.0.1:9001/v1"),  # stored in canonical form
        ("http://localhost:9001", "http://localhost:9001"),
        ("http://[::1]:9001", "http://[::1]:9001"),
        ("http://10.0.0.1/", "http://10.0.0.1"),
        ("http://mixed.example.com/v1", "http://mixed.example.com/v1"),
    ]:
        assert await check(url, allow_private=True) == normalised


async def test_allow_private_still_refuses_what_is_not_about_addresses() -> None:
    for url in (
        "ftp://127.0.0.1/",
        "http://user:pw@127.0.0.1/",
        "http://127.0.0.1/#x",
        "http://does-not-exist.invalid/",
        "http://300.0.0.1/",
    ):
        with pytest.raises(BaseUrlInvalid):
            await check(url, allow_private=True)


async def test_numeric_hosts_never_reach_the_resolver() -> None:
    resolver = FakeResolver(table={})
    for url in ("http://127.1/", "http://0x7f000001/", "http://[::1]/"):
        with pytest.raises(BaseUrlInvalid, match="public address"):
            await check(url, resolver=resolver)
    assert await check("http://8.8.8.8/", resolver=resolver) == "http://8.8.8.8"
    assert resolver.asked == []


async def test_resolver_returning_nothing_or_junk_is_refused() -> None:
    with pytest.raises(BaseUrlInvalid, match="does not resolve"):
        await check("http://empty.example.com/", resolver=FakeResolver({"empty.example.com": []}))
    with pytest.raises(BaseUrlInvalid, match="not an IP address"):
        await check("http://junk.example.com/", resolver=FakeResolver({"junk.example.com": ["x"]}))


async def test_getaddrinfo_shaped_results_are_understood() -> None:
    async def getaddrinfo_like(host: str, port: int) -> list[tuple[object, ...]]:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("fe80::1%eth0", port, 0, 2)),
        ]

    with pytest.raises(BaseUrlInvalid, match="fe80::1"):
        await validate_base_url(
            "https://x.example.com", allow_private=False, resolver=getaddrinfo_like
        )


async def test_default_resolver_handles_literals_without_network() -> None:
    # IP literals are judged without any lookup, so the default resolver is safe here.
    normalised = await validate_base_url("https://1.1.1.1/v1/", allow_private=False)
    assert normalised == "https://1.1.1.1/v1"
    with pytest.raises(BaseUrlInvalid):
        await validate_base_url("http://127.0.0.1/", allow_private=False)


async def test_default_resolver_resolves_localhost() -> None:
    # "localhost" resolves from /etc/hosts; no network is needed.
    with pytest.raises(BaseUrlInvalid, match="public address"):
        await validate_base_url("http://localhost:9001/", allow_private=False)
    assert (
        await validate_base_url("http://localhost:9001/", allow_private=True)
        == "http://localhost:9001"
    )


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "1.1.1.1", "104.18.7.192", "2606:4700::1111", "2a00:1450:4001::1", "::ffff:8.8.8.8",
     "2002:808:808::1", "64:ff9b::808:808"],
)
def test_is_public_address_true(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1",
     "100.127.255.255", "0.0.0.0", "224.0.0.251", "239.255.255.250", "240.0.0.1", "192.0.0.8",
     "198.51.100.7", "203.0.113.9", "::1", "::", "fc00::1", "fdff::1", "fe80::1", "fe80::1%eth0",
     "fec0::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:100.64.0.1",
     "::10.0.0.1", "2002:7f00:1::", "2002:a9fe:a9fe::", "64:ff9b::7f00:1", "64:ff9b:1::1",
     "2001::1", "2001:db8::1", "100::1"],
)
def test_is_public_address_false(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))
