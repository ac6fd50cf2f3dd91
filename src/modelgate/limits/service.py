"""Reading and writing a tenant's platform limits, and the month's credits used.

The operator sets limits with the CLI; tenants only read them (GET
/v1/tenant/limits). Services flush; the caller's transaction commits.

The CLI's figures arrive as text and are parsed here (``parse_count``,
``parse_credits``), so that the rules for what a valid limit is live beside
the table that stores it: whole numbers from 0, 0 meaning unlimited, and
credits as an exact decimal of at most 9 places (one nano-credit).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from modelgate.audit import service as audit
from modelgate.db import utcnow
from modelgate.limits.models import TenantLimitsRow
from modelgate.limits.types import MonthSeed, TenantLimits
from modelgate.metering.events import NANO
from modelgate.metering.models import UsageDaily

# The columns' ranges: rpm, tpm and concurrency are 32-bit, credits 64-bit nano.
MAX_COUNT: Final = 2**31 - 1
MAX_CREDITS_N: Final = 2**63 - 1
CREDIT_PLACES: Final = 9

UNLIMITED = TenantLimits(rpm=None, tpm=None, concurrency=None, monthly_credits_n=None)


class LimitsError(ValueError):
    """A limit that cannot be stored, with a one-line reason naming the figure."""


class _Unchanged:
    """The default of ``set_limits``' figures: leave what is stored."""

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Final = _Unchanged()


def parse_count(name: str, text: str) -> int:
    """A whole number of requests, tokens or calls: 0 (unlimited) to 2**31-1."""
    stripped = text.strip()
    if not stripped.isascii() or not stripped.isdigit():
        raise LimitsError(f"--{name}: {text!r} is not a whole number of 0 or more")
    value = int(stripped)
    if value > MAX_COUNT:
        raise LimitsError(f"--{name}: {text!r} is over the largest limit, {MAX_COUNT}")
    return value


def parse_credits(text: str) -> Decimal:
    """Credits as an exact decimal (never through a float): 0 or more, at most 9 places."""
    stripped = text.strip()
    try:
        value = Decimal(stripped)
    except InvalidOperation:
        value = None
    # Decimal also reads "NaN", "Infinity" and "1e3": a limit is written as digits.
    if value is None or not stripped.replace(".", "", 1).isdigit() or not stripped.isascii():
        raise LimitsError(f"--monthly-credits: {text!r} is not a decimal number of 0 or more")
    credits_to_nano(value)  # refuses a 10th decimal place and what the column cannot hold
    return value


def parse_changes(
    *, rpm: str | None, tpm: str | None, concurrency: str | None, monthly_credits: str | None
) -> dict[str, int | Decimal]:
    """The CLI's figures that were given, parsed, as ``set_limits`` keywords."""
    counts = {"rpm": rpm, "tpm": tpm, "concurrency": concurrency}
    changes: dict[str, int | Decimal] = {
        name: parse_count(name, text) for name, text in counts.items() if text is not None
    }
    if monthly_credits is not None:
        changes["monthly_credits"] = parse_credits(monthly_credits)
    return changes


def credits_to_nano(credits: Decimal) -> int:
    """Exact nano-credits, or LimitsError: a limit is never rounded behind the operator's back."""
    if not credits.is_finite() or credits < 0:
        raise LimitsError(f"--monthly-credits: {credits} is not a number of 0 or more")
    nano = credits * NANO
    if nano != nano.to_integral_value():
        shown = format(credits, "f")
        raise LimitsError(f"--monthly-credits: {shown} has more than {CREDIT_PLACES} places")
    if nano > MAX_CREDITS_N:
        raise LimitsError(f"--monthly-credits: {format(credits, 'f')} is over the largest limit")
    return int(nano)


def _stored(value: int | None) -> int | None:
    """0 and None both mean unlimited; the table keeps only NULL for it."""
    if value is not None and (value < 0 or value > MAX_COUNT):
        raise LimitsError(f"{value} is not a limit of 0 to {MAX_COUNT}")
    return value or None


def _limits(row: TenantLimitsRow | None) -> TenantLimits:
    if row is None:
        return UNLIMITED
    return TenantLimits(
        rpm=row.rpm,
        tpm=row.tpm,
        concurrency=row.concurrency,
        monthly_credits_n=row.monthly_credits_n,
    )


async def get_limits(session: AsyncSession, tenant_id: str) -> TenantLimits:
    """The tenant's limits; every figure None (unlimited) when none was ever set."""
    return _limits(await session.get(TenantLimitsRow, tenant_id))


async def set_limits(
    session: AsyncSession,
    tenant_id: str,
    *,
    rpm: int | None | _Unchanged = UNCHANGED,
    tpm: int | None | _Unchanged = UNCHANGED,
    concurrency: int | None | _Unchanged = UNCHANGED,
    monthly_credits: Decimal | None | _Unchanged = UNCHANGED,
    clear: bool = False,
) -> TenantLimits:
    """Change only the figures given (0 or None: unlimited); ``clear`` first resets
    every figure to unlimited. Audited as ``limits.set`` when anything changed, with
    no token (an operator did it). Returns the limits now stored."""
    row = await session.get(TenantLimitsRow, tenant_id)
    before = _limits(row)
    if row is None:
        row = TenantLimitsRow(tenant_id=tenant_id)
        session.add(row)
    if clear:
        row.rpm = row.tpm = row.concurrency = row.monthly_credits_n = None
    if not isinstance(rpm, _Unchanged):
        row.rpm = _stored(rpm)
    if not isinstance(tpm, _Unchanged):
        row.tpm = _stored(tpm)
    if not isinstance(concurrency, _Unchanged):
        row.concurrency = _stored(concurrency)
    if not isinstance(monthly_credits, _Unchanged):
        row.monthly_credits_n = (
            None if monthly_credits is None else credits_to_nano(monthly_credits) or None
        )
    row.updated_at = utcnow()
    await session.flush()
    after = _limits(row)
    if after != before:
        # The entry an operator's token events get: no token, the tenant's own sequence.
        # audit/service.py has no public writer for a non-token CLI event yet.
        await audit._insert(session, tenant_id=tenant_id, action="limits.set", token_prefix=None)
    return after


def month_start(now: datetime) -> date:
    """The first day of ``now``'s calendar month in UTC: the budget's period."""
    return now.astimezone(UTC).date().replace(day=1)


def _next_month(first: date) -> date:
    return first.replace(year=first.year + 1, month=1) if first.month == 12 else first.replace(
        month=first.month + 1
    )


async def credits_used_this_month(session: AsyncSession, tenant_id: str, now: datetime) -> int:
    """Nano-credits of the tenant's hosted calls in ``now``'s UTC month, from the daily
    roll-up (a few rows per day, read by its (tenant_id, day) key prefix). Events
    still in the recorder's buffer (at most a couple of seconds) are not counted yet."""
    return await _credits_in_month(session, tenant_id, month_start(now))


def month_seed(sessions: async_sessionmaker[AsyncSession]) -> MonthSeed:
    """The engines' ``seed``: where a month they have not counted yet starts, from the
    database (``month`` is ``"YYYY-MM"``, as ``types.month_key`` writes it)."""

    async def seed(tenant_id: str, month: str) -> int:
        async with sessions() as session:
            return await _credits_in_month(session, tenant_id, date.fromisoformat(f"{month}-01"))

    return seed


async def _credits_in_month(session: AsyncSession, tenant_id: str, first: date) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(UsageDaily.credits_n), 0)).where(
            UsageDaily.tenant_id == tenant_id,
            UsageDaily.day >= first,
            UsageDaily.day < _next_month(first),
            UsageDaily.source == "hosted",
        )
    )
    return int(total or 0)
