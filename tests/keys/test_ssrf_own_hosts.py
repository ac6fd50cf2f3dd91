"""The base_url guard refuses the gateway's own names and addresses (issue 12, item 3),
however the host is spelled, and names that resolve to them. No test needs DNS."""

from __future__ import annotations

import pytest

from modelgate.config import load_settings
from modelgate.errors import BaseUrlInvalid
from modelgate.keys.ssrf import points_at_gateway, validate_base_url
from tests.keys.test_ssrf import FakeResolver

# As an operator would write MODELGATE_PUBLIC_HOSTS, untidy on purpose.
OWN = load_settings(
    database_url="sqlite+aiosqlite://",
    public_hosts=" GW.Example.com. , 8.8.4.4,[2606:4700::6812:1], 127.1 , api.gw.example.com:443",
).own_hosts


@pytest.mark.parametrize(
    "url",
    [
        "https://gw.example.com/v1",
        "https://GW.EXAMPLE.COM./v1",  # case and the trailing dot
        "https://gw.example.com:8443/v1",  # any port: the host is the gateway
        "https://api.gw.example.com/v1",  # listed with a port
        "https://8.8.4.4/v1",
        "https://0x08080404/v1",  # the numeric forms inet_aton accepts
        "https://134743044/v1",
        "https://010.010.04.04/v1",
        "https://8.8.1028/v1",
        "https://[::ffff:8.8.4.4]/v1",  # IPv4-mapped IPv6 reaches the IPv4 address
        "https://[64:ff9b::808:404]/v1",  # NAT64 too
        "https://[2606:4700:0:0:0:0:6812:0001]/v1",  # IPv6, spelled long
        "http://127.0.0.1:8000/v1",  # listed as "127.1"
        "http://0x7f.1/v1",
    ],
)
async def test_own_hosts_are_refused_in_every_spelling(url: str) -> None:
    # allow_private: the refusal must not depend on the private-address rule.
    with pytest.raises(BaseUrlInvalid) as caught:
        await validate_base_url(url, allow_private=True, own_hosts=OWN, resolver=FakeResolver())
    assert caught.value.param == "base_url"
    assert "gateway itself" in caught.value.message
    assert points_at_gateway(url, OWN)


async def test_a_name_that_resolves_to_an_own_address_is_refused() -> None:
    resolver = FakeResolver({"sneaky.example.net": ["93.184.215.14", "8.8.4.4"]})
    with pytest.raises(BaseUrlInvalid, match="gateway itself"):
        await validate_base_url(
            "https://sneaky.example.net/v1", allow_private=False, own_hosts=OWN, resolver=resolver
        )


@pytest.mark.parametrize(
    "url", ["https://8.8.8.8/v1", "https://api.example.com/v1", "https://example.com/v1"]
)
async def test_other_hosts_still_pass(url: str) -> None:
    resolver = FakeResolver({"api.example.com": ["93.184.215.14"], "example.com": ["93.184.215.14"]})
    assert await validate_base_url(url, allow_private=False, own_hosts=OWN, resolver=resolver)
    assert not points_at_gateway(url, OWN)


async def test_own_names_are_refused_before_any_lookup() -> None:
    resolver = FakeResolver({"gw.example.com": ["93.184.215.14"]})
    with pytest.raises(BaseUrlInvalid):
        await validate_base_url(
            "https://gw.example.com/v1", allow_private=False, own_hosts=OWN, resolver=resolver
        )
    assert resolver.asked == []


def test_no_public_hosts_means_no_own_host_check() -> None:
    assert not points_at_gateway("http://127.0.0.1:8000/v1", frozenset())
