"""/v1/tenant/model_keys (admin): set, remove and list the tenant's own provider keys.

The key goes in once and never comes out: no response, log line or error
carries it. A custom ``base_url`` is checked against SSRF before it is stored.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, SecretStr, StrictStr, field_validator

from modelgate.audit import service as audit
from modelgate.catalog import ProviderSpec
from modelgate.deps import AdminPrincipal, GatewayDep, SessionDep
from modelgate.errors import BaseUrlNotSupported, ProviderNotFound
from modelgate.keys import service
from modelgate.keys.ssrf import validate_base_url
from modelgate.state import Gateway
from modelgate.tenants.tokens import looks_like_token

router = APIRouter(tags=["keys"])

MAX_KEY_LENGTH = 4096
_PRINTABLE_ASCII = re.compile(r"[\x21-\x7e]+")
ProviderPath = Annotated[str, Path(max_length=64, description="Provider id or alias, e.g. openai")]


class KeyPut(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    # SecretStr: a repr of the body (in a traceback, say) shows ********.
    api_key: SecretStr = Field(min_length=1, max_length=MAX_KEY_LENGTH, strict=True)
    base_url: StrictStr | None = Field(default=None, max_length=2048)

    @field_validator("api_key", mode="before")
    @classmethod
    def _a_string(cls, value: object) -> object:
        if not isinstance(value, str):
            raise ValueError("must be a string")
        return value

    @field_validator("api_key")
    @classmethod
    def _usable_as_a_header(cls, value: SecretStr) -> SecretStr:
        key = value.get_secret_value()
        if not key.strip():
            raise ValueError("must not be empty or whitespace")
        # It goes into an HTTP header: anything but visible ASCII would fail every call.
        if not _PRINTABLE_ASCII.fullmatch(key):
            raise ValueError("must be visible ASCII characters only, without spaces")
        # A gateway token stored as a provider key (with the gateway as base_url)
        # makes each call call the gateway again; it is never a provider's key.
        if looks_like_token(key):
            raise ValueError(
                "is a modelgate gateway token (mg_...), not a provider API key; store the "
                "key the provider issued you"
            )
        return value


class KeyState(BaseModel):
    provider: str
    configured: bool
    base_url: str | None


class KeyListEntry(KeyState):
    updated_at: datetime | None


class KeyList(BaseModel):
    data: list[KeyListEntry]


def _provider(gateway: Gateway, name: str) -> ProviderSpec:
    spec = gateway.catalog.provider(name)
    if spec is None:
        raise ProviderNotFound(f"Unknown provider {name!r}.", param="provider")
    return spec


@router.put("/v1/tenant/model_keys/{provider}", response_model=KeyState)
async def put_model_key(
    provider: ProviderPath,
    body: KeyPut,
    principal: AdminPrincipal,
    session: SessionDep,
    gateway: GatewayDep,
) -> KeyState:
    spec = _provider(gateway, provider)
    base_url = body.base_url
    if base_url is not None:
        if not spec.accepts_base_url:
            raise BaseUrlNotSupported(
                f"Provider {spec.id!r} does not accept a custom base_url.", param="base_url"
            )
        base_url = await validate_base_url(
            base_url,
            allow_private=gateway.settings.allow_private_base_urls,
            own_hosts=gateway.settings.own_hosts,
        )
    await service.put_key(
        session,
        keyring=gateway.keyring,
        tenant_id=principal.tenant_id,
        provider=spec.id,
        api_key=body.api_key.get_secret_value(),
        base_url=base_url,
    )
    await audit.record(
        session,
        principal=principal,
        action="model_key.put",
        provider=spec.id,
        key_change=service.last_change(session, tenant_id=principal.tenant_id, provider=spec.id),
    )
    # Commit before dropping the caches (here and in every other process), so no
    # request can refill them with the old row.
    await session.commit()
    await gateway.invalidations.announce("keys", principal.tenant_id)
    return KeyState(provider=spec.id, configured=True, base_url=base_url)


@router.delete("/v1/tenant/model_keys/{provider}", response_model=KeyState)
async def delete_model_key(
    provider: ProviderPath, principal: AdminPrincipal, session: SessionDep, gateway: GatewayDep
) -> KeyState:
    spec = _provider(gateway, provider)
    if await service.delete_key(session, tenant_id=principal.tenant_id, provider=spec.id):
        await audit.record(
            session,
            principal=principal,
            action="model_key.delete",
            provider=spec.id,
            key_change=service.last_change(
                session, tenant_id=principal.tenant_id, provider=spec.id
            ),
        )
        await session.commit()
        await gateway.invalidations.announce("keys", principal.tenant_id)
    return KeyState(provider=spec.id, configured=False, base_url=None)


@router.get("/v1/tenant/model_keys", response_model=KeyList)
async def list_model_keys(
    principal: AdminPrincipal, session: SessionDep, gateway: GatewayDep
) -> KeyList:
    stored = await service.list_keys(session, tenant_id=principal.tenant_id)
    entries = []
    for spec in gateway.catalog.providers:
        info = stored.get(spec.id)
        entries.append(
            KeyListEntry(
                provider=spec.id,
                configured=info is not None,
                base_url=info.base_url if info else None,
                updated_at=info.updated_at if info else None,  # type: ignore[arg-type]
            )
        )
    return KeyList(data=entries)
