"""Reading and writing a tenant's configs and groups. Every query takes the tenant.

The endpoints validate against the catalog first (``rules.py``); this module
only stores rows and turns them into the call path's snapshot
(``load_tenant_models``, read through ``gateway.tenant_models``). Services only
``flush()``: the request's session commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from modelgate.catalog.resolver import fold
from modelgate.errors import ModelNameTaken, NotFound
from modelgate.tenant_models.entries import ConfigEntry, GroupEntry, GroupMember, TenantModels
from modelgate.tenant_models.models import TenantModelRow

Kind = Literal["config", "group"]
ID_PREFIX: dict[str, str] = {"config": "mc_", "group": "grp_"}
WHAT: dict[str, str] = {"config": "model configuration", "group": "model group"}


def new_id(kind: Kind) -> str:
    return ID_PREFIX[kind] + uuid.uuid4().hex


async def load_tenant_models(session: AsyncSession, tenant_id: str) -> TenantModels:
    """The tenant's snapshot for the call path: one query (``TenantCache`` calls this)."""
    rows = await session.scalars(
        select(TenantModelRow)
        .where(TenantModelRow.tenant_id == tenant_id)
        .order_by(TenantModelRow.name_key, TenantModelRow.id)
    )
    configs: list[ConfigEntry] = []
    groups: list[GroupEntry] = []
    for row in rows:
        if row.kind == "config":
            configs.append(config_entry(row))
        else:
            groups.append(group_entry(row))
    return TenantModels(configs=tuple(configs), groups=tuple(groups))


def config_entry(row: TenantModelRow) -> ConfigEntry:
    return ConfigEntry(
        id=row.id,
        name=row.name,
        base_model=row.base_model or "",
        description=row.description,
        context_window=row.context_window,
        max_tokens=row.max_tokens,
        streaming=True if row.streaming is None else row.streaming,
        enabled=True if row.enabled is None else row.enabled,
        system_prompt=row.system_prompt,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def group_entry(row: TenantModelRow) -> GroupEntry:
    return GroupEntry(
        id=row.id,
        name=row.name,
        strategy=row.strategy,  # type: ignore[arg-type]
        members=tuple(GroupMember(m["model"], int(m.get("weight", 1))) for m in row.members or ()),
        model_type=row.model_type or "chat_completion",  # type: ignore[arg-type]
        description=row.description,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def list_rows(session: AsyncSession, *, tenant_id: str, kind: Kind) -> list[TenantModelRow]:
    """The tenant's configs or groups, in name order (case-insensitive), then id."""
    rows = await session.scalars(
        select(TenantModelRow)
        .where(TenantModelRow.tenant_id == tenant_id, TenantModelRow.kind == kind)
        .order_by(TenantModelRow.name_key, TenantModelRow.id)
    )
    return list(rows)


async def get_row(
    session: AsyncSession, *, tenant_id: str, kind: Kind, row_id: str, for_update: bool = False
) -> TenantModelRow:
    """One config or group of this tenant; another tenant's id is simply not found (404)."""
    query = select(TenantModelRow).where(
        TenantModelRow.id == row_id,
        TenantModelRow.tenant_id == tenant_id,
        TenantModelRow.kind == kind,
    )
    if for_update:
        query = query.with_for_update()  # PostgreSQL: two PATCHes of one group do not interleave
    row = await session.scalar(query)
    if row is None:
        # The id is not echoed: the caller has it, and an answer about another
        # tenant's id should read exactly like one about an id that never was.
        raise NotFound(f"No {WHAT[kind]} of this tenant has that id.", param="id")
    return row


async def name_owner(
    session: AsyncSession, *, tenant_id: str, name: str, exclude_id: str | None = None
) -> TenantModelRow | None:
    """The config or group of this tenant that already uses ``name`` (folded), if any."""
    query = select(TenantModelRow).where(
        TenantModelRow.tenant_id == tenant_id, TenantModelRow.name_key == fold(name)
    )
    if exclude_id is not None:
        query = query.where(TenantModelRow.id != exclude_id)
    return await session.scalar(query)


async def groups_using(
    session: AsyncSession, *, tenant_id: str, config: TenantModelRow, by_name_only: bool = False
) -> list[TenantModelRow]:
    """The tenant's groups that list ``config`` as a member (by name, or by id too)."""
    keys = {config.name_key} if by_name_only else {config.name_key, fold(config.id)}
    groups = await list_rows(session, tenant_id=tenant_id, kind="group")
    return [g for g in groups if any(fold(m["model"]) in keys for m in g.members or ())]


async def create_row(
    session: AsyncSession, *, tenant_id: str, kind: Kind, name: str, fields: dict[str, Any]
) -> TenantModelRow:
    row = TenantModelRow(
        id=new_id(kind), tenant_id=tenant_id, kind=kind, name=name, name_key=fold(name), **fields
    )
    session.add(row)
    await _flush_name(session, name)
    return row


async def update_row(
    session: AsyncSession, row: TenantModelRow, changes: dict[str, Any]
) -> TenantModelRow:
    for field, value in changes.items():
        setattr(row, field, value)
    if "name" in changes:
        row.name_key = fold(changes["name"])
    await _flush_name(session, row.name)
    return row


async def delete_row(session: AsyncSession, row: TenantModelRow) -> None:
    await session.delete(row)
    await session.flush()


async def _flush_name(session: AsyncSession, name: str) -> None:
    # The unique (tenant_id, name_key) constraint is the truth: two requests
    # racing for one name both pass the router's look-up, one of them lands here.
    try:
        await session.flush()
    except IntegrityError:
        raise ModelNameTaken(
            f"The name {name[:80]!r} is already used by a model configuration or group.",
            param="name",
        ) from None


def member_dicts(members: Iterable[GroupMember]) -> list[dict[str, Any]]:
    return [{"model": m.model, "weight": m.weight} for m in members]
