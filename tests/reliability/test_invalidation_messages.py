"""The invalidation registry on its own: what a message drops, and what it ignores.

Real caches (TokenCache, KeyResolver's registration as app.py makes it) behind a
real registry; the channel is not involved (tests/reliability/test_invalidation.py
runs it across processes).
"""

from __future__ import annotations

import pytest

from modelgate.cluster.invalidation import Invalidations, Message, message_for
from modelgate.tenants.auth import Principal, TokenCache
from modelgate.tenants.tokens import Scope


def principal(tenant_id: str) -> Principal:
    return Principal(tenant_id, "mg_prefix", frozenset({Scope.ADMIN}), "2026-05-01", True)


def cache_with(*entries: tuple[str, str]) -> tuple[Invalidations, TokenCache]:
    tokens = TokenCache(60, unknown_rate=1, unknown_burst=1)
    for digest, tenant in entries:
        tokens.put(digest, principal(tenant), epoch=tokens.epoch)
    invalidations = Invalidations()
    invalidations.register("token", drop=tokens.drop_token, clear=tokens.expire_all)
    invalidations.register("settings", drop=tokens.drop_tenant)
    return invalidations, tokens


def test_a_token_message_drops_that_token_only() -> None:
    invalidations, tokens = cache_with(("a" * 64, "tn_1"), ("b" * 64, "tn_1"))
    invalidations.receive(message_for("token", "a" * 64, origin="elsewhere"))
    assert tokens.get("a" * 64) is None
    assert tokens.get("b" * 64) is not None
    # Dropped, not forgotten: its refresh is not held back by the unknown-token bucket.
    assert tokens.may_look_up("a" * 64)


def test_a_settings_message_drops_the_tenants_tokens() -> None:
    invalidations, tokens = cache_with(("a" * 64, "tn_1"), ("b" * 64, "tn_2"))
    invalidations.receive(message_for("settings", "tn_1", origin="elsewhere").encode())
    assert tokens.get("a" * 64) is None
    assert tokens.get("b" * 64) is not None


def test_a_look_up_in_flight_during_a_drop_is_not_cached() -> None:
    invalidations, tokens = cache_with()
    epoch = tokens.epoch  # a look-up starts, reads the old row…
    invalidations.receive(message_for("token", "a" * 64, origin="elsewhere"))
    tokens.put("a" * 64, principal("tn_1"), epoch=epoch)  # …and finishes after the drop
    assert tokens.get("a" * 64) is None


def test_clear_all_expires_every_entry() -> None:
    invalidations, tokens = cache_with(("a" * 64, "tn_1"), ("b" * 64, "tn_2"))
    invalidations.clear_all()
    assert tokens.get("a" * 64) is None and tokens.get("b" * 64) is None


@pytest.mark.parametrize("payload", [
    "", "token", "token origin", "bogus origin key", "token origin a b", b"\xff\xfe",
    "token origin " + "a" * 2000,
])
def test_malformed_messages_are_ignored(payload: str | bytes) -> None:
    invalidations, tokens = cache_with(("a" * 64, "tn_1"))
    invalidations.receive(payload)
    assert tokens.get("a" * 64) is not None
    assert Message.decode(payload) is None


def test_a_process_ignores_its_own_messages() -> None:
    # It dropped its entries when it announced; hearing its own echo must not bump
    # the epoch again (which would stop a look-up that began after the change).
    invalidations, tokens = cache_with(("a" * 64, "tn_1"))
    epoch = tokens.epoch
    invalidations.receive(message_for("token", "a" * 64, origin=invalidations.origin))
    assert tokens.epoch == epoch and tokens.get("a" * 64) is not None


async def test_announce_drops_here_even_when_the_channel_fails() -> None:
    class Unreachable:
        async def publish(self, payload: str) -> None:
            raise ConnectionError("refused")

        async def close(self) -> None:
            return None

    invalidations, tokens = cache_with(("a" * 64, "tn_1"))
    invalidations.publisher = Unreachable()
    await invalidations.announce("token", "a" * 64)  # never raises: the change is committed
    assert tokens.get("a" * 64) is None


def test_a_key_with_a_space_or_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        message_for("token", "a b")
    with pytest.raises(ValueError):
        message_for("passwords", "x")  # type: ignore[arg-type]
