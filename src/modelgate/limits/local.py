"""The limits engine in one process: the embedded default without Redis, and the
fallback while Redis is unreachable.

Same semantics as ``redis_engine.RedisLimits`` (the arithmetic is shared, in
``window.py``): each check-and-take runs without an ``await`` between reading
and writing, so on the event loop it is atomic, and exact for this process.

A reservation lives in its tenant's ``in_flight`` dict until it is settled,
released, or ``reservation_ttl`` seconds pass (a lost settle never leaks).
Every reservation lives the same TTL, so the dict's insertion order is expiry
order and the sweep only looks at its oldest entries.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from modelgate.limits import window
from modelgate.limits.types import Admission, MonthSeed, TenantLimits, month_key
from modelgate.limits.window import UNIT, Verdict


@dataclass(slots=True)
class _Reservation:
    month: str
    credits_n: int
    tokens: int
    hosted: bool
    expires_at: float


@dataclass(slots=True)
class _Month:
    used_n: int
    reserved_n: int = 0


@dataclass(slots=True)
class _Tenant:
    tenant_id: str
    tpm_limit: int | None = None  # the tpm the bucket was last filled under
    rpm_level: int = 0
    rpm_at: int = 0
    tpm_level: int = 0
    tpm_at: int = 0
    in_flight: dict[str, _Reservation] = field(default_factory=dict)


class LocalLimits:
    """``LimitsEngine`` in this process (see the module docstring)."""

    status = "local"

    def __init__(
        self,
        *,
        reservation_ttl: float,
        seed: MonthSeed | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ttl = reservation_ttl
        self._seed = seed
        self._clock = clock
        self._tenants: dict[str, _Tenant] = {}
        self._months: dict[tuple[str, str], _Month] = {}
        # Request ids settled or released lately (insertion order = expiry order).
        self._done: dict[str, float] = {}

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
        month = month_key(now or datetime.now(UTC))
        if limits.unlimited:
            return Admission(request_id, tenant_id, 0, 0, month, hosted, "none")
        budgeted = hosted and limits.monthly_credits_n is not None
        if budgeted and (tenant_id, month) not in self._months:
            await self._seed_from_source(tenant_id, month)
        # From here on, no await: the check and the take are one step.
        now_s = self._clock()
        now_ms = int(now_s * 1000)
        tenant = self._tenants.get(tenant_id) or self._tenants.setdefault(
            tenant_id, _Tenant(tenant_id)
        )
        self._sweep(tenant, now_s)
        rpm_level = window.drained(tenant.rpm_level, tenant.rpm_at, now_ms, limits.rpm or 0)
        tpm_level = window.drained(tenant.tpm_level, tenant.tpm_at, now_ms, limits.tpm or 0)
        spent = self._months.get((tenant_id, month)) if budgeted else None
        used_n, reserved_n = (spent.used_n, spent.reserved_n) if spent else (0, 0)
        figures = dict(
            rpm_level=rpm_level,
            tpm_level=tpm_level,
            in_flight=len(tenant.in_flight),
            used_n=used_n,
            reserved_n=reserved_n,
        )
        code = window.decide(
            limits, tokens=tokens, credits_n=credits_n, budgeted=budgeted, **figures
        )
        if code != window.ADMITTED:
            raise window.refusal(
                limits, Verdict(code, **figures), tokens=tokens, credits_n=credits_n
            )
        held = credits_n if budgeted else 0
        if limits.rpm is not None:
            tenant.rpm_level, tenant.rpm_at = rpm_level + UNIT, now_ms
        if limits.tpm is not None:
            tenant.tpm_level, tenant.tpm_at = tpm_level + tokens * UNIT, now_ms
        tenant.tpm_limit = limits.tpm
        tenant.in_flight[request_id] = _Reservation(month, held, tokens, hosted, now_s + self._ttl)
        if spent is not None:
            spent.reserved_n += held
        after = Verdict(
            window.ADMITTED,
            tenant.rpm_level,
            tenant.tpm_level,
            len(tenant.in_flight),
            used_n,
            reserved_n + held,
        )
        headers = window.headers(limits, after)
        return Admission(request_id, tenant_id, tokens, held, month, hosted, "local", headers)

    async def settle(self, admission: Admission, *, tokens: int, credits_n: int) -> bool:
        """Settle to the real figures; True if this call did it (False: already done)."""
        return self._finish(admission, tokens=tokens, credits_n=credits_n)

    async def release(self, admission: Admission) -> bool:
        """Give everything back (the call failed or the client left): no credits, and
        the tokens returned to the minute; the request still counts."""
        return self._finish(admission, tokens=0, credits_n=0)

    async def usage(self, tenant_id: str, now: datetime | None = None) -> tuple[int, int]:
        month = month_key(now or datetime.now(UTC))
        if (tenant_id, month) not in self._months:
            await self._seed_from_source(tenant_id, month)
        tenant = self._tenants.get(tenant_id)
        if tenant is not None:
            self._sweep(tenant, self._clock())
        spent = self._months[(tenant_id, month)]
        return spent.used_n, spent.reserved_n

    async def seed_month(self, tenant_id: str, month: str, used_n: int) -> None:
        self._months.setdefault((tenant_id, month), _Month(used_n))

    def forget_months(self) -> None:
        """Drop every month's counters, so they are seeded afresh (the fallback calls
        this when Redis goes away: what this process knew may be stale by then)."""
        self._months.clear()

    async def aclose(self) -> None:
        return None

    async def _seed_from_source(self, tenant_id: str, month: str) -> None:
        used_n = await self._seed(tenant_id, month) if self._seed is not None else 0
        await self.seed_month(tenant_id, month, used_n)  # setdefault: a racing seed wins

    def _finish(self, admission: Admission, *, tokens: int, credits_n: int) -> bool:
        if admission.engine == "none":
            return False
        now_s = self._clock()
        self._prune_done(now_s)
        if admission.request_id in self._done:
            return False
        self._done[admission.request_id] = now_s + self._ttl
        tenant = self._tenants.get(admission.tenant_id)
        reservation = tenant.in_flight.pop(admission.request_id, None) if tenant else None
        spent = self._months.get((admission.tenant_id, admission.month))
        if reservation is not None and tenant is not None:
            if spent is not None:
                spent.reserved_n -= reservation.credits_n
            limit = tenant.tpm_limit
            if limit is not None and tokens != reservation.tokens:
                now_ms = int(now_s * 1000)
                level = window.drained(tenant.tpm_level, tenant.tpm_at, now_ms, limit)
                corrected = level + (tokens - reservation.tokens) * UNIT
                tenant.tpm_level = max(0, min(corrected, limit * UNIT))
                tenant.tpm_at = now_ms
        if admission.hosted and credits_n and spent is not None:
            spent.used_n += credits_n
        return True

    def _sweep(self, tenant: _Tenant, now_s: float) -> None:
        while tenant.in_flight:
            request_id, reservation = next(iter(tenant.in_flight.items()))
            if reservation.expires_at > now_s:
                break
            del tenant.in_flight[request_id]
            spent = self._months.get((tenant.tenant_id, reservation.month))
            if spent is not None:
                spent.reserved_n -= reservation.credits_n

    def _prune_done(self, now_s: float) -> None:
        while self._done:
            request_id, expires_at = next(iter(self._done.items()))
            if expires_at > now_s:
                break
            del self._done[request_id]
