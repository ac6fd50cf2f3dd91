"""Calling a plan's members in turn: the contract's failover list, exactly.

    skip to the next member, and cool it down   429, 5xx, connection refused or
                                                dropped, timeout (UpstreamUnavailable,
                                                UpstreamTimeout, UpstreamError 429/5xx)
    skip to the next member                     401/403 from the provider, no key
                                                (model_key_missing), the member's model
                                                retired or disabled, or gone (404 from
                                                our own resolution)
    return at once                              anything else: the provider's 400/404/422
                                                (the request's fault), our own validation
                                                errors, our own limits, a client that left

A single model (not a group) is one member: its error is raised as it is. For a
group, every error carries ``IC-Attempts`` (the members tried so far, those
skipped before reaching a provider included); when all fail, the last failure
is the answer. Members cooling down (``cooldown.py``) are tried last.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from modelgate.errors import (
    GatewayError,
    ModelKeyMissing,
    ModelNotFound,
    ModelRetired,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from modelgate.routing.cooldown import Cooldowns, Key
from modelgate.routing.names import Member

P = TypeVar("P")
T = TypeVar("T")

ATTEMPTS_HEADER = "IC-Attempts"


class Verdict(enum.Enum):
    NEXT_AND_COOL = "next_and_cool"  # the member is unwell: try the next, rest this one
    NEXT = "next"  # this member cannot serve the call: try the next
    STOP = "stop"  # the request's own fault, or ours: answer it now


def judge(exc: GatewayError) -> Verdict:
    if isinstance(exc, (UpstreamUnavailable, UpstreamTimeout)):
        return Verdict.NEXT_AND_COOL
    if isinstance(exc, UpstreamError):
        if exc.status_code == 429 or exc.status_code >= 500:
            return Verdict.NEXT_AND_COOL
        if exc.status_code in (401, 403):
            return Verdict.NEXT
        return Verdict.STOP
    # Raised only while a member is prepared (resolution, lifecycle, key).
    if isinstance(exc, (ModelKeyMissing, ModelRetired, ModelNotFound)):
        return Verdict.NEXT
    return Verdict.STOP


@dataclass(slots=True)
class Candidate(Generic[P]):
    """A member as prepared for this call, or the error its preparation raised
    (kept until the member's turn, so the order of the answer is the plan's)."""

    member: Member
    prepared: P | None = None
    error: GatewayError | None = None
    cool_key: Key | None = None  # None: it never reached a provider


@dataclass(frozen=True, slots=True)
class Served(Generic[P, T]):
    candidate: Candidate[P]
    prepared: P
    result: T
    attempts: int


async def call_members(
    candidates: Sequence[Candidate[P]],
    call: Callable[[P], Awaitable[T]],
    *,
    cooldowns: Cooldowns,
    group: bool,
    before_next: Callable[[Candidate[P], GatewayError], None] | None = None,
) -> Served[P, T]:
    """Call the members until one answers. ``before_next(candidate, error)`` runs
    when a group moves past a failed member (the meter counts that attempt)."""
    order = cooldowns.order(candidates, lambda c: c.cool_key) if group else list(candidates)
    for attempt, candidate in enumerate(order, 1):
        try:
            if candidate.error is not None:
                raise candidate.error
            assert candidate.prepared is not None
            result = await call(candidate.prepared)
        except GatewayError as exc:
            verdict = judge(exc)
            if verdict is Verdict.NEXT_AND_COOL and candidate.cool_key is not None:
                cooldowns.failed(candidate.cool_key)
            if not group:
                raise
            exc.headers[ATTEMPTS_HEADER] = str(attempt)
            if verdict is Verdict.STOP or attempt == len(order):
                raise
            if before_next is not None:
                before_next(candidate, exc)
            continue
        if candidate.cool_key is not None:
            cooldowns.succeeded(candidate.cool_key)
        return Served(candidate, candidate.prepared, result, attempt)
    raise AssertionError("a plan has at least one member")  # pragma: no cover
