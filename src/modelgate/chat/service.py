"""One chat member, from a validated request to the adapter and target that serve
it: resolve the model (a config's base), apply its lifecycle, type and config
rules, pick the key. No FastAPI, no I/O but the key look-up (cached)."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from modelgate.chat.schemas import ChatCompletionRequest
from modelgate.providers.base import Adapter
from modelgate.routing import config_rules
from modelgate.routing.names import Member
from modelgate.routing.prepared import PreparedMember
from modelgate.routing.targets import choose_key, resolve_member
from modelgate.state import Gateway
from modelgate.tenants.auth import Principal

CHAT = "chat_completion"


@dataclass(frozen=True, slots=True)
class PreparedCall(PreparedMember[Adapter, ChatCompletionRequest]):
    @property
    def requested_output(self) -> int | None:
        return self.request.output_limit

    def answer(self) -> Awaitable[dict[str, Any]]:
        return self.adapter.complete(self.request, self.body, self.target)


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
    key = await choose_key(gateway, principal, resolution, request=chat)
    adapter = gateway.providers.adapter_for(
        resolution.provider.id, custom_endpoint=key.custom_endpoint
    )
    return PreparedCall.on_key(adapter, chat, body, resolved, key)
