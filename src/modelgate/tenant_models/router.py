"""/v1/tenant/model_configs and /v1/tenant/model_groups: a tenant's own model names.

Reads need ``runs:read``, writes ``admin``. Another tenant's id answers 404, as an
id that never existed does. Every write is audited in its own transaction, then
committed, then announced (``configs`` / ``groups``), so that every process drops
its cached snapshot of the tenant at once and the next call sees the change.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from modelgate.audit import service as audit
from modelgate.catalog.resolver import fold, shown
from modelgate.catalog.router import pricing_view
from modelgate.db import utcnow
from modelgate.deps import AdminPrincipal, GatewayDep, ReadPrincipal, SessionDep
from modelgate.errors import NotFound, ValidationFailed
from modelgate.state import Gateway
from modelgate.tenant_models import rules, service
from modelgate.tenant_models.models import TenantModelRow
from modelgate.tenant_models.schemas import (
    MEMBERS_MAX,
    ConfigCreate,
    ConfigPatch,
    GroupCreate,
    GroupPatch,
    MemberAdd,
    MemberIn,
)
from modelgate.tenant_models.views import (
    ConfigList,
    ConfigOut,
    GroupList,
    GroupOut,
    PricingOf,
    config_view,
    group_view,
)
from modelgate.tenants.auth import Principal

router = APIRouter(tags=["tenant models"])

ConfigId = Annotated[str, Path(max_length=64, description="The config's id (mc_…)")]
GroupId = Annotated[str, Path(max_length=64, description="The group's id (grp_…)")]
MemberPath = Annotated[
    str, Path(max_length=256, description="A catalog id, alias, provider:model or config name")
]
CONFLICTS: dict[int | str, dict[str, Any]] = {
    409: {"description": "The name is taken (model_name_taken), or the change conflicts with "
          "a group (model_in_use, member_exists)."}
}


class Deleted(BaseModel):
    id: str
    object: Literal["model_config", "model_group"]
    deleted: bool


def _pricing_of(gateway: Gateway) -> PricingOf:
    margin = gateway.settings.credit_margin
    return lambda model: pricing_view(model, margin)


def _config_out(gateway: Gateway, row: TenantModelRow) -> ConfigOut:
    return config_view(row, gateway.catalog, pricing_of=_pricing_of(gateway), now=utcnow())


async def _finish(
    session: AsyncSession,
    gateway: Gateway,
    principal: Principal,
    *,
    action: str,
    kind: Literal["configs", "groups"],
    provider: str | None = None,
) -> None:
    """Audit, commit, then tell every process (after the commit, so that no
    request can refill a cache with the old rows)."""
    await audit.record(session, principal=principal, action=action, provider=provider)
    await session.commit()
    await gateway.invalidations.announce(kind, principal.tenant_id)


def _provider_of(gateway: Gateway, row: TenantModelRow) -> str | None:
    base = gateway.catalog.get(row.base_model or "")
    return base.provider if base is not None else None


# ---- model configurations (seed 003) ------------------------------------------------


@router.post(
    "/v1/tenant/model_configs", status_code=201, response_model=ConfigOut, responses=CONFLICTS
)
async def create_model_config(
    body: ConfigCreate, principal: AdminPrincipal, session: SessionDep, gateway: GatewayDep
) -> ConfigOut:
    base = rules.resolve_base(gateway.catalog, body.base_model, utcnow())
    rules.check_figures(base, body.context_window, body.max_tokens)
    await rules.check_name(
        session, gateway.catalog, tenant_id=principal.tenant_id, name=body.name
    )
    fields = body.model_dump(exclude={"name"})
    fields["base_model"] = base.id  # stored as the catalog id it resolved to
    row = await service.create_row(
        session, tenant_id=principal.tenant_id, kind="config", name=body.name, fields=fields
    )
    await _finish(
        session, gateway, principal, action="model_config.create", kind="configs",
        provider=base.provider,
    )
    return _config_out(gateway, row)


@router.get("/v1/tenant/model_configs", response_model=ConfigList)
async def list_model_configs(
    principal: ReadPrincipal, session: SessionDep, gateway: GatewayDep
) -> ConfigList:
    rows = await service.list_rows(session, tenant_id=principal.tenant_id, kind="config")
    return ConfigList(data=[_config_out(gateway, row) for row in rows])


@router.get("/v1/tenant/model_configs/{config_id}", response_model=ConfigOut)
async def get_model_config(
    config_id: ConfigId, principal: ReadPrincipal, session: SessionDep, gateway: GatewayDep
) -> ConfigOut:
    row = await service.get_row(
        session, tenant_id=principal.tenant_id, kind="config", row_id=config_id
    )
    return _config_out(gateway, row)


@router.patch(
    "/v1/tenant/model_configs/{config_id}", response_model=ConfigOut, responses=CONFLICTS
)
async def update_model_config(
    config_id: ConfigId,
    body: ConfigPatch,
    principal: AdminPrincipal,
    session: SessionDep,
    gateway: GatewayDep,
) -> ConfigOut:
    tenant_id, catalog = principal.tenant_id, gateway.catalog
    row = await service.get_row(
        session, tenant_id=tenant_id, kind="config", row_id=config_id, for_update=True
    )
    changes = body.model_dump(exclude_unset=True)
    base = catalog.get(row.base_model or "")
    if "base_model" in changes:
        base = rules.resolve_base(catalog, changes["base_model"], utcnow())
        changes["base_model"] = base.id
    changes = {field: value for field, value in changes.items() if getattr(row, field) != value}
    if not changes:
        return _config_out(gateway, row)
    if base is not None and changes.keys() & {"base_model", "context_window", "max_tokens"}:
        rules.check_figures(
            base,
            changes.get("context_window", row.context_window),
            changes.get("max_tokens", row.max_tokens),
        )
    if "name" in changes:
        await rules.check_name(
            session, catalog, tenant_id=tenant_id, name=changes["name"], exclude_id=row.id
        )
        if fold(changes["name"]) != row.name_key:
            await rules.check_config_unused(
                session, tenant_id=tenant_id, config=row, renaming=True
            )
    if "base_model" in changes and base is not None:
        if base.model_type != rules.config_type(catalog, row):
            await rules.check_config_unused(
                session, tenant_id=tenant_id, config=row, new_type=base.model_type
            )
    changes["updated_at"] = utcnow()
    await service.update_row(session, row, changes)
    await _finish(
        session, gateway, principal, action="model_config.update", kind="configs",
        provider=_provider_of(gateway, row),
    )
    return _config_out(gateway, row)


@router.delete(
    "/v1/tenant/model_configs/{config_id}", response_model=Deleted, responses=CONFLICTS
)
async def delete_model_config(
    config_id: ConfigId, principal: AdminPrincipal, session: SessionDep, gateway: GatewayDep
) -> Deleted:
    row = await service.get_row(
        session, tenant_id=principal.tenant_id, kind="config", row_id=config_id, for_update=True
    )
    await rules.check_config_unused(
        session, tenant_id=principal.tenant_id, config=row, deleting=True
    )
    provider = _provider_of(gateway, row)
    await service.delete_row(session, row)
    await _finish(
        session, gateway, principal, action="model_config.delete", kind="configs",
        provider=provider,
    )
    return Deleted(id=row.id, object="model_config", deleted=True)


# ---- model groups (seed 004) ----------------------------------------------------------


@router.post(
    "/v1/tenant/model_groups", status_code=201, response_model=GroupOut, responses=CONFLICTS
)
async def create_model_group(
    body: GroupCreate, principal: AdminPrincipal, session: SessionDep, gateway: GatewayDep
) -> GroupOut:
    await rules.check_name(
        session, gateway.catalog, tenant_id=principal.tenant_id, name=body.name
    )
    await rules.check_members(
        session, gateway.catalog, tenant_id=principal.tenant_id, members=body.members,
        model_type=body.model_type, now=utcnow(),
    )
    fields = body.model_dump(exclude={"name"})
    row = await service.create_row(
        session, tenant_id=principal.tenant_id, kind="group", name=body.name, fields=fields
    )
    await _finish(session, gateway, principal, action="model_group.create", kind="groups")
    return group_view(row)


@router.get("/v1/tenant/model_groups", response_model=GroupList)
async def list_model_groups(principal: ReadPrincipal, session: SessionDep) -> GroupList:
    rows = await service.list_rows(session, tenant_id=principal.tenant_id, kind="group")
    return GroupList(data=[group_view(row) for row in rows])


@router.get("/v1/tenant/model_groups/{group_id}", response_model=GroupOut)
async def get_model_group(
    group_id: GroupId, principal: ReadPrincipal, session: SessionDep
) -> GroupOut:
    row = await service.get_row(
        session, tenant_id=principal.tenant_id, kind="group", row_id=group_id
    )
    return group_view(row)


@router.patch("/v1/tenant/model_groups/{group_id}", response_model=GroupOut, responses=CONFLICTS)
async def update_model_group(
    group_id: GroupId,
    body: GroupPatch,
    principal: AdminPrincipal,
    session: SessionDep,
    gateway: GatewayDep,
) -> GroupOut:
    tenant_id = principal.tenant_id
    row = await service.get_row(
        session, tenant_id=tenant_id, kind="group", row_id=group_id, for_update=True
    )
    changes = body.model_dump(exclude_unset=True)
    changes = {field: value for field, value in changes.items() if getattr(row, field) != value}
    if not changes:
        return group_view(row)
    if "name" in changes:
        await rules.check_name(
            session, gateway.catalog, tenant_id=tenant_id, name=changes["name"],
            exclude_id=row.id,
        )
    if changes.keys() & {"members", "model_type"}:
        members = body.members if "members" in changes else _members_in(row)
        await rules.check_members(
            session, gateway.catalog, tenant_id=tenant_id, members=members,
            model_type=changes.get("model_type", row.model_type), now=utcnow(),
        )
    changes["updated_at"] = utcnow()
    await service.update_row(session, row, changes)
    await _finish(session, gateway, principal, action="model_group.update", kind="groups")
    return group_view(row)


@router.delete("/v1/tenant/model_groups/{group_id}", response_model=Deleted)
async def delete_model_group(
    group_id: GroupId, principal: AdminPrincipal, session: SessionDep, gateway: GatewayDep
) -> Deleted:
    row = await service.get_row(
        session, tenant_id=principal.tenant_id, kind="group", row_id=group_id, for_update=True
    )
    await service.delete_row(session, row)
    await _finish(session, gateway, principal, action="model_group.delete", kind="groups")
    return Deleted(id=row.id, object="model_group", deleted=True)


@router.post(
    "/v1/tenant/model_groups/{group_id}/models/{model:path}",
    response_model=GroupOut,
    responses=CONFLICTS,
)
async def add_group_member(
    group_id: GroupId,
    model: MemberPath,
    principal: AdminPrincipal,
    session: SessionDep,
    gateway: GatewayDep,
    body: MemberAdd | None = None,
) -> GroupOut:
    """Seed 004's "add a model to a group": appended last, weight 1 unless the body
    gives one. Already a member (same spelling, case-insensitive): 409 member_exists."""
    row = await service.get_row(
        session, tenant_id=principal.tenant_id, kind="group", row_id=group_id, for_update=True
    )
    member = _member(model, body.weight if body is not None else 1)
    current = list(row.members or ())
    if any(fold(m["model"]) == fold(member.model) for m in current):
        raise rules.MemberExists(
            f"'{shown(model)}' is already a member of this group.", param="model"
        )
    if len(current) >= MEMBERS_MAX:
        raise ValidationFailed(
            f"A group has at most {MEMBERS_MAX} members; remove one first.", param="model"
        )
    await rules.check_members(
        session, gateway.catalog, tenant_id=principal.tenant_id, members=[member],
        model_type=row.model_type or "chat_completion", now=utcnow(), param="model",
    )
    await service.update_row(
        session, row,
        {"members": [*current, member.model_dump()], "updated_at": utcnow()},
    )
    await _finish(session, gateway, principal, action="model_group.member_add", kind="groups")
    return group_view(row)


@router.delete(
    "/v1/tenant/model_groups/{group_id}/models/{model:path}", response_model=GroupOut
)
async def remove_group_member(
    group_id: GroupId,
    model: MemberPath,
    principal: AdminPrincipal,
    session: SessionDep,
    gateway: GatewayDep,
) -> GroupOut:
    """Remove the member written as ``model`` (case-insensitive). Not a member: 404;
    the last member: 422 (a group keeps at least one; delete the group instead)."""
    row = await service.get_row(
        session, tenant_id=principal.tenant_id, kind="group", row_id=group_id, for_update=True
    )
    current = list(row.members or ())
    kept = [m for m in current if fold(m["model"]) != fold(model)]
    if len(kept) == len(current):
        raise NotFound(f"'{shown(model)}' is not a member of this group.", param="model")
    if not kept:
        raise ValidationFailed(
            "A group keeps at least one member; delete the group instead.", param="model"
        )
    await service.update_row(session, row, {"members": kept, "updated_at": utcnow()})
    await _finish(session, gateway, principal, action="model_group.member_remove", kind="groups")
    return group_view(row)


def _member(model: str, weight: int) -> MemberIn:
    try:
        return MemberIn(model=model, weight=weight)
    except ValidationError as exc:
        reason = exc.errors()[0].get("msg", "is invalid")
        raise ValidationFailed(f"model: {reason}", param="model") from None


def _members_in(row: TenantModelRow) -> list[MemberIn]:
    return [MemberIn.model_construct(model=m["model"], weight=m.get("weight", 1))
            for m in row.members or ()]
