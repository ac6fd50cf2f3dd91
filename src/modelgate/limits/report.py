"""A tenant's limits and month as the operator's CLI prints them: one ``name  value``
line per figure, credits as exact decimals, "unlimited" where nothing is set."""

from __future__ import annotations

from datetime import date, datetime

from modelgate.limits.types import TenantLimits
from modelgate.metering.events import to_decimal

WIDTH = 17  # the longest label, "monthly_credits", and two spaces


def credits_text(nano: int) -> str:
    return format(to_decimal(nano).normalize(), "f")


def _line(label: str, value: object) -> str:
    return f"{label:<{WIDTH}}{value}"


def limit_lines(limits: TenantLimits) -> list[str]:
    def shown(value: int | None) -> str:
        return "unlimited" if value is None else str(value)

    credits = limits.monthly_credits_n
    return [
        _line("rpm", shown(limits.rpm)),
        _line("tpm", shown(limits.tpm)),
        _line("concurrency", shown(limits.concurrency)),
        _line("monthly_credits", "unlimited" if credits is None else credits_text(credits)),
    ]


def tenant_lines(
    *, tenant_id: str, name: str, created_at: datetime, limits: TenantLimits,
    credits_used_n: int, period_start: date,
) -> list[str]:
    return [
        _line("id", tenant_id),
        _line("name", name),
        _line("created", created_at.isoformat(timespec="seconds")),
        *limit_lines(limits),
        _line("credits_used", f"{credits_text(credits_used_n)} (since {period_start.isoformat()})"),
    ]
