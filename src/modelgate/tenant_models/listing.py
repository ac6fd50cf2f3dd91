"""The tenant's configs and groups as entries of the two model listings.

``GET /v1/tenant/models`` shows every config (``"kind": "config"``) and group
(``"kind": "group"``) beside the catalog's ``"kind": "system"`` models;
``GET /v1/models`` only what the tenant can call now: an enabled config whose
base model is callable on a key that resolves, and a group with at least one
such member. Read from the tenant's cached snapshot (``gateway.tenant_models``),
so a listing costs no query once the snapshot is warm.

An entry's ``id`` is what a call's ``model`` takes: the config's or group's
name, as catalog entries give the catalog id; ``config_id``/``group_id`` is the
id of the object in the configs and groups API.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from modelgate.catalog import Catalog, ModelSpec
from modelgate.catalog.lifecycle import lifecycle_state
from modelgate.errors import ModelNotFound
from modelgate.keys.resolver import KeySource
from modelgate.tenant_models.entries import ConfigEntry, GroupEntry, TenantModels
from modelgate.tenant_models.views import PricingOf, inherited

Sources = Mapping[str, KeySource | None]
CALLABLE_STATES = ("active", "deprecated")

def _epoch(moment: datetime | None) -> int:
    return int(moment.timestamp()) if moment is not None else 0

class TenantListing:
    """One listing's view of a tenant's snapshot: which names are callable now."""

    def __init__(
        self, snapshot: TenantModels, catalog: Catalog, sources: Sources, now: datetime
    ) -> None:
        self.snapshot, self.catalog, self.sources, self.now = snapshot, catalog, sources, now

    def base_of(self, config: ConfigEntry) -> ModelSpec | None:
        return self.catalog.get(config.base_model)

    def config_source(self, config: ConfigEntry) -> KeySource | None:
        base = self.base_of(config)
        return self.sources.get(base.provider) if base is not None else None

    def config_callable(self, config: ConfigEntry) -> bool:
        base = self.base_of(config)
        return (
            config.enabled
            and base is not None
            and lifecycle_state(base, self.now) in CALLABLE_STATES
            and self.sources.get(base.provider) is not None
        )

    def member_target(self, model: str) -> ConfigEntry | ModelSpec | None:
        """What a member names: a config of the tenant (names win), else the catalog's."""
        entry = self.snapshot.find(model)
        if isinstance(entry, ConfigEntry):
            return entry
        if isinstance(entry, GroupEntry):
            return None  # refused when stored; a group never nests
        try:
            return self.catalog.resolve(model).model
        except ModelNotFound:
            return None

    def member_callable(self, model: str) -> bool:
        target = self.member_target(model)
        if isinstance(target, ConfigEntry):
            return self.config_callable(target)
        return (
            target is not None
            and lifecycle_state(target, self.now) in CALLABLE_STATES
            and self.sources.get(target.provider) is not None
        )

    def member_providers(self, group: GroupEntry) -> set[str]:
        providers = set()
        for member in group.members:
            target = self.member_target(member.model)
            base = self.base_of(target) if isinstance(target, ConfigEntry) else target
            if base is not None:
                providers.add(base.provider)
        return providers

    def group_callable(self, group: GroupEntry) -> bool:
        return any(self.member_callable(member.model) for member in group.members)

    # ---- the two listings ----

    def tenant_entries(
        self, pricing_of: PricingOf, only_provider: str | None = None
    ) -> list[dict[str, Any]]:
        entries = []
        for config in self.snapshot.configs:
            base = self.base_of(config)
            if only_provider and (base is None or base.provider != only_provider):
                continue
            entries.append(self.config_entry(config, base, pricing_of))
        for group in self.snapshot.groups:
            if only_provider and only_provider not in self.member_providers(group):
                continue
            entries.append(self.group_entry(group))
        return entries

    def entry(self, own: ConfigEntry | GroupEntry, pricing_of: PricingOf) -> dict[str, Any]:
        """The listing entry of one config or group."""
        if isinstance(own, ConfigEntry):
            return self.config_entry(own, self.base_of(own), pricing_of)
        return self.group_entry(own)

    def config_entry(
        self, config: ConfigEntry, base: ModelSpec | None, pricing_of: PricingOf
    ) -> dict[str, Any]:
        source = self.config_source(config)
        return {
            "id": config.name,
            "kind": "config",
            "config_id": config.id,
            "label": config.name,
            "description": config.description,
            "base_model": config.base_model,
            "enabled": config.enabled,
            "streaming": config.streaming,
            "available": source is not None,
            "source": source,
            "model_vendor": base.model_vendor if base is not None else None,
            # The figures that apply: the config's own, else the base model's.
            "context_window": config.context_window
            or (base.context_window if base is not None else None),
            "max_output_tokens": config.max_tokens
            or (base.max_output_tokens if base is not None else None),
            **inherited(base, streaming=config.streaming, pricing_of=pricing_of, now=self.now),
        }

    def group_entry(self, group: GroupEntry) -> dict[str, Any]:
        members = [
            {"model": m.model, "weight": m.weight, "available": self.member_callable(m.model)}
            for m in group.members
        ]
        return {
            "id": group.name,
            "kind": "group",
            "group_id": group.id,
            "label": group.name,
            "description": group.description,
            "model_type": group.model_type,
            "strategy": group.strategy,
            "members": members,
            "available": any(m["available"] for m in members),
        }

    def openai_entries(self) -> list[dict[str, Any]]:
        """``/v1/models`` entries: only names a call can use now."""
        entries = [
            {"id": c.name, "object": "model", "created": _epoch(c.created_at), "owned_by": "tenant"}
            for c in self.snapshot.configs
            if self.config_callable(c)
        ]
        entries += [
            {"id": g.name, "object": "model", "created": _epoch(g.created_at), "owned_by": "tenant"}
            for g in self.snapshot.groups
            if self.group_callable(g)
        ]
        return entries
