"""ORM row for one audit entry.

``id`` is an internal, global primary key and never leaves the database: it
would tell one tenant how much every other tenant does. The API shows ``seq``
instead, a sequence of the tenant's own (1, 2, 3, … per tenant), which is also
the listing's cursor.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from modelgate.db import Base, UTCDateTime, utcnow

# scheme://host:port, the host at most 253 characters (RFC 1035) plus brackets.
ORIGIN_LENGTH = 300


class AuditEntry(Base):
    __tablename__ = "audit_log"
    # Unique per tenant; the index behind it serves the newest-first listing.
    __table_args__ = (UniqueConstraint("tenant_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(64))
    provider: Mapped[str | None] = mapped_column(String(64))
    # The token that made the change; None when an operator did it with the CLI.
    token_prefix: Mapped[str | None] = mapped_column(String(16))
    request_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # model_key.*: where the provider's calls go (scheme://host:port only: a path
    # or query can hold a secret) and whether that changed; None = provider default.
    base_url_origin: Mapped[str | None] = mapped_column(String(ORIGIN_LENGTH))
    base_url_changed: Mapped[bool | None] = mapped_column(Boolean)
    # token.*: the prefix of the token created or revoked (never the token).
    target_token_prefix: Mapped[str | None] = mapped_column(String(16))
