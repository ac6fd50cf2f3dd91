"""One chat member, from a validated request to the adapter and target that serve
it: resolve the model (a config's base), apply its lifecycle, type and config
rules, pick the key. No FastAPI, no I/O but the key look-up (cached)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from modelgate.catalog import ModelSpec
from modelgate.chat import hosted_policy
from modelgate.chat.schemas import ChatCompletionRequest
from modelgate.keys.resolver import KeySource
from modelgate.providers.base import Adapter, UpstreamTarget
from modelgate.routing import config_rules
from modelgate.routing.names import Member
from modelgate.routing.targets import call_headers, choose_key, resolve_member
from modelgate.state import Gateway
from modelgate.tenants.auth import Principal

CHAT = "chat_completion"


@dataclass(frozen=True, slots=True)
class PreparedCall:
    adapter: Adapter
    target: UpstreamTarget
    model: ModelSpec  # the catalog's entry (or the one made up for a prefix-routed id)
    key_source: KeySource
    deprecation_notice: str | None
    end_of_life_at: datetime | None
    member: Member
    # The request as this member gets it (a config's system prompt, max_tokens).
    chat: ChatCompletionRequest
    body: dict[str, Any]
    custom_endpoint: bool = False

    @property
    def shown_model(self) -> str:
        """The answer's ``model``: a config's name, else the resolved id."""
        return self.member.name if self.member.config is not None else self.target.model

    def headers(self) -> dict[str, str]:
        return call_headers(
            self.target, self.key_source, self.deprecation_notice, self.end_of_life_at
        )


async def prepare_call(
    gateway: Gateway,
    principal: Principal,
    chat: ChatCompletionRequest,
    body: dict[str, Any],
    member: Member,
) -> PreparedCall:
    resolved = resolve_member(gateway.catalog, member, model_type=CHAT)
    resolution = resolved.resolution
    if member.config is not None:
        chat, body = config_rules.apply(chat, body, member.config, provider=resolution.provider.id)
    key = await choose_key(gateway, principal, resolution)
    if key.key_source == "hosted":
        hosted_policy.check(chat)  # the platform's key: no premium tiers, no storage
    notice = resolved.deprecation_notice
    return PreparedCall(
        adapter=gateway.providers.adapter_for(
            resolution.provider.id, custom_endpoint=key.custom_endpoint
        ),
        target=key.target,
        model=resolution.model,
        key_source=key.key_source,
        deprecation_notice=notice,
        end_of_life_at=resolution.model.end_of_life_at if notice else None,
        member=member,
        chat=chat,
        body=body,
        custom_endpoint=key.custom_endpoint,
    )
