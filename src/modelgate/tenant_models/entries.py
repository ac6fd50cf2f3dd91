"""What the call path knows about a tenant's configs and groups: immutable
snapshots, one per tenant, cached (``cache.py``) and dropped on every change.

The call path asks ``TenantModels.find(requested)`` before it asks the catalog:
a tenant's names win over the catalog's (CONTRACT-2, "Tenant model
configurations"). ``find`` matches a name case-insensitively (``fold``) or an
id exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from modelgate.catalog.resolver import fold

Strategy = Literal["fallback", "loadbalance"]
GroupModelType = Literal["chat_completion", "embedding"]


@dataclass(frozen=True, slots=True)
class ConfigEntry:
    """A named model on top of a catalog model (seed 003)."""

    id: str  # "mc_…"
    name: str
    base_model: str  # the catalog id it was created with (resolved at create time)
    description: str | None = None
    context_window: int | None = None
    max_tokens: int | None = None
    streaming: bool = True
    enabled: bool = True
    system_prompt: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    kind: Literal["config"] = "config"


@dataclass(frozen=True, slots=True)
class GroupMember:
    model: str  # catalog id, alias, provider:model or a config name, as written
    weight: int = 1


@dataclass(frozen=True, slots=True)
class GroupEntry:
    """One name that routes to several models (seed 004)."""

    id: str  # "grp_…"
    name: str
    strategy: Strategy
    members: tuple[GroupMember, ...]
    model_type: GroupModelType = "chat_completion"
    description: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    kind: Literal["group"] = "group"


TenantModel = ConfigEntry | GroupEntry


@dataclass(frozen=True, slots=True)
class TenantModels:
    """Every config and group of one tenant, indexed for the hot path."""

    configs: tuple[ConfigEntry, ...] = ()
    groups: tuple[GroupEntry, ...] = ()
    _index: dict[str, TenantModel] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = self._index
        for entry in (*self.configs, *self.groups):
            index[fold(entry.name)] = entry
            index[entry.id] = entry  # ids ("mc_…", "grp_…") never fold-collide with names we allow

    def find(self, requested: str) -> TenantModel | None:
        """The config or group that ``requested`` names (name folded, or id), else None."""
        if not self._index:
            return None
        return self._index.get(requested) or self._index.get(fold(requested))

    def config_named(self, requested: str) -> ConfigEntry | None:
        entry = self.find(requested)
        return entry if isinstance(entry, ConfigEntry) else None


EMPTY = TenantModels()
