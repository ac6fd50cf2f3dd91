"""ORM row for a tenant's own (BYOK) provider key: ciphertext only, never the key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from modelgate.db import Base, UTCDateTime, utcnow


class ProviderKey(Base):
    __tablename__ = "provider_keys"
    __table_args__ = (UniqueConstraint("tenant_id", "provider"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(64))
    # Envelope-encrypted key, bound to (tenant_id, provider, base_url) as associated data.
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    # The keyring id that wraps the data key; lets rotation find old rows without decrypting.
    key_id: Mapped[str] = mapped_column(String(64), index=True)
    base_url: Mapped[str | None] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"ProviderKey(tenant_id={self.tenant_id!r}, provider={self.provider!r}, key=***)"
