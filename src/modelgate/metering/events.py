"""The record of one metered call, as it waits in the recorder's buffer.

Money is integers: ``cost_nusd`` is nano-USD (1e-9 USD) and ``credits_n`` nano-
credits, so that sums are exact on both databases (SQLite has no decimal type)
and a single cheap call (10 tokens at $0.075 per 1M) still costs a whole number
of units. ``to_decimal`` turns them back into the contract's decimal figures.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

NANO = Decimal(1_000_000_000)

UsageSource = Literal["provider", "estimated", "none"]
Endpoint = Literal["chat", "embeddings"]


def to_decimal(nano: int | None) -> Decimal | None:
    """Nano-units as an exact Decimal (None stays None)."""
    return None if nano is None else Decimal(nano) / NANO


def new_event_id() -> str:
    """``ue_`` + 12 hex digits of milliseconds + 12 random: unique, opaque, and in
    creation order when sorted (the events API pages by it)."""
    return f"ue_{int(time.time() * 1000):012x}{os.urandom(6).hex()}"


@dataclass(slots=True)
class TokenCounts:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0  # part of input_tokens, billed at the cached rate
    reasoning_tokens: int = 0  # part of output_tokens


@dataclass(slots=True)
class UsageEvent:
    id: str
    tenant_id: str
    request_id: str
    created_at: datetime  # UTC, when the call ended
    model: str  # as resolved (the config or group name when one was called)
    # None when the call failed before a model, provider or key was settled
    # (an unknown model, a missing key, a body that did not validate).
    base_model: str | None  # the catalog model that served
    provider: str | None
    source: str | None  # "byok" | "hosted"
    token_prefix: str
    endpoint: Endpoint
    stream: bool
    status: int  # what the client got; 499 when it left
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    reasoning_tokens: int
    usage_source: UsageSource
    cost_nusd: int | None  # None when the model has no list price
    credits_n: int  # 0 on BYOK calls
    latency_ms: int
    ttft_ms: int | None  # streams only
    attempts: int = 1
