"""API versions, Stripe-style: a request names one, or gets its tenant's pinned one."""

from __future__ import annotations

import re

from modelgate.errors import ApiVersionInvalid

HEADER = "IC-Api-Version"
SUPPORTED: tuple[str, ...] = ("2026-05-01",)
LATEST = max(SUPPORTED)
_SHAPE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def validate(value: str) -> str:
    """The version a request asked for, or ApiVersionInvalid (400) naming what is supported."""
    if not _SHAPE.match(value) or value not in SUPPORTED:
        shown = value if len(value) <= 40 else value[:40] + "…"
        raise ApiVersionInvalid(
            f"Unsupported {HEADER} {shown!r}; supported versions: {', '.join(SUPPORTED)}.",
            param=HEADER,
        )
    return value
