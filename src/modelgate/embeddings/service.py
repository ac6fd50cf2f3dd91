"""One embeddings member: resolve (a config's base), lifecycle, type, key, and the
provider's embedder. No FastAPI, no I/O but the key look-up (cached)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from modelgate.catalog import ModelSpec
from modelgate.chat import hosted_policy
from modelgate.embeddings.schemas import EmbeddingsRequest
from modelgate.keys.resolver import KeySource
from modelgate.providers.base import UpstreamTarget
from modelgate.providers.registry import Embedder
from modelgate.routing.names import Member
from modelgate.routing.targets import call_headers, choose_key, resolve_member
from modelgate.state import Gateway
from modelgate.tenants.auth import Principal

EMBEDDING = "embedding"


@dataclass(frozen=True, slots=True)
class PreparedEmbedding:
    embedder: Embedder
    target: UpstreamTarget
    model: ModelSpec
    key_source: KeySource
    deprecation_notice: str | None
    end_of_life_at: datetime | None
    member: Member
    custom_endpoint: bool = False

    @property
    def shown_model(self) -> str:
        return self.member.name if self.member.config is not None else self.target.model

    def headers(self) -> dict[str, str]:
        return call_headers(
            self.target, self.key_source, self.deprecation_notice, self.end_of_life_at
        )


async def prepare_embedding(
    gateway: Gateway, principal: Principal, request: EmbeddingsRequest, member: Member
) -> PreparedEmbedding:
    """A config on an embedding base keeps only its name, enabled switch and
    lifecycle here: system prompts, max_tokens and streaming are chat rules."""
    resolved = resolve_member(gateway.catalog, member, model_type=EMBEDDING)
    resolution = resolved.resolution
    key = await choose_key(gateway, principal, resolution)
    if key.key_source == "hosted":
        # One rule for every endpoint: the same fields refused on the platform's key.
        hosted_policy.check(request)  # type: ignore[arg-type]  # reads model_extra only
    embedder = gateway.providers.embedder_for(
        resolution.provider.id, custom_endpoint=key.custom_endpoint
    )
    notice = resolved.deprecation_notice
    return PreparedEmbedding(
        embedder=embedder,
        target=key.target,
        model=resolution.model,
        key_source=key.key_source,
        deprecation_notice=notice,
        end_of_life_at=resolution.model.end_of_life_at if notice else None,
        member=member,
        custom_endpoint=key.custom_endpoint,
    )
