"""One chat call, from a validated request to the adapter and target that serve it:
resolve the model, apply its lifecycle, pick the key. No FastAPI, no I/O but the
key look-up (cached)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from modelgate.catalog import ModelSpec
from modelgate.catalog.lifecycle import check_callable
from modelgate.chat import hosted_policy
from modelgate.chat.schemas import ChatCompletionRequest
from modelgate.errors import BaseUrlInvalid, ModelKeyMissing
from modelgate.keys.resolver import KeySource
from modelgate.keys.ssrf import points_at_gateway
from modelgate.providers.base import Adapter, UpstreamTarget
from modelgate.state import Gateway
from modelgate.tenants.auth import Principal


@dataclass(frozen=True, slots=True)
class PreparedCall:
    adapter: Adapter
    target: UpstreamTarget
    model: ModelSpec  # the catalog's entry (or the one made up for a prefix-routed id)
    key_source: KeySource
    deprecation_notice: str | None
    end_of_life_at: datetime | None

    def headers(self) -> dict[str, str]:
        headers = {"IC-Provider": self.target.provider_id, "IC-Key-Source": self.key_source}
        if self.deprecation_notice is not None:
            # Header values are Latin-1; the notice is user text, so keep it to ASCII.
            headers["Deprecation"] = self.deprecation_notice.encode("ascii", "replace").decode()
            if self.end_of_life_at is not None:
                headers["Sunset"] = self.end_of_life_at.strftime("%a, %d %b %Y %H:%M:%S GMT")
        return headers


async def prepare_call(
    gateway: Gateway, principal: Principal, request: ChatCompletionRequest
) -> PreparedCall:
    resolution = gateway.catalog.resolve(request.model)
    notice = check_callable(resolution, datetime.now(UTC))
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
    if key.source == "hosted":
        hosted_policy.check(request)  # the platform's key: no premium tiers, no storage
    target = UpstreamTarget(
        provider_id=provider.id,
        base_url=base_url or gateway.upstream_base_urls[provider.id],
        api_key=key.api_key,
        model=resolution.model.id,
        default_max_tokens=resolution.model.max_output_tokens,
        hosted=key.source == "hosted",
    )
    return PreparedCall(
        adapter=gateway.providers.adapter_for(provider.id, custom_endpoint=base_url is not None),
        target=target,
        model=resolution.model,
        key_source=key.source,
        deprecation_notice=notice,
        end_of_life_at=resolution.model.end_of_life_at if notice else None,
    )
