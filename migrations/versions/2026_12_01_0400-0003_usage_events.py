"""Usage metering: usage_events (partitioned by month on PostgreSQL) and usage_daily.

The partitions themselves are created by the recorder as months come
(modelgate/metering/partitions.py), so this revision only makes the parent.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "usage_events",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("base_model", sa.String(200), nullable=True),
        sa.Column("provider", sa.String(64), nullable=True),
        sa.Column("source", sa.String(8), nullable=True),
        sa.Column("token_prefix", sa.String(16), nullable=False),
        sa.Column("endpoint", sa.String(16), nullable=False),
        sa.Column("stream", sa.Boolean(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cached_input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("reasoning_tokens", sa.BigInteger(), nullable=False),
        sa.Column("usage_source", sa.String(16), nullable=False),
        sa.Column("cost_nusd", sa.BigInteger(), nullable=True),
        sa.Column("credits_n", sa.BigInteger(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("ttft_ms", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", "created_at", name="pk_usage_events"),
        postgresql_partition_by="RANGE (created_at)",
    )
    op.create_index("ix_usage_events_tenant_id_id", "usage_events", ["tenant_id", "id"])
    op.create_index(
        "ix_usage_events_tenant_id_created_at", "usage_events", ["tenant_id", "created_at"]
    )
    op.create_table(
        "usage_daily",
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("token_prefix", sa.String(16), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.BigInteger(), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cached_input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("reasoning_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_nusd", sa.BigInteger(), nullable=False),
        sa.Column("credits_n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "day", "model", "provider", "source", "token_prefix",
            name="pk_usage_daily",
        ),
    )


def downgrade() -> None:
    op.drop_table("usage_daily")
    op.drop_index("ix_usage_events_tenant_id_created_at", table_name="usage_events")
    op.drop_index("ix_usage_events_tenant_id_id", table_name="usage_events")
    op.drop_table("usage_events")  # and every partition with it
