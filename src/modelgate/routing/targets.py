"""One member → the catalog model, the key and the upstream target that serve it.

Shared by chat and embeddings. No I/O but the key look-up (cached).

- A config member resolves to its base model (stored as a catalog id); a
  disabled config is 404 ``model_not_found``, as if it did not exist.
- The model's lifecycle applies (``check_callable``: 404 disabled, 410 retired,
  a notice for the ``Deprecation`` header).
- The type check: a model whose type is known (a catalog entry; a config's base
  always is) must be of the endpoint's type, else 422 ``model_type_mismatch``.
  Ids the catalog does not list pass: the provider is their judge.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel

from modelgate.catalog.lifecycle import check_callable
from modelgate.catalog.resolver import Catalog, Resolution, shown
from modelgate.chat import hosted_policy
from modelgate.errors import BaseUrlInvalid, ModelKeyMissing, ModelNotFound, ModelTypeMismatch
from modelgate.keys.resolver import KeySource
from modelgate.keys.ssrf import points_at_gateway
from modelgate.providers.base import UpstreamTarget
from modelgate.routing.names import Member
from modelgate.state import Gateway
from modelgate.tenants.auth import Principal

_TYPE_NAMES = {"chat_completion": "chat", "embedding": "embeddings"}


@dataclass(frozen=True, slots=True)
class ResolvedMember:
    member: Member
    resolution: Resolution
    deprecation_notice: str | None


@dataclass(frozen=True, slots=True)
class ChosenKey:
    target: UpstreamTarget
    key_source: KeySource
    custom_endpoint: bool  # the tenant's own base_url: the guarded client and a capped slot


def resolve_member(catalog: Catalog, member: Member, *, model_type: str) -> ResolvedMember:
    config = member.config
    if config is None:
        resolution = catalog.resolve(member.requested)
    else:
        if not config.enabled:
            raise ModelNotFound(f"The model '{shown(config.name)}' does not exist.", param="model")
        # The base was a catalog id when stored; the catalog may have changed since
        # (resolve raises ModelNotFound then). Errors name the config, not its base.
        resolution = dataclasses.replace(catalog.resolve(config.base_model), requested=config.name)
    notice = check_callable(resolution, datetime.now(UTC))
    model = resolution.model
    if (resolution.in_catalog or config is not None) and model.model_type != model_type:
        raise ModelTypeMismatch(
            f"The model '{shown(member.name)}' is a {model.model_type} model; "
            f"{_TYPE_NAMES.get(model_type, model_type)} calls need a {model_type} model.",
            param="model",
        )
    return ResolvedMember(member, resolution, notice)


async def choose_key(
    gateway: Gateway, principal: Principal, resolution: Resolution, *, request: BaseModel
) -> ChosenKey:
    """The tenant's key for the provider, else the platform's; on the platform's,
    ``request`` must pass ``hosted_policy.check`` (one rule for every endpoint)."""
    provider = resolution.provider
    key = await gateway.keys.resolve(principal, provider.id)
    if key is None:
        raise ModelKeyMissing(
            f"No key for provider '{provider.id}': set one with "
            f"PUT /v1/tenant/model_keys/{provider.id}.",
            param="model",
        )
    # A custom endpoint comes only with the tenant's own key; hosted keys only
    # ever go to the platform's configured endpoint for the provider.
    base_url = key.base_url if key.source == "byok" and key.base_url else None
    if base_url is not None and points_at_gateway(base_url, gateway.settings.own_hosts):
        # Checked at PUT time too; this catches a key stored before the setting named the host.
        raise BaseUrlInvalid(
            f"The base_url of your '{provider.id}' key points at this gateway itself; "
            f"set the provider's URL with PUT /v1/tenant/model_keys/{provider.id}.",
            param="base_url",
        )
    target = UpstreamTarget(
        provider_id=provider.id,
        base_url=base_url or gateway.upstream_base_urls[provider.id],
        api_key=key.api_key,
        model=resolution.model.id,
        default_max_tokens=resolution.model.max_output_tokens,
        hosted=key.source == "hosted",
    )
    if key.source == "hosted":
        # The platform's key: no premium tiers, no storage. Reads model_extra only,
        # so the embeddings request is checked by the same rule as chat's.
        hosted_policy.check(request)  # type: ignore[arg-type]
    return ChosenKey(target, key.source, base_url is not None)


def call_headers(
    target: UpstreamTarget, key_source: str, notice: str | None, end_of_life_at: datetime | None
) -> dict[str, str]:
    """Who serves the call (``IC-Provider``, ``IC-Key-Source``) and, for a
    deprecated model, ``Deprecation`` and ``Sunset``."""
    headers = {"IC-Provider": target.provider_id, "IC-Key-Source": key_source}
    if notice is not None:
        # Header values are Latin-1; the notice is user text, so keep it to ASCII.
        headers["Deprecation"] = notice.encode("ascii", "replace").decode()
        if end_of_life_at is not None:
            headers["Sunset"] = end_of_life_at.strftime("%a, %d %b %Y %H:%M:%S GMT")
    return headers
