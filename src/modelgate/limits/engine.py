"""What the call path asks of the limits: one protocol, one backend chosen at start-up.

    admission = await limits.admit(tenant_id, tenant_limits, request_id=…, tokens=…,
                                   credits_n=…, hosted=…, now=…)   # or a 429
    try:
        answer = await call_upstream()
    except BaseException:
        await limits.release(admission)          # failed, cancelled, client gone
        raise
    await limits.settle(admission, tokens=real_tokens, credits_n=real_credits)

``build_limits`` picks the backend once (never ``if redis:`` in the call path):
``FallbackLimits`` over Redis when ``MODELGATE_REDIS_URL`` is set, ``LocalLimits``
otherwise. docs/limits.md ("The limits engine") has the algorithms and the
error bound across replicas.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from modelgate.config import Settings
from modelgate.limits.fallback import FallbackLimits
from modelgate.limits.local import LocalLimits
from modelgate.limits.redis_engine import RedisLimits
from modelgate.limits.types import Admission, MonthSeed, TenantLimits


class LimitsEngine(Protocol):
    @property
    def status(self) -> str:
        """``"redis"``, ``"local"`` or ``"local (redis unreachable)"`` (for /readyz)."""
        ...

    async def admit(
        self,
        tenant_id: str,
        limits: TenantLimits,
        *,
        request_id: str,
        tokens: int,
        credits_n: int,
        hosted: bool,
        now: datetime | None = None,
    ) -> Admission:
        """Take, atomically, one request of the rpm, ``tokens`` of the tpm (the input
        estimate plus the reserved output), one concurrent slot and, for a hosted
        call under a monthly limit, a reservation of ``credits_n`` (its worst case)
        that must fit in limit − used − reserved. If any limit would be exceeded,
        take nothing and raise ``RateLimitExceeded`` or ``InsufficientQuota``.
        ``now`` picks the month the credits count in (UTC)."""
        ...

    async def settle(self, admission: Admission, *, tokens: int, credits_n: int) -> bool:
        """The call is done: free its slot, correct the minute's tokens to ``tokens``,
        drop the reservation and add ``credits_n`` (the real credits) to the month.
        Once per request id: a later settle or release does nothing (returns False)."""
        ...

    async def release(self, admission: Admission) -> bool:
        """The call failed or the client left: free the slot, give back the
        reservation and the tokens, add no credits. Idempotent like ``settle``."""
        ...

    async def usage(self, tenant_id: str, now: datetime | None = None) -> tuple[int, int]:
        """(used, reserved) nano-credits of ``now``'s month."""
        ...

    async def seed_month(self, tenant_id: str, month: str, used_n: int) -> None:
        """Start ``month`` ("YYYY-MM") at ``used_n`` (the database's sum), unless the
        engine already counts it. The engine also seeds by itself, through its
        ``seed`` callback, the first time a budgeted call meets a month."""
        ...

    async def aclose(self) -> None: ...


def build_limits(settings: Settings, *, seed: MonthSeed | None = None) -> LimitsEngine:
    """The engine for these settings (built once, in the app's lifespan)."""
    local = LocalLimits(reservation_ttl=settings.reservation_ttl, seed=seed)
    if settings.redis_url is None:
        return local
    return FallbackLimits(RedisLimits.from_settings(settings, seed=seed), local)
