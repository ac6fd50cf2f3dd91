"""ORM row for a tenant's platform limits, set by the operator's CLI.

One row per tenant that has any limit; no row means unlimited in every figure.
A NULL figure is unlimited too (the CLI's 0 is stored as NULL, so "unlimited"
has one representation and a reader never has to ask whether 0 means "none
allowed"). Credits are integer nano-credits, like every amount of money here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from modelgate.db import Base, UTCDateTime, utcnow


class TenantLimitsRow(Base):
    __tablename__ = "tenant_limits"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    rpm: Mapped[int | None] = mapped_column(Integer)
    tpm: Mapped[int | None] = mapped_column(Integer)
    concurrency: Mapped[int | None] = mapped_column(Integer)
    monthly_credits_n: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
