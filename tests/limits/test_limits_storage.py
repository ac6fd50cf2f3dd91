"""tenant_limits and the month's credits, on SQLite and PostgreSQL (limits/service.py).

Limits are written by the real service functions and read back through a new
session; the month's credits come from usage written by the real batch writer,
which keeps the daily roll-up the service reads.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from modelgate.audit.models import AuditEntry
from modelgate.db import session_factory
from modelgate.limits import service
from modelgate.limits.models import TenantLimitsRow
from modelgate.limits.service import LimitsError
from modelgate.limits.types import TenantLimits
from modelgate.metering.batch_write import write_batch
from modelgate.metering.events import UsageEvent
from modelgate.metering.partitions import month_of, prepare_months
from modelgate.tenants.models import Tenant
from tests.metering.usage_helpers import make_event
from tests.support import SeededTenant, seed_tenant


# Named apart from tests/limits/conftest.py's `tenant` (a bare id for the engine tests).
@pytest.fixture
async def seeded(clean_engine: AsyncEngine) -> SeededTenant:
    return await seed_tenant(clean_engine)


@pytest.fixture
async def neighbour(clean_engine: AsyncEngine) -> SeededTenant:
    return await seed_tenant(clean_engine)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def store_usage(engine: AsyncEngine, events: list[UsageEvent]) -> None:
    async with engine.begin() as connection:
        await prepare_months(
            connection, {month_of(e.created_at) for e in events},
            now=datetime.now(UTC), retention_months=0,
        )
    async with engine.begin() as connection:
        await write_batch(connection, events)


async def set_limits(engine: AsyncEngine, tenant_id: str, **figures) -> TenantLimits:
    async with session_factory(engine)() as session, session.begin():
        return await service.set_limits(session, tenant_id, **figures)


async def get_limits(engine: AsyncEngine, tenant_id: str) -> TenantLimits:
    async with session_factory(engine)() as session:
        return await service.get_limits(session, tenant_id)


async def audit_actions(engine: AsyncEngine, tenant_id: str) -> list[tuple[str, str | None]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(AuditEntry.action, AuditEntry.token_prefix)
            .where(AuditEntry.tenant_id == tenant_id)
            .order_by(AuditEntry.seq)
        )
        return [tuple(row) for row in rows]


async def test_a_tenant_never_limited_is_unlimited_in_every_figure(
    clean_engine: AsyncEngine, seeded: SeededTenant
) -> None:
    assert await get_limits(clean_engine, seeded.id) == TenantLimits(None, None, None, None)


async def test_limits_round_trip_and_only_the_given_figures_change(
    clean_engine: AsyncEngine, seeded: SeededTenant, neighbour: SeededTenant
) -> None:
    stored = await set_limits(
        clean_engine, seeded.id, rpm=600, tpm=200_000, monthly_credits=Decimal("50.123456789")
    )
    expected = TenantLimits(
        rpm=600, tpm=200_000, concurrency=None, monthly_credits_n=50_123_456_789
    )
    assert stored == expected
    assert await get_limits(clean_engine, seeded.id) == expected  # read back from the table

    # One figure given: the others stay as they were.
    await set_limits(clean_engine, seeded.id, concurrency=20)
    assert await get_limits(clean_engine, seeded.id) == TenantLimits(
        600, 200_000, 20, 50_123_456_789
    )

    # 0 means unlimited and is stored as NULL, the one way to say it.
    await set_limits(clean_engine, seeded.id, rpm=0, monthly_credits=Decimal(0))
    assert await get_limits(clean_engine, seeded.id) == TenantLimits(None, 200_000, 20, None)
    async with clean_engine.connect() as connection:
        row = (await connection.execute(
            select(TenantLimitsRow.rpm, TenantLimitsRow.monthly_credits_n)
            .where(TenantLimitsRow.tenant_id == seeded.id)
        )).one()
    assert tuple(row) == (None, None)

    # The other tenant was never touched.
    assert await get_limits(clean_engine, neighbour.id) == TenantLimits()


async def test_clear_resets_every_figure_and_then_applies_those_given(
    clean_engine: AsyncEngine, seeded: SeededTenant
) -> None:
    await set_limits(
        clean_engine, seeded.id, rpm=1, tpm=2, concurrency=3, monthly_credits=Decimal(4)
    )
    assert await set_limits(clean_engine, seeded.id, clear=True) == TenantLimits()
    assert await get_limits(clean_engine, seeded.id) == TenantLimits()
    await set_limits(clean_engine, seeded.id, rpm=1, tpm=2)
    assert await set_limits(clean_engine, seeded.id, clear=True, tpm=7) == TenantLimits(tpm=7)


async def test_a_change_is_audited_once_without_a_token(
    clean_engine: AsyncEngine, seeded: SeededTenant
) -> None:
    await set_limits(clean_engine, seeded.id, rpm=10)
    await set_limits(clean_engine, seeded.id, rpm=10)  # the same value again: no change
    await set_limits(clean_engine, seeded.id, clear=True)
    assert await audit_actions(clean_engine, seeded.id) == [
        ("limits.set", None), ("limits.set", None),
    ]


async def test_the_largest_limits_fit_their_columns(
    clean_engine: AsyncEngine, seeded: SeededTenant
) -> None:
    credits = Decimal(service.MAX_CREDITS_N) / Decimal(10**9)
    await set_limits(
        clean_engine, seeded.id, rpm=service.MAX_COUNT, tpm=service.MAX_COUNT,
        concurrency=service.MAX_COUNT, monthly_credits=credits,
    )
    assert await get_limits(clean_engine, seeded.id) == TenantLimits(
        service.MAX_COUNT, service.MAX_COUNT, service.MAX_COUNT, service.MAX_CREDITS_N
    )


async def test_limits_go_with_their_tenant(clean_engine: AsyncEngine, seeded: SeededTenant) -> None:
    await set_limits(clean_engine, seeded.id, rpm=5)
    async with session_factory(clean_engine)() as session, session.begin():
        await session.delete(await session.get(Tenant, seeded.id))
    async with clean_engine.connect() as connection:
        left = await connection.execute(select(TenantLimitsRow.tenant_id))
        assert list(left) == []


@pytest.mark.parametrize(
    "figures",
    [{"rpm": -1}, {"tpm": 2**31}, {"concurrency": -5},
     {"monthly_credits": Decimal("-0.5")}, {"monthly_credits": Decimal("0.0000000001")},
     {"monthly_credits": Decimal("NaN")}, {"monthly_credits": Decimal(2**63)}],
)
async def test_the_service_refuses_what_the_columns_cannot_mean(
    clean_engine: AsyncEngine, seeded: SeededTenant, figures: dict
) -> None:
    with pytest.raises(LimitsError):
        await set_limits(clean_engine, seeded.id, **figures)
    assert await get_limits(clean_engine, seeded.id) == TenantLimits()


async def test_credits_used_sum_the_hosted_calls_of_this_utc_month_only(
    clean_engine: AsyncEngine, seeded: SeededTenant, neighbour: SeededTenant
) -> None:
    await store_usage(clean_engine, [
        make_event(seeded.id, created_at=at("2026-03-01T00:00:00"), credits_n=1_000_000_001),
        make_event(seeded.id, created_at=at("2026-03-31T23:59:59"), credits_n=234_567_890),
        # Not this month, not hosted, or not this tenant: not counted.
        make_event(seeded.id, created_at=at("2026-02-28T23:59:59"), credits_n=7_000_000_000),
        make_event(seeded.id, created_at=at("2026-04-01T00:00:00"), credits_n=9_000_000_000),
        make_event(seeded.id, created_at=at("2026-03-15T12:00:00"), source="byok", credits_n=5),
        make_event(neighbour.id, created_at=at("2026-03-15T12:00:00"), credits_n=3_000_000_000),
    ])
    async with session_factory(clean_engine)() as session:
        used = await service.credits_used_this_month(session, seeded.id, at("2026-03-31T23:59:59"))
        assert used == 1_234_567_891
        # December: the next month starts in the next year.
        december = at("2026-12-05T00:00:00")
        assert await service.credits_used_this_month(session, seeded.id, december) == 0
        march = at("2026-03-02T00:00:00")
        assert await service.credits_used_this_month(session, "tn_nobody", march) == 0


def test_the_month_starts_on_the_first_utc_day() -> None:
    from datetime import timedelta, timezone

    # 00:30 on 1 April in UTC+2 is still 31 March in UTC.
    moment = datetime(2026, 4, 1, 0, 30, tzinfo=timezone(timedelta(hours=2)))
    assert service.month_start(moment) == date(2026, 3, 1)
    assert service.month_start(at("2026-12-31T23:59:59")) == date(2026, 12, 1)


@pytest.mark.parametrize(
    ("text", "value"), [("0", 0), ("600", 600), (" 20 ", 20), (str(2**31 - 1), 2**31 - 1)]
)
def test_counts_parse(text: str, value: int) -> None:
    assert service.parse_count("rpm", text) == value


@pytest.mark.parametrize("text", ["-1", "abc", "", "1.5", "+3", "1e3", "٣", str(2**31), "0x10"])
def test_bad_counts_are_refused_naming_the_option(text: str) -> None:
    with pytest.raises(LimitsError, match="^--tpm: "):
        service.parse_count("tpm", text)


@pytest.mark.parametrize(
    ("text", "value"),
    [("50", Decimal(50)), ("50.5", Decimal("50.5")), ("0.000000001", Decimal("0.000000001")),
     (".25", Decimal("0.25")), ("0", Decimal(0))],
)
def test_credits_parse_exactly(text: str, value: Decimal) -> None:
    assert service.parse_credits(text) == value
    assert service.credits_to_nano(service.parse_credits(text)) == int(value * 10**9)


@pytest.mark.parametrize(
    "text", ["-1", "abc", "1e3", "NaN", "Infinity", "1.2.3", "", "0.0000000001", "1,5", "9" * 20]
)
def test_bad_credits_are_refused(text: str) -> None:
    with pytest.raises(LimitsError, match="^--monthly-credits: "):
        service.parse_credits(text)


async def test_the_engines_month_seed_reads_the_same_sum(
    clean_engine: AsyncEngine, seeded: SeededTenant
) -> None:
    await store_usage(clean_engine, [
        make_event(seeded.id, created_at=at("2026-12-01T00:00:00"), credits_n=40),
        make_event(seeded.id, created_at=at("2026-12-31T23:59:59"), credits_n=2),
        make_event(seeded.id, created_at=at("2027-01-01T00:00:00"), credits_n=1000),
    ])
    seed = service.month_seed(session_factory(clean_engine))
    assert await seed(seeded.id, "2026-12") == 42
    assert await seed(seeded.id, "2027-01") == 1000
    assert await seed(seeded.id, "2026-11") == 0
