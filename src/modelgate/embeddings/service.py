"""One embeddings member: resolve (a config's base), lifecycle, type, key, and the
provider's embedder. No FastAPI, no I/O but the key look-up (cached)."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from modelgate.embeddings.schemas import EmbeddingsRequest
from modelgate.providers.registry import Embedder
from modelgate.routing.names import Member
from modelgate.routing.prepared import PreparedMember
from modelgate.routing.targets import choose_key, resolve_member
from modelgate.state import Gateway
from modelgate.tenants.auth import Principal

EMBEDDING = "embedding"


@dataclass(frozen=True, slots=True)
class PreparedEmbedding(PreparedMember[Embedder, EmbeddingsRequest]):
    @property
    def requested_output(self) -> int:
        return 0  # an embedding is no output tokens: only the input is reserved

    def answer(self) -> Awaitable[dict[str, Any]]:
        return self.adapter.embed(self.request, self.body, self.target)


async def prepare_embedding(
    gateway: Gateway,
    principal: Principal,
    request: EmbeddingsRequest,
    body: dict[str, Any],
    member: Member,
) -> PreparedEmbedding:
    """A config on an embedding base keeps only its name, enabled switch and
    lifecycle here: system prompts, max_tokens and streaming are chat rules."""
    resolved = resolve_member(gateway.catalog, member, model_type=EMBEDDING)
    resolution = resolved.resolution
    key = await choose_key(gateway, principal, resolution, request=request)
    embedder = gateway.providers.embedder_for(
        resolution.provider.id, custom_endpoint=key.custom_endpoint
    )
    return PreparedEmbedding.on_key(embedder, request, body, resolved, key)
