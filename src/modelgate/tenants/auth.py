"""Bearer authentication with a short in-process cache of token look-ups.

In the steady state a request authenticates without touching the database: a
token's digest maps to what we know of it for ``ttl`` seconds. A revoked token
therefore stops working within the TTL in every process; tenant setting
changes made through this process drop that tenant's entries at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from modelgate.errors import InvalidToken
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
    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Principal]] = {}
        # Digests that matched no live token: a flood of made-up tokens costs one
        # query per token per TTL, not one per request.
        self._unknown: dict[str, float] = {}
        # Bumped by every invalidation. A look-up that began before one must not
        # store what it read: it may be the value the invalidation replaced.
        self.epoch = 0

    def is_unknown(self, digest: str) -> bool:
        expires = self._unknown.get(digest)
        return expires is not None and expires >= time.monotonic()

    def put_unknown(self, digest: str) -> None:
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
            del self._entries[digest]
            return None
        return entry[1]

    def put(self, digest: str, principal: Principal, *, epoch: int) -> None:
        if self.ttl <= 0 or epoch != self.epoch:
            return
        if len(self._entries) >= _MAX_ENTRIES:
            self._entries.clear()  # crude but bounded; a refill costs one query per token
        self._entries[digest] = (time.monotonic() + self.ttl, principal)

    def drop_tenant(self, tenant_id: str) -> None:
        self.epoch += 1
        for digest in [d for d, (_, p) in self._entries.items() if p.tenant_id == tenant_id]:
            del self._entries[digest]


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
    epoch = cache.epoch
    async with sessions() as session, session.begin():
        record = await lookup_token(session, digest=digest)
    if record is None:
        cache.put_unknown(digest)
        raise InvalidToken("Invalid bearer token.")
    principal = Principal.from_record(record)
    cache.put(digest, principal, epoch=epoch)
    return principal
