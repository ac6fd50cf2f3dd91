"""Bearer tokens: how they are made, shown and stored.

A token is ``mg_`` followed by 43 URL-safe characters (256 random bits). Only
its SHA-256 digest is stored; the first characters (the prefix) name it in
listings and audit rows without being enough to use it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from enum import StrEnum

TOKEN_MARKER = "mg_"
PREFIX_LENGTH = len(TOKEN_MARKER) + 8
# Shape of a well-formed token; anything else is refused before a database look-up.
TOKEN_PATTERN = re.compile(r"^mg_[A-Za-z0-9_-]{43}$")


class Scope(StrEnum):
    RUNS_READ = "runs:read"
    RUNS_WRITE = "runs:write"
    ADMIN = "admin"


# The tenant-admin scope implies the other two.
IMPLIED: dict[Scope, frozenset[Scope]] = {
    Scope.ADMIN: frozenset({Scope.ADMIN, Scope.RUNS_READ, Scope.RUNS_WRITE}),
    Scope.RUNS_READ: frozenset({Scope.RUNS_READ}),
    Scope.RUNS_WRITE: frozenset({Scope.RUNS_WRITE}),
}


def parse_scopes(values: list[str]) -> list[Scope]:
    """Validate scope names (raises ValueError naming the bad one), keeping order, no repeats."""
    scopes: list[Scope] = []
    for value in values:
        try:
            scope = Scope(value)
        except ValueError:
            allowed = ", ".join(s.value for s in Scope)
            raise ValueError(f"unknown scope {value!r} (allowed: {allowed})") from None
        if scope not in scopes:
            scopes.append(scope)
    return scopes


def effective_scopes(stored: str) -> frozenset[Scope]:
    granted: set[Scope] = set()
    for name in stored.split():
        granted |= IMPLIED.get(Scope(name), frozenset())
    return frozenset(granted)


def new_token() -> str:
    return TOKEN_MARKER + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_prefix(token: str) -> str:
    return token[:PREFIX_LENGTH]


def looks_like_token(value: str) -> bool:
    return bool(TOKEN_PATTERN.match(value))
