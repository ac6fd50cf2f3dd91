"""The arithmetic both engines share: the rate meter, the order of checks, and
how a verdict becomes an admission's headers or a 429.

Rates are GCRA in its leaky-bucket form, in integers. A minute is ``UNIT``
milliseconds; one request (or one token) pours ``UNIT`` into the tenant's bucket
and the bucket drains ``limit`` per millisecond, so it holds at most
``limit * UNIT``: a full minute's worth. A call is admitted only if its cost
fits, so at most ``limit`` calls (tokens) pass at once and then ``limit`` per
minute, evenly. Integers make the threshold exact: the 100th request of an rpm
of 100 fits, the 101st does not, whatever the limit (no float drift).

An engine computes the *verdict* (the code and the figures after draining, and
after this call's cost when admitted) atomically; ``render`` turns it into
headers or an error, the same for both engines. The checks run in this order,
and all of them before anything is taken: monthly credits (retrying cannot help,
so it is the answer that matters), concurrency, requests, tokens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from modelgate.errors import GatewayError, InsufficientQuota, RateLimitExceeded
from modelgate.limits.types import TenantLimits
from modelgate.metering.events import NANO

UNIT = 60_000  # milliseconds in the window: one request or token pours this much

# Verdict codes; the Lua scripts return the same numbers.
ADMITTED, NO_CREDITS, NO_CONCURRENCY, NO_REQUESTS, NO_TOKENS, UNSEEDED = range(6)
_REASONS = {NO_CONCURRENCY: "concurrency", NO_REQUESTS: "rpm", NO_TOKENS: "tpm"}

CONCURRENCY_RETRY_SECONDS = 1  # a slot frees when one of the tenant's own calls ends


@dataclass(frozen=True, slots=True)
class Verdict:
    """An engine's answer: ``code``, and the tenant's figures it was decided on."""

    code: int
    rpm_level: int = 0
    tpm_level: int = 0
    in_flight: int = 0
    used_n: int = 0
    reserved_n: int = 0


def drained(level: int, at_ms: int, now_ms: int, limit: int) -> int:
    """The bucket's content at ``now_ms``, capped at a full minute's worth (a
    lowered limit, or a call that used more tokens than it reserved, never makes
    the tenant wait more than a minute)."""
    if now_ms > at_ms:
        level = max(0, level - limit * (now_ms - at_ms))
    return min(level, limit * UNIT)


def decide(
    limits: TenantLimits,
    *,
    tokens: int,
    credits_n: int,
    budgeted: bool,
    rpm_level: int,
    tpm_level: int,
    in_flight: int,
    used_n: int,
    reserved_n: int,
) -> int:
    """The verdict code for a call, from the tenant's drained figures."""
    if budgeted and limits.monthly_credits_n is not None:
        if used_n + reserved_n + credits_n > limits.monthly_credits_n:
            return NO_CREDITS
    if limits.concurrency is not None and in_flight + 1 > limits.concurrency:
        return NO_CONCURRENCY
    if limits.rpm is not None and rpm_level + UNIT > limits.rpm * UNIT:
        return NO_REQUESTS
    if limits.tpm is not None and tpm_level + tokens * UNIT > limits.tpm * UNIT:
        return NO_TOKENS
    return ADMITTED


def duration(ms: int) -> str:
    """OpenAI's reset format: ``"20ms"``, ``"1.5s"``, ``"6m0s"``."""
    if ms < 1000:
        return f"{ms}ms"
    minutes, seconds = divmod(ms / 1000, 60)
    text = f"{round(seconds, 3):g}s"
    return f"{int(minutes)}m{text}" if minutes else text


def _figures(limit: int, level: int) -> tuple[str, str, str]:
    remaining = max(0, (limit * UNIT - level) // UNIT)
    return str(limit), str(remaining), duration(math.ceil(level / limit) if limit else 0)


def headers(limits: TenantLimits, verdict: Verdict) -> dict[str, str]:
    """OpenAI's ``x-ratelimit-*`` headers for the limits the tenant has."""
    out: dict[str, str] = {}
    for name, limit, level in (
        ("requests", limits.rpm, verdict.rpm_level),
        ("tokens", limits.tpm, verdict.tpm_level),
    ):
        if limit is not None:
            total, remaining, reset = _figures(limit, level)
            out[f"x-ratelimit-limit-{name}"] = total
            out[f"x-ratelimit-remaining-{name}"] = remaining
            out[f"x-ratelimit-reset-{name}"] = reset
    return out


def _credits(nano: int) -> str:
    return f"{(Decimal(max(0, nano)) / NANO).normalize():f}"


def refusal(
    limits: TenantLimits, verdict: Verdict, *, tokens: int, credits_n: int
) -> GatewayError:
    """The 429 for a refused call (headers included)."""
    hdrs = headers(limits, verdict)
    if verdict.code == NO_CREDITS:
        assert limits.monthly_credits_n is not None
        left = limits.monthly_credits_n - verdict.used_n - verdict.reserved_n
        return InsufficientQuota(
            f"Monthly credit limit of {_credits(limits.monthly_credits_n)} reached: "
            f"{_credits(left)} credits are left this month (including calls in flight) "
            f"and this call may cost up to {_credits(credits_n)}.",
            headers=hdrs,
        )
    if verdict.code == NO_CONCURRENCY:
        message = (
            f"Too many concurrent calls: at most {limits.concurrency} at once. "
            "Retry when one of them has finished."
        )
        retry = CONCURRENCY_RETRY_SECONDS
    elif verdict.code == NO_REQUESTS:
        assert limits.rpm is not None
        wait_ms = math.ceil((verdict.rpm_level + UNIT - limits.rpm * UNIT) / limits.rpm)
        retry = max(1, math.ceil(wait_ms / 1000))
        message = f"Rate limit reached: {limits.rpm} requests per minute."
    else:
        assert limits.tpm is not None
        if tokens > limits.tpm:  # can never fit: say so rather than "retry later"
            retry = 60
            message = (
                f"This request needs {tokens} tokens, more than your limit of "
                f"{limits.tpm} tokens per minute: lower max_tokens or the input."
            )
        else:
            need = verdict.tpm_level + tokens * UNIT - limits.tpm * UNIT
            retry = max(1, math.ceil(math.ceil(need / limits.tpm) / 1000))
            message = (
                f"Rate limit reached: {limits.tpm} tokens per minute "
                f"(this request needs {tokens})."
            )
    refused = RateLimitExceeded(
        f"{message} Retry after {retry} s.", headers={**hdrs, "Retry-After": str(retry)}
    )
    refused.reason = _REASONS.get(verdict.code, "other")  # modelgate_rate_limited_total{reason}
    return refused


def render(
    limits: TenantLimits, verdict: Verdict, *, tokens: int, credits_n: int
) -> dict[str, str]:
    """An admitted verdict's headers; a refused one raises its 429."""
    if verdict.code != ADMITTED:
        raise refusal(limits, verdict, tokens=tokens, credits_n=credits_n)
    return headers(limits, verdict)
