"""Bearer authentication with a short in-process cache of token look-ups.

In the steady state a request authenticates without touching the database: a
token's digest maps to what we know of it for ``ttl`` seconds. A revoked token,
or a tenant's changed settings, drop their entries at once in every process
(cluster/: the change is announced and each process's listener drops them);
the TTL bounds staleness only while that listener is down.

Made-up tokens cost a database look-up each. The negative cache answers a
repeated one for free, and a per-process token bucket bounds the look-ups of
digests never seen valid: beyond it they get the same 401 at once, without a
query. A token once seen valid is never held back by that bucket.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from modelgate.errors import InvalidToken
from modelgate.token_bucket import TokenBucket
from modelgate.tenants.service import TokenRecord, lookup_token
from modelgate.tenants.tokens import Scope, effective_scopes, looks_like_token, token_digest

_MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller: a tenant, through one token, with these scopes."""

    tenant_id: str
    token_prefix: str
    scopes: frozenset[Scope]
    api_version: str
    hosted_keys_enabled: bool

    @classmethod
    def from_record(cls, record: TokenRecord) -> Principal:
        return cls(
            tenant_id=record.tenant_id,
            token_prefix=record.token_prefix,
            scopes=effective_scopes(record.scopes),
            api_version=record.api_version,
            hosted_keys_enabled=record.hosted_keys_enabled,
        )


class TokenCache:
    def __init__(self, ttl: float, *, unknown_rate: float, unknown_burst: int) -> None:
        self.ttl = ttl
        # Expired entries stay (until replaced, dropped or the map is full): they
        # mark digests once seen valid, whose refresh the unknown-token bucket
        # must not refuse, or a flood would lock real tenants out every TTL.
        self._entries: dict[str, tuple[float, Principal]] = {}
        # Digests that matched no live token: a flood of made-up tokens costs one
        # query per token per TTL, not one per request.
        self._unknown: dict[str, float] = {}
        # Fresh made-up tokens defeat the negative cache; this bounds their queries.
        self._unseen_lookups = TokenBucket(unknown_rate, unknown_burst)
        # Bumped by every invalidation. A look-up that began before one must not
        # store what it read: it may be the value the invalidation replaced.
        self.epoch = 0

    def is_unknown(self, digest: str) -> bool:
        expires = self._unknown.get(digest)
        return expires is not None and expires >= time.monotonic()

    def may_look_up(self, digest: str) -> bool:
        """Whether a look-up of this uncached digest may go to the database now."""
        return digest in self._entries or self._unseen_lookups.try_take()

    def put_unknown(self, digest: str) -> None:
        self._entries.pop(digest, None)  # revoked: no longer exempt from the bucket
        if self.ttl <= 0:
            return
        if len(self._unknown) >= _MAX_ENTRIES:
            self._unknown.clear()
        self._unknown[digest] = time.monotonic() + self.ttl

    def get(self, digest: str) -> Principal | None:
        entry = self._entries.get(digest)
        if entry is None:
            return None
        if entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, digest: str, principal: Principal, *, epoch: int) -> None:
        if epoch != self.epoch:
            return
        if len(self._entries) >= _MAX_ENTRIES:
            self._entries.clear()  # crude but bounded; a refill costs one query per token
        # With caching off the entry is born expired: it only marks the digest as valid.
        expires = time.monotonic() + self.ttl if self.ttl > 0 else 0.0
        self._entries[digest] = (expires, principal)

    def drop_tenant(self, tenant_id: str) -> None:
        self.epoch += 1
        # Expired, not deleted: the next request reads the new settings, and its
        # look-up still counts as the refresh of a token seen valid.
        for digest, (_, principal) in list(self._entries.items()):
            if principal.tenant_id == tenant_id:
                self._entries[digest] = (0.0, principal)

    def drop_token(self, digest: str) -> None:
        """A token changed (revoked): its next request looks it up again."""
        self.epoch += 1
        entry = self._entries.get(digest)
        if entry is not None:
            self._entries[digest] = (0.0, entry[1])

    def expire_all(self) -> None:
        """Every entry looked up again on its next use (changes may have been missed)."""
        self.epoch += 1
        self._entries = {digest: (0.0, entry[1]) for digest, entry in self._entries.items()}


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer …`` header, or InvalidToken."""
    if not authorization:
        raise InvalidToken("Missing bearer token: send 'Authorization: Bearer <token>'.")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not looks_like_token(token):
        raise InvalidToken("Invalid bearer token.")
    return token


async def authenticate(
    authorization: str | None,
    *,
    cache: TokenCache,
    sessions: async_sessionmaker[AsyncSession],
) -> Principal:
    digest = token_digest(bearer_token(authorization))
    principal = cache.get(digest)
    if principal is not None:
        return principal
    if cache.is_unknown(digest):
        raise InvalidToken("Invalid bearer token.")
    if not cache.may_look_up(digest):
        # The answer a made-up token gets: the limit gives a flood nothing to tune by.
        raise InvalidToken("Invalid bearer token.")
    epoch = cache.epoch
    async with sessions() as session, session.begin():
        record = await lookup_token(session, digest=digest)
    if record is None:
        cache.put_unknown(digest)
        raise InvalidToken("Invalid bearer token.")
    principal = Principal.from_record(record)
    cache.put(digest, principal, epoch=epoch)
    return principal
