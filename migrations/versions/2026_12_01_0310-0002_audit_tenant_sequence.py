"""Audit log: a per-tenant sequence for ids, base_url origins and token events.

The API used to show the global primary key as an entry's id, which told every
tenant how many changes all tenants together had made. Entries now carry
``seq``, numbered per tenant (existing rows in their old order), and the
listing pages on it. New columns: ``base_url_origin`` and ``base_url_changed``
(model_key.*) and ``target_token_prefix`` (token.create / token.revoke).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("base_url_origin", sa.String(300), nullable=True))
        batch.add_column(sa.Column("base_url_changed", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("target_token_prefix", sa.String(16), nullable=True))
    # Number each tenant's existing entries 1, 2, 3, … in the order they were written.
    op.execute(
        "UPDATE audit_log SET seq = (SELECT count(*) FROM audit_log AS earlier"
        " WHERE earlier.tenant_id = audit_log.tenant_id AND earlier.id <= audit_log.id)"
    )
    op.drop_index("ix_audit_log_tenant_id_id", table_name="audit_log")
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch.create_unique_constraint("uq_audit_log_tenant_id_seq", ["tenant_id", "seq"])


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_constraint("uq_audit_log_tenant_id_seq", type_="unique")
        batch.drop_column("target_token_prefix")
        batch.drop_column("base_url_changed")
        batch.drop_column("base_url_origin")
        batch.drop_column("seq")
    op.create_index("ix_audit_log_tenant_id_id", "audit_log", ["tenant_id", "id"])
