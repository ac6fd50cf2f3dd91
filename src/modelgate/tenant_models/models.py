"""ORM row for a tenant's own model names: configurations (seed 003) and groups (seed 004).

Configs and groups share ONE table because they share one namespace: a name is
unique per tenant, case-insensitive, across both kinds (CONTRACT-2). The unique
constraint on ``(tenant_id, name_key)`` makes that atomic, even for two admins
creating "Support" as a config and as a group at the same instant; checking in
Python first would leave a race between the check and the insert.

``name_key`` is ``catalog.resolver.fold(name)``, the same fold that the call path
uses to find the name (``entries.TenantModels.find``), so "what clashes" and "what
a call finds" can never disagree. Columns of the other kind stay NULL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from modelgate.db import Base, UTCDateTime, utcnow

ID_LENGTH = 40
NAME_LENGTH = 200
# A fold may be longer than the name ("ß" -> "ss"); the schema refuses a name
# whose key would not fit.
NAME_KEY_LENGTH = 800
DESCRIPTION_LENGTH = 2000
MODEL_LENGTH = 256


class TenantModelRow(Base):
    __tablename__ = "tenant_models"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name_key"),
        CheckConstraint("kind IN ('config', 'group')", name="kind"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)  # "mc_…" / "grp_…"
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    name_key: Mapped[str] = mapped_column(String(NAME_KEY_LENGTH))
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION_LENGTH))
    # config
    base_model: Mapped[str | None] = mapped_column(String(MODEL_LENGTH))  # the catalog id
    context_window: Mapped[int | None] = mapped_column(Integer)
    max_tokens: Mapped[int | None] = mapped_column(Integer)
    streaming: Mapped[bool | None] = mapped_column(Boolean)
    enabled: Mapped[bool | None] = mapped_column(Boolean)
    system_prompt: Mapped[str | None] = mapped_column(Text)
    # group
    model_type: Mapped[str | None] = mapped_column(String(32))
    strategy: Mapped[str | None] = mapped_column(String(16))
    # [{"model": str, "weight": int}, …] in the group's order
    members: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
