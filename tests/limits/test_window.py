"""The shared arithmetic on its own: the reset format, the bucket, the headers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from modelgate.limits.types import TenantLimits, month_key
from modelgate.limits.window import ADMITTED, UNIT, Verdict, drained, duration, headers


def test_reset_durations_read_like_openais() -> None:
    assert [duration(ms) for ms in (0, 20, 999, 1000, 1500, 60_000, 360_000, 61_250)] == [
        "0ms", "20ms", "999ms", "1s", "1.5s", "1m0s", "6m0s", "1m1.25s",
    ]


def test_a_bucket_drains_its_limit_per_millisecond_and_never_holds_more_than_a_minute() -> None:
    assert drained(5 * UNIT, at_ms=1000, now_ms=1000 + UNIT // 10, limit=10) == 5 * UNIT - UNIT
    assert drained(5 * UNIT, at_ms=1000, now_ms=1000 + 10 * UNIT, limit=10) == 0
    assert drained(50 * UNIT, at_ms=1000, now_ms=1000, limit=10) == 10 * UNIT  # a lowered limit
    assert drained(3 * UNIT, at_ms=2000, now_ms=1000, limit=10) == 3 * UNIT  # a clock behind


def test_headers_name_only_the_limits_the_tenant_has() -> None:
    verdict = Verdict(ADMITTED, rpm_level=3 * UNIT, tpm_level=0)
    assert headers(TenantLimits(rpm=600), verdict) == {
        "x-ratelimit-limit-requests": "600",
        "x-ratelimit-remaining-requests": "597",
        "x-ratelimit-reset-requests": "300ms",
    }
    assert headers(TenantLimits(concurrency=3), verdict) == {}


def test_the_month_is_the_utc_calendar_month() -> None:
    late_in_new_york = datetime(2026, 11, 30, 20, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert month_key(late_in_new_york) == "2026-12"
