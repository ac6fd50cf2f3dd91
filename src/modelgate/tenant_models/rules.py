"""What a config or group must satisfy beyond its shape: checks against the
catalog and against the tenant's other names (CONTRACT-2, seeds 003 and 004).

Every failure names the field it is about (``param``), down to the member:
``members[2].model``. The codes: an unknown (or disabled) model is 422
``model_not_found``, a retired one 422 ``model_retired`` (both 422, not the
404/410 of a call: here the body is at fault, not the URL), a member of the
wrong type 422 ``model_type_mismatch``, a name in use 409 ``model_name_taken``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from modelgate.catalog import Catalog, ModelSpec
from modelgate.catalog.lifecycle import lifecycle_state
from modelgate.catalog.resolver import fold, shown
from modelgate.errors import (
    Conflict,
    ModelNameTaken,
    ModelNotFound,
    ModelTypeMismatch,
    ValidationFailed,
)
from modelgate.tenant_models import service
from modelgate.tenant_models.models import TenantModelRow
from modelgate.tenant_models.schemas import MemberIn


class UnknownModel(ValidationFailed):
    """A model named in a body that does not resolve (422: the body is at fault)."""

    code = "model_not_found"


class RetiredModel(ValidationFailed):
    code = "model_retired"


class MemberExists(Conflict):
    code = "member_exists"


class ModelInUse(Conflict):
    """A config that a group lists cannot be deleted or renamed, or change type."""

    code = "model_in_use"


def _callable_spec(model: ModelSpec, requested: str, param: str, now: datetime) -> ModelSpec:
    state = lifecycle_state(model, now)
    if state == "disabled":  # as on the call path: indistinguishable from unknown
        raise UnknownModel(f"The model '{shown(requested)}' does not exist.", param=param)
    if state == "end_of_life":
        raise RetiredModel(f"The model '{model.id}' has been retired.", param=param)
    return model


def resolve_base(catalog: Catalog, requested: str, now: datetime) -> ModelSpec:
    """The catalog model a config is built on: a catalog id or alias (or
    ``provider:model`` naming a listed one), active or deprecated."""
    try:
        resolution = catalog.resolve(requested)
    except ModelNotFound as exc:
        raise UnknownModel(exc.message, param="base_model") from None
    if not resolution.in_catalog:
        # Passed-through ids have no known figures, pricing or capabilities to inherit.
        raise UnknownModel(
            f"The base model '{shown(requested)}' is not a catalog model; use a catalog "
            "id or alias (GET /v1/tenant/models lists them).",
            param="base_model",
        )
    return _callable_spec(resolution.model, requested, "base_model", now)


def check_figures(base: ModelSpec, context_window: int | None, max_tokens: int | None) -> None:
    if context_window is not None and base.context_window and context_window > base.context_window:
        raise ValidationFailed(
            f"context_window {context_window} is over the base model's {base.context_window}.",
            param="context_window",
        )
    limit = base.max_output_tokens
    if max_tokens is not None and limit and max_tokens > limit:
        raise ValidationFailed(
            f"max_tokens {max_tokens} is over the base model's max_output_tokens {limit}.",
            param="max_tokens",
        )


async def check_name(
    session: AsyncSession,
    catalog: Catalog,
    *,
    tenant_id: str,
    name: str,
    exclude_id: str | None = None,
) -> None:
    """409 ``model_name_taken`` when the name is a catalog model's (an id or an alias,
    case-insensitive, or ``provider:model`` naming a listed one) or another config's
    or group's of this tenant (case-insensitive)."""
    try:
        in_catalog = catalog.resolve(name).in_catalog
    except ModelNotFound:
        in_catalog = False
    if in_catalog:
        raise ModelNameTaken(
            f"The name '{shown(name)}' is a catalog model's; choose another.", param="name"
        )
    owner = await service.name_owner(
        session, tenant_id=tenant_id, name=name, exclude_id=exclude_id
    )
    if owner is not None:
        raise ModelNameTaken(
            f"The name '{shown(name)}' is already used by the {service.WHAT[owner.kind]} "
            f"{owner.id}.",
            param="name",
        )


def config_type(catalog: Catalog, config: TenantModelRow) -> str | None:
    """A config's model type is its base model's (None: the base left the catalog)."""
    base = catalog.get(config.base_model or "")
    return base.model_type if base is not None else None


async def check_members(
    session: AsyncSession,
    catalog: Catalog,
    *,
    tenant_id: str,
    members: Sequence[MemberIn],
    model_type: str,
    now: datetime,
    first_index: int = 0,
    param: str | None = None,
) -> None:
    """Every member resolves (a config of this tenant, by name or id, or a catalog
    id, alias, ``provider:model`` or prefix-routed id), is callable, is not a
    group, is of the group's type, and is listed once. Errors name the member as
    ``members[i].model``, or as ``param`` when given (one member from the path)."""
    own = await _own_names(session, tenant_id)
    seen: set[str] = set()
    where = param
    for offset, member in enumerate(members):
        param = where or f"members[{first_index + offset}].model"
        key = fold(member.model)
        if key in seen:
            raise ValidationFailed(
                f"The member '{shown(member.model)}' is listed twice.", param=param
            )
        seen.add(key)
        row = own.get(member.model) or own.get(key)
        if row is not None and row.kind == "group":
            raise ValidationFailed(
                f"The member '{shown(member.model)}' is a model group; a group's members "
                "are models or configs, not groups.",
                param=param,
            )
        if row is not None:
            found_type = config_type(catalog, row)
            if found_type is None:
                raise UnknownModel(
                    f"The config '{shown(member.model)}' is built on a model the catalog no "
                    "longer lists.",
                    param=param,
                )
        else:
            found_type = _catalog_member_type(catalog, member.model, param, now)
        if found_type != model_type:
            raise ModelTypeMismatch(
                f"The member '{shown(member.model)}' is a {found_type} model; this group's "
                f"model_type is {model_type}.",
                param=param,
            )


def _catalog_member_type(catalog: Catalog, requested: str, param: str, now: datetime) -> str:
    try:
        resolution = catalog.resolve(requested)
    except ModelNotFound as exc:
        raise UnknownModel(exc.message, param=param) from None
    return _callable_spec(resolution.model, requested, param, now).model_type


async def _own_names(session: AsyncSession, tenant_id: str) -> dict[str, TenantModelRow]:
    index: dict[str, TenantModelRow] = {}
    for kind in ("config", "group"):
        for row in await service.list_rows(session, tenant_id=tenant_id, kind=kind):
            index[row.name_key] = row
            index[row.id] = row
    return index


async def check_config_unused(
    session: AsyncSession,
    *,
    tenant_id: str,
    config: TenantModelRow,
    deleting: bool = False,
    renaming: bool = False,
    new_type: str | None = None,
) -> None:
    """A config that groups list as a member keeps its name, its type and its
    existence: otherwise those groups would silently point somewhere else."""
    # A member that names the config by its id follows it through a rename.
    groups = await service.groups_using(
        session, tenant_id=tenant_id, config=config, by_name_only=renaming and not deleting
    )
    if not groups:
        return
    names = ", ".join(g.name for g in groups[:5])
    if deleting or renaming:
        what = "deleted" if deleting else "renamed"
        raise ModelInUse(
            f"The config is a member of the group(s) {names}; remove it from them before "
            f"it can be {what}.",
            param=None if deleting else "name",
        )
    if new_type is not None:
        clashing = [g for g in groups if g.model_type != new_type]
        if clashing:
            raise ModelInUse(
                f"The new base model is a {new_type} model, and the config is a member of "
                f"the group(s) {', '.join(g.name for g in clashing[:5])} of another type.",
                param="base_model",
            )
