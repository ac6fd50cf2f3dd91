"""GET/PATCH /v1/tenant/settings (admin)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, StrictBool
from sqlalchemy import select

from modelgate.audit import service as audit
from modelgate.deps import AdminPrincipal, GatewayDep, SessionDep
from modelgate.errors import ValidationFailed
from modelgate.tenants.models import TenantSettings

router = APIRouter(tags=["tenant"])


class SettingsOut(BaseModel):
    hosted_keys_enabled: bool
    api_version: str


class SettingsPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hosted_keys_enabled: StrictBool | None = None


async def _load(session: SessionDep, tenant_id: str) -> TenantSettings:
    row = await session.scalar(select(TenantSettings).where(TenantSettings.tenant_id == tenant_id))
    assert row is not None, "every tenant is created with its settings row"
    return row


@router.get("/v1/tenant/settings", response_model=SettingsOut)
async def get_settings(principal: AdminPrincipal, session: SessionDep) -> SettingsOut:
    row = await _load(session, principal.tenant_id)
    return SettingsOut(hosted_keys_enabled=row.hosted_keys_enabled, api_version=row.api_version)


@router.patch("/v1/tenant/settings", response_model=SettingsOut)
async def patch_settings(
    body: SettingsPatch, principal: AdminPrincipal, session: SessionDep, gateway: GatewayDep
) -> SettingsOut:
    if body.hosted_keys_enabled is None:
        raise ValidationFailed("Nothing to change: send hosted_keys_enabled.", param=None)
    row = await _load(session, principal.tenant_id)
    if row.hosted_keys_enabled != body.hosted_keys_enabled:
        row.hosted_keys_enabled = body.hosted_keys_enabled
        action = "hosted_keys.enable" if body.hosted_keys_enabled else "hosted_keys.disable"
        await audit.record(session, principal=principal, action=action)
        # Commit first, so no request can refill the cache with the old value; every
        # process (this one and, through the announcement, the others) drops it at once.
        await session.commit()
        await gateway.invalidations.announce("settings", principal.tenant_id)
    return SettingsOut(hosted_keys_enabled=row.hosted_keys_enabled, api_version=row.api_version)
