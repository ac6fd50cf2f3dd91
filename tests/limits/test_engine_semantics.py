"""Each limit refuses exactly at its threshold and a refusal takes nothing; settle
and release are once per request id; an unsettled reservation expires. Every test
runs on both engines (LocalLimits, and RedisLimits on a throwaway redis-server)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from modelgate.errors import InsufficientQuota, RateLimitExceeded
from modelgate.limits.types import Admission, TenantLimits

NOW = datetime(2026, 12, 15, 12, 0, tzinfo=UTC)


def rid() -> str:
    return f"req_{uuid.uuid4().hex}"


async def admit(engine, tenant: str, limits: TenantLimits, *, tokens=0, credits_n=0, hosted=True):
    return await engine.admit(
        tenant, limits, request_id=rid(), tokens=tokens, credits_n=credits_n, hosted=hosted, now=NOW
    )


async def test_rpm_admits_exactly_the_limit_then_429_with_retry_after(make_engine, tenant) -> None:
    engine = make_engine()
    limits = TenantLimits(rpm=3)
    first = await admit(engine, tenant, limits)
    assert first.headers["x-ratelimit-limit-requests"] == "3"
    assert first.headers["x-ratelimit-remaining-requests"] == "2"
    for _ in range(2):
        await admit(engine, tenant, limits)
    with pytest.raises(RateLimitExceeded) as refused:
        await admit(engine, tenant, limits)
    error = refused.value
    assert (error.status_code, error.type) == (429, "rate_limit_error")
    assert error.code == "rate_limit_exceeded"
    assert error.retryable
    # One request drains in 60 s / 3 = 20 s (a few ms have passed since the first).
    assert error.headers["Retry-After"] in {"19", "20"}
    assert error.headers["x-ratelimit-remaining-requests"] == "0"
    assert "3 requests per minute" in error.message


async def test_a_refusal_takes_nothing_from_the_other_limits(make_engine, tenant) -> None:
    engine = make_engine()
    limits = TenantLimits(rpm=2, tpm=100, concurrency=5, monthly_credits_n=10_000)
    await admit(engine, tenant, limits, tokens=60, credits_n=1000)
    with pytest.raises(RateLimitExceeded) as refused:  # 60 + 60 > 100 tokens
        await admit(engine, tenant, limits, tokens=60, credits_n=1000)
    assert "100 tokens per minute" in refused.value.message
    # The refused call took no request, no slot and no credits: exactly 100 tokens fit.
    second = await admit(engine, tenant, limits, tokens=40, credits_n=1000)
    assert second.headers["x-ratelimit-remaining-tokens"] == "0"
    assert second.headers["x-ratelimit-remaining-requests"] == "0"
    assert await engine.usage(tenant, NOW) == (0, 2000)
    with pytest.raises(RateLimitExceeded):  # now the rpm: 2 of 2 taken
        await admit(engine, tenant, limits)


async def test_tokens_refill_with_time(make_engine, tenant) -> None:
    engine = make_engine()
    limits = TenantLimits(tpm=60_000)  # one token per millisecond
    await admit(engine, tenant, limits, tokens=60_000)
    with pytest.raises(RateLimitExceeded) as refused:
        await admit(engine, tenant, limits, tokens=100)
    assert refused.value.headers["Retry-After"] == "1"
    await asyncio.sleep(0.15)
    await admit(engine, tenant, limits, tokens=100)


async def test_a_request_larger_than_the_tpm_says_so(make_engine, tenant) -> None:
    engine = make_engine()
    with pytest.raises(RateLimitExceeded) as refused:
        await admit(engine, tenant, TenantLimits(tpm=1000), tokens=1001)
    assert "more than your limit of 1000 tokens per minute" in refused.value.message


async def test_concurrency_refuses_at_the_limit_and_a_finish_frees_a_slot(
    make_engine, tenant
) -> None:
    engine = make_engine()
    limits = TenantLimits(concurrency=2)
    one = await admit(engine, tenant, limits)
    two = await admit(engine, tenant, limits)
    with pytest.raises(RateLimitExceeded) as refused:
        await admit(engine, tenant, limits)
    assert refused.value.headers["Retry-After"] == "1"
    assert "at most 2 at once" in refused.value.message
    await engine.settle(one, tokens=0, credits_n=0)
    three = await admit(engine, tenant, limits)
    await engine.release(two)
    await engine.release(three)
    await admit(engine, tenant, limits)
    await admit(engine, tenant, limits)


async def test_monthly_credits_refuse_with_insufficient_quota_naming_what_is_left(
    make_engine, tenant
) -> None:
    engine = make_engine()
    limits = TenantLimits(monthly_credits_n=5_000_000_000)  # 5 credits
    await engine.seed_month(tenant, "2026-12", 1_500_000_000)  # 1.5 spent (the database)
    held = await admit(engine, tenant, limits, credits_n=3_000_000_000)
    assert held.credits_n == 3_000_000_000
    # 5 - 1.5 - 3 = 0.5 left: a call that may cost 0.500000001 does not fit, 0.5 does.
    with pytest.raises(InsufficientQuota) as refused:
        await admit(engine, tenant, limits, credits_n=500_000_001)
    error = refused.value
    assert (error.status_code, error.type) == (429, "insufficient_quota")
    assert error.code == "insufficient_quota"
    assert not error.retryable and "Retry-After" not in error.headers
    assert "limit of 5 reached: 0.5 credits are left" in error.message
    assert "up to 0.500000001" in error.message
    assert await engine.usage(tenant, NOW) == (1_500_000_000, 3_000_000_000)
    await admit(engine, tenant, limits, credits_n=500_000_000)
    # Settling to the real (lower) credits makes room again.
    await engine.settle(held, tokens=0, credits_n=1_000_000_000)
    assert await engine.usage(tenant, NOW) == (2_500_000_000, 500_000_000)
    await admit(engine, tenant, limits, credits_n=2_000_000_000)


async def test_byok_calls_count_against_rates_but_not_credits(make_engine, tenant) -> None:
    engine = make_engine()
    limits = TenantLimits(rpm=5, monthly_credits_n=1000)
    await engine.seed_month(tenant, "2026-12", 1000)  # the month is spent
    byok = await admit(engine, tenant, limits, credits_n=999_999, hosted=False)
    assert byok.credits_n == 0
    await engine.settle(byok, tokens=10, credits_n=5)
    assert await engine.usage(tenant, NOW) == (1000, 0)
    with pytest.raises(InsufficientQuota):
        await admit(engine, tenant, limits, credits_n=1)


async def test_settle_and_release_happen_once_per_request_id(make_engine, tenant) -> None:
    engine = make_engine()
    limits = TenantLimits(concurrency=1, monthly_credits_n=10_000)
    await engine.seed_month(tenant, "2026-12", 0)
    call = await admit(engine, tenant, limits, credits_n=4000)
    assert await engine.settle(call, tokens=0, credits_n=3000) is True
    assert await engine.settle(call, tokens=0, credits_n=3000) is False
    assert await engine.release(call) is False
    assert await engine.usage(tenant, NOW) == (3000, 0)
    # The slot was freed once: one call fits, the next does not.
    other = await admit(engine, tenant, limits, credits_n=4000)
    with pytest.raises(RateLimitExceeded):
        await admit(engine, tenant, limits, credits_n=1)
    assert await engine.release(other) is True
    assert await engine.release(other) is False
    assert await engine.settle(other, tokens=0, credits_n=4000) is False
    assert await engine.usage(tenant, NOW) == (3000, 0)


async def test_settle_corrects_the_minute_to_the_real_tokens(make_engine, tenant) -> None:
    engine = make_engine()
    limits = TenantLimits(tpm=1000)
    call = await admit(engine, tenant, limits, tokens=900)  # 100 input + 800 max_tokens
    with pytest.raises(RateLimitExceeded):
        await admit(engine, tenant, limits, tokens=500)
    await engine.settle(call, tokens=150, credits_n=0)  # it used 150
    await admit(engine, tenant, limits, tokens=500)
    failed = await admit(engine, tenant, limits, tokens=300)
    await engine.release(failed)  # a failed call gives its tokens back
    await admit(engine, tenant, limits, tokens=300)


async def test_an_unsettled_reservation_expires(make_engine, tenant) -> None:
    engine = make_engine(reservation_ttl=0.3)
    limits = TenantLimits(concurrency=1, monthly_credits_n=1000)
    await engine.seed_month(tenant, "2026-12", 0)
    lost = await admit(engine, tenant, limits, credits_n=1000)  # its process "crashed"
    with pytest.raises(InsufficientQuota):
        await admit(engine, tenant, limits, credits_n=1)
    await asyncio.sleep(0.45)
    late = await admit(engine, tenant, limits, credits_n=600)  # its slot and credits are back
    assert await engine.usage(tenant, NOW) == (0, 600)
    await engine.release(late)
    # A settle that comes after the expiry still counts what was spent, once.
    assert await engine.settle(lost, tokens=0, credits_n=250) is True
    assert await engine.settle(lost, tokens=0, credits_n=250) is False
    assert await engine.usage(tenant, NOW) == (250, 0)


async def test_a_month_is_seeded_once_from_the_source(make_engine, tenant) -> None:
    asked: list[tuple[str, str]] = []

    async def from_database(tenant_id: str, month: str) -> int:
        asked.append((tenant_id, month))
        return 700

    engine = make_engine(seed=from_database)
    limits = TenantLimits(monthly_credits_n=1000)
    with pytest.raises(InsufficientQuota):
        await admit(engine, tenant, limits, credits_n=301)
    call = await admit(engine, tenant, limits, credits_n=300)
    await engine.settle(call, tokens=0, credits_n=100)
    await engine.seed_month(tenant, "2026-12", 0)  # already counted: ignored
    assert await engine.usage(tenant, NOW) == (800, 0)
    assert asked == [(tenant, "2026-12")]


async def test_an_unlimited_tenant_is_admitted_and_holds_nothing(make_engine, tenant) -> None:
    engine = make_engine()
    calls: list[Admission] = [
        await admit(engine, tenant, TenantLimits(), credits_n=10**12) for _ in range(3)
    ]
    assert all(c.engine == "none" and c.headers == {} for c in calls)
    assert await engine.settle(calls[0], tokens=5, credits_n=5) is False
