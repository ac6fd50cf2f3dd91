"""Which members may serve a requested ``model``: the tenant's names first.

A tenant without configs or groups pays one dict look-up in its cached snapshot
(``gateway.tenant_models``; ``TenantModels.find`` on an empty index returns at
once), then the catalog resolves the name as before. A config is one member; a
group is its members, in the order its strategy gives (``order.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

from modelgate.catalog.resolver import shown
from modelgate.errors import ModelTypeMismatch
from modelgate.routing.order import member_order
from modelgate.tenant_models.entries import ConfigEntry, GroupEntry, TenantModels

ModelType = str  # "chat_completion" | "embedding"


@dataclass(frozen=True, slots=True)
class Member:
    """One model a call may go to: a catalog name (id, alias, provider:model, a
    prefix-routed id) or one of the tenant's configs."""

    requested: str
    config: ConfigEntry | None = None
    weight: int = 1

    @property
    def name(self) -> str:
        """What the answer's ``model`` and ``IC-Model`` say for this member when it
        is a config (a catalog member is named by the id it resolved to)."""
        return self.config.name if self.config is not None else self.requested


@dataclass(frozen=True, slots=True)
class Plan:
    members: tuple[Member, ...]
    # The tenant's name that was called (a config's or group's), for usage and headers.
    tenant_name: str | None = None
    group: GroupEntry | None = None

    @property
    def is_group(self) -> bool:
        return self.group is not None


def plan_for(
    requested: str, snapshot: TenantModels, *, model_type: ModelType, rng: Random | None = None
) -> Plan:
    """The plan for ``requested``; a group of another type than the endpoint's is
    refused here (422 ``model_type_mismatch``), before any member is looked at."""
    entry = snapshot.find(requested)
    if entry is None:
        return Plan((Member(requested),))
    if isinstance(entry, ConfigEntry):
        return Plan((Member(entry.name, entry),), tenant_name=entry.name)
    if entry.model_type != model_type:
        raise ModelTypeMismatch(
            f"The model group '{shown(entry.name)}' is a {entry.model_type} group; this "
            f"endpoint serves {model_type} models.",
            param="model",
        )
    members = tuple(
        # A member may name a config (by name or id); a group never (refused on write).
        Member(m.model, snapshot.config_named(m.model), m.weight)
        for m in entry.members
    )
    ordered = member_order(members, entry.strategy, rng=rng)
    return Plan(ordered, tenant_name=entry.name, group=entry)
