"""The usage tables: every event as it happened, and a daily roll-up for the usage API.

``usage_events`` holds one row per call. On PostgreSQL it is partitioned by month
of ``created_at`` (partitions.py creates them ahead and drops the expired ones),
so the primary key has to carry ``created_at`` too; the event id alone is still
unique, because the recorder writes each event with the one ``created_at`` it
was born with, and a retried batch conflicts on the same pair.

``usage_daily`` is what ``GET /v1/tenant/usage`` reads: per tenant, UTC day,
model, provider, source and token, the sums of the events. It is updated in the
same statement (PostgreSQL) or transaction (SQLite) that inserts the events, and
only for the rows that statement really inserted, so a retried batch counts once.
A month of a busy tenant is a few thousand roll-up rows instead of a million
events (see docs: the benchmark). Unknown provider or source are stored as ""
there, because a NULL never conflicts in a unique key.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from modelgate.db import Base, UTCDateTime

EVENT_ID_LENGTH = 32
MODEL_LENGTH = 200


class UsageEventRow(Base):
    __tablename__ = "usage_events"
    __table_args__ = (
        # The events page: one tenant, newest first by id (ids sort by time).
        Index("ix_usage_events_tenant_id_id", "tenant_id", "id"),
        # Retention on SQLite and any ad-hoc month scan of one tenant.
        Index("ix_usage_events_tenant_id_created_at", "tenant_id", "created_at"),
        {"postgresql_partition_by": "RANGE (created_at)"},
    )

    id: Mapped[str] = mapped_column(String(EVENT_ID_LENGTH), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    # No foreign key to tenants: a batch holding one event of a tenant deleted
    # meanwhile would fail forever, and the check would cost a lookup per row.
    tenant_id: Mapped[str] = mapped_column(String(40))
    request_id: Mapped[str] = mapped_column(String(128))
    model: Mapped[str] = mapped_column(String(MODEL_LENGTH))
    base_model: Mapped[str | None] = mapped_column(String(MODEL_LENGTH))
    provider: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(8))
    token_prefix: Mapped[str] = mapped_column(String(16))
    endpoint: Mapped[str] = mapped_column(String(16))
    stream: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[int] = mapped_column(Integer)
    input_tokens: Mapped[int] = mapped_column(BigInteger)
    output_tokens: Mapped[int] = mapped_column(BigInteger)
    cached_input_tokens: Mapped[int] = mapped_column(BigInteger)
    reasoning_tokens: Mapped[int] = mapped_column(BigInteger)
    usage_source: Mapped[str] = mapped_column(String(16))
    cost_nusd: Mapped[int | None] = mapped_column(BigInteger)
    credits_n: Mapped[int] = mapped_column(BigInteger)
    latency_ms: Mapped[int] = mapped_column(Integer)
    ttft_ms: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer)


class UsageDaily(Base):
    __tablename__ = "usage_daily"

    # Key order: the tenant and the day first, so a month of one tenant is one range.
    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    model: Mapped[str] = mapped_column(String(MODEL_LENGTH), primary_key=True)
    provider: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(8), primary_key=True)
    token_prefix: Mapped[str] = mapped_column(String(16), primary_key=True)
    requests: Mapped[int] = mapped_column(BigInteger)
    errors: Mapped[int] = mapped_column(BigInteger)
    input_tokens: Mapped[int] = mapped_column(BigInteger)
    output_tokens: Mapped[int] = mapped_column(BigInteger)
    cached_input_tokens: Mapped[int] = mapped_column(BigInteger)
    reasoning_tokens: Mapped[int] = mapped_column(BigInteger)
    # Sum over the priced calls (a call of a model without a price adds nothing).
    cost_nusd: Mapped[int] = mapped_column(BigInteger)
    credits_n: Mapped[int] = mapped_column(BigInteger)


SUMMED = (
    "requests", "errors", "input_tokens", "output_tokens", "cached_input_tokens",
    "reasoning_tokens", "cost_nusd", "credits_n",
)
ROLLUP_KEY = ("tenant_id", "day", "model", "provider", "source", "token_prefix")
