"""The models endpoints: the tenant's catalog view, one resolved model, and the
OpenAI-compatible list that SDKs' ``models.list()`` reads.

Both listings carry the tenant's own names too (tenant_models/listing.py):
catalog models are ``"kind": "system"``, configs ``"config"``, groups ``"group"``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from modelgate.catalog import ModelSpec, Resolution
from modelgate.catalog.lifecycle import lifecycle_state, lifecycle_view
from modelgate.catalog.prices import credits_per_1k
from modelgate.deps import GatewayDep, ReadPrincipal
from modelgate.errors import ModelNotFound, ProviderNotFound
from modelgate.keys.resolver import KeySource
from modelgate.tenant_models.listing import TenantListing

router = APIRouter(tags=["models"])


def pricing_view(model: ModelSpec, margin: Decimal) -> dict[str, Any]:
    """The catalog's USD per 1k, plus credits per 1k = USD per 1k x margin x the
    model's credit_multiplier (CONTRACT-2), null where the price is unknown."""
    price, multiplier = model.list_price, model.credit_multiplier
    if price is None:
        return {
            **model.pricing.model_dump(),
            "credits_input_per_1k": None,
            "credits_output_per_1k": None,
        }
    return {
        **model.pricing.model_dump(),
        "credits_input_per_1k": credits_per_1k(price.input, margin, multiplier),
        "credits_output_per_1k": credits_per_1k(price.output, margin, multiplier),
    }


def model_view(
    model: ModelSpec,
    aliases: tuple[str, ...],
    source: KeySource | None,
    now: datetime,
    margin: Decimal,
) -> dict[str, Any]:
    return {
        "id": model.id,
        "kind": "system",
        "provider": model.provider,
        "model_vendor": model.model_vendor,
        "label": model.label,
        "available": source is not None,
        "source": source,
        "model_type": model.model_type,
        "context_window": model.context_window,
        "max_output_tokens": model.max_output_tokens,
        "modalities": list(model.modalities),
        "capabilities": model.capabilities.model_dump(),
        "pricing": pricing_view(model, margin),
        "lifecycle": lifecycle_view(model, now),
        "recommended": model.recommended,
        "tier": model.tier,
        "curated": model.curated,
        "aliases": list(aliases),
    }


@router.get("/v1/tenant/models")
async def list_tenant_models(
    principal: ReadPrincipal,
    gateway: GatewayDep,
    provider: Annotated[str | None, Query(max_length=64, description="Provider id or alias")] = None,
    available: Annotated[bool | None, Query()] = None,
) -> dict[str, Any]:
    catalog = gateway.catalog
    only = None
    if provider is not None:
        spec = catalog.provider(provider)
        if spec is None:
            raise ProviderNotFound(f"Unknown provider {provider!r}.", param="provider")
        only = spec.id
    keys = await gateway.keys.availability(principal)
    sources = keys.sources
    now = datetime.now(UTC)
    margin = gateway.settings.credit_margin
    data: list[dict[str, Any]] = []
    for model in catalog.models:
        if (only and model.provider != only) or lifecycle_state(model, now) == "disabled":
            continue
        source = sources.get(model.provider)
        if available is not None and (source is not None) != available:
            continue
        data.append(model_view(model, catalog.aliases_of(model.id), source, now, margin))
    # The tenant's configs (by their base model's provider) and groups (any member's).
    own = TenantListing(await gateway.tenant_models.get(principal.tenant_id), catalog, sources, now)
    for entry in own.tenant_entries(lambda model: pricing_view(model, margin), only):
        if available is None or entry["available"] == available:
            data.append(entry)
    providers = [
        {
            "id": spec.id,
            "label": spec.label,
            "base_url": spec.accepts_base_url,
            "hosted": gateway.keys.hosted_available(principal, spec.id),
            "configured": spec.id in keys.configured,
        }
        for spec in catalog.providers
        if only is None or spec.id == only
    ]
    return {"data": data, "providers": providers}


@router.get("/v1/tenant/models/{model_id:path}")
async def get_tenant_model(
    model_id: Annotated[str, Path(max_length=256)],
    principal: ReadPrincipal,
    gateway: GatewayDep,
) -> dict[str, Any]:
    now = datetime.now(UTC)
    snapshot = await gateway.tenant_models.get(principal.tenant_id)
    own = snapshot.find(model_id)  # the tenant's names first, as a call resolves them
    if own is not None:
        sources = (await gateway.keys.availability(principal)).sources
        margin = gateway.settings.credit_margin
        entry = TenantListing(snapshot, gateway.catalog, sources, now).entry(
            own, lambda model: pricing_view(model, margin)
        )
        return {**entry, "requested": model_id, "in_catalog": False}
    resolution: Resolution = gateway.catalog.resolve(model_id)
    if lifecycle_state(resolution.model, now) == "disabled":
        raise ModelNotFound(f"The model {model_id!r} does not exist.", param="model_id")
    sources = (await gateway.keys.availability(principal)).sources
    aliases = gateway.catalog.aliases_of(resolution.model.id) if resolution.in_catalog else ()
    view = model_view(
        resolution.model,
        aliases,
        sources.get(resolution.provider.id),
        now,
        gateway.settings.credit_margin,
    )
    return {**view, "requested": model_id, "in_catalog": resolution.in_catalog}


@router.get("/v1/models")
async def list_openai_models(principal: ReadPrincipal, gateway: GatewayDep) -> dict[str, Any]:
    """Only models this tenant can call now: a key resolves and the model is not retired;
    then the tenant's enabled configs and groups that can be called (tenant_models/listing.py)."""
    sources = (await gateway.keys.availability(principal)).sources
    now = datetime.now(UTC)
    data = [
        # The catalog records no creation dates; 0 says "unknown" rather than invent one.
        {"id": model.id, "object": "model", "created": 0, "owned_by": model.provider}
        for model in gateway.catalog.models
        if sources.get(model.provider) is not None
        and lifecycle_state(model, now) in ("active", "deprecated")
    ]
    snapshot = await gateway.tenant_models.get(principal.tenant_id)
    data += TenantListing(snapshot, gateway.catalog, sources, now).openai_entries()
    return {"object": "list", "data": data}
