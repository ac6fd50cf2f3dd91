"""The JSON objects of the configs and groups API, and the lists around them.

A config shows what it stores (null ``context_window``/``max_tokens``: the base
model's apply) plus what it inherits from its base model, read from the catalog
at answer time: ``provider``, ``model_type``, ``capabilities``, ``pricing``,
``lifecycle``. ``pricing`` comes from the caller (catalog/router.py's
``pricing_view`` with the margin), so that this module and the catalog's router
can use each other's work without importing each other.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from modelgate.catalog import Catalog, ModelSpec
from modelgate.catalog.lifecycle import lifecycle_view
from modelgate.tenant_models.models import TenantModelRow

PricingOf = Callable[[ModelSpec], dict[str, Any]]


class ConfigOut(BaseModel):
    id: str = Field(description="mc_…")
    name: str
    base_model: str = Field(description="The catalog id of the base model")
    description: str | None
    context_window: int | None = Field(description="null: the base model's")
    max_tokens: int | None = Field(description="null: the base model's max_output_tokens")
    streaming: bool
    enabled: bool
    system_prompt: str | None
    provider: str | None = Field(description="The base model's provider")
    model_type: str | None = Field(description="The base model's type")
    capabilities: dict[str, Any] | None = Field(
        description="The base model's; streaming is false when the config turns it off"
    )
    pricing: dict[str, Any] | None = Field(description="The base model's pricing object")
    lifecycle: dict[str, Any] | None = Field(description="The base model's lifecycle object")
    created_at: datetime
    updated_at: datetime


class ConfigList(BaseModel):
    data: list[ConfigOut] = Field(description="In name order (case-insensitive)")


class MemberOut(BaseModel):
    model: str
    weight: int


class GroupOut(BaseModel):
    id: str = Field(description="grp_…")
    name: str
    description: str | None
    model_type: str
    strategy: str
    members: list[MemberOut] = Field(description="In the group's order")
    created_at: datetime
    updated_at: datetime


class GroupList(BaseModel):
    data: list[GroupOut] = Field(description="In name order (case-insensitive)")


def inherited(
    base: ModelSpec | None, *, streaming: bool, pricing_of: PricingOf, now: datetime
) -> dict[str, Any]:
    """What a config takes from its base model (all null if the catalog lost it)."""
    if base is None:
        return {
            "provider": None, "model_type": None, "capabilities": None, "pricing": None,
            "lifecycle": None,
        }
    capabilities = base.capabilities.model_dump()
    capabilities["streaming"] = bool(capabilities.get("streaming")) and streaming
    return {
        "provider": base.provider,
        "model_type": base.model_type,
        "capabilities": capabilities,
        "pricing": pricing_of(base),
        "lifecycle": lifecycle_view(base, now),
    }


def config_view(
    row: TenantModelRow, catalog: Catalog, *, pricing_of: PricingOf, now: datetime
) -> ConfigOut:
    streaming = row.streaming is not False
    return ConfigOut(
        id=row.id,
        name=row.name,
        base_model=row.base_model or "",
        description=row.description,
        context_window=row.context_window,
        max_tokens=row.max_tokens,
        streaming=streaming,
        enabled=row.enabled is not False,
        system_prompt=row.system_prompt,
        created_at=row.created_at,
        updated_at=row.updated_at,
        **inherited(
            catalog.get(row.base_model or ""), streaming=streaming, pricing_of=pricing_of, now=now
        ),
    )


def group_view(row: TenantModelRow) -> GroupOut:
    return GroupOut(
        id=row.id,
        name=row.name,
        description=row.description,
        model_type=row.model_type or "chat_completion",
        strategy=row.strategy or "fallback",
        members=[
            MemberOut(model=m["model"], weight=int(m.get("weight", 1))) for m in row.members or ()
        ],
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
