"""The values the limits engine takes and gives: a tenant's limits, and an admission.

Money is integer nano-credits, like everywhere else (``metering/events.py``);
``None`` in a limit means unlimited for that figure. The two refusals are
``modelgate.errors.RateLimitExceeded`` and ``InsufficientQuota`` (re-exported here).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from modelgate.errors import InsufficientQuota, RateLimitExceeded

__all__ = [
    "Admission",
    "EngineName",
    "InsufficientQuota",
    "MonthSeed",
    "RateLimitExceeded",
    "TenantLimits",
    "month_key",
]

EngineName = Literal["redis", "local", "none"]

# The tenant's hosted credits already spent in a month ("YYYY-MM"), from the
# database (the usage_daily sum): what an engine starts a month it has not seen from.
MonthSeed = Callable[[str, str], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class TenantLimits:
    """A tenant's platform limits, as the operator's CLI set them."""

    rpm: int | None = None
    tpm: int | None = None
    concurrency: int | None = None
    monthly_credits_n: int | None = None

    @property
    def unlimited(self) -> bool:
        """No figure is limited: the engine admits at once, with no round trip."""
        return (
            self.rpm is None
            and self.tpm is None
            and self.concurrency is None
            and self.monthly_credits_n is None
        )


@dataclass(frozen=True, slots=True)
class Admission:
    """What ``admit`` took for one call: hand it back to ``settle`` or ``release``.

    ``tokens`` and ``credits_n`` are what was reserved (the tpm cost and, for a
    hosted call with a monthly limit, the worst-case credits). ``engine`` says
    which counters hold it, so that a fallback settles it where it was taken;
    ``"none"`` is an unlimited tenant's admission, which holds nothing.
    ``headers`` are OpenAI's ``x-ratelimit-*`` for the answer.
    """

    request_id: str
    tenant_id: str
    tokens: int
    credits_n: int
    month: str
    hosted: bool
    engine: EngineName
    headers: dict[str, str] = field(default_factory=dict)


def month_key(now: datetime) -> str:
    """``now``'s calendar month in UTC, ``"2026-12"``: the budget's period."""
    utc = now.astimezone(UTC)
    return f"{utc.year:04d}-{utc.month:02d}"  # strftime costs more, on every limited call
