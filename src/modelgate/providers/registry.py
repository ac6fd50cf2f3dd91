"""Which adapter serves which API style, and one pooled HTTP client per provider.

Built once at startup (the lifespan owns it) and closed at shutdown::

    providers = ProviderRegistry.build({"openai": "openai", "anthropic": "anthropic",
                                        "google": "google", "groq": "openai"}, timeouts)
    adapter = providers.adapter_for("groq")     # an OpenAICompatAdapter on groq's client
    embedder = providers.embedder_for("groq")   # an OpenAIEmbedder on the same client
    ...
    await providers.close_all()

OpenAI-compatible providers are data (an id mapped to the ``"openai"`` style), not
code. Adapters build full URLs from ``UpstreamTarget.base_url``, so a provider's
client also serves a tenant's BYOK ``base_url`` on another host.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from http.cookiejar import Cookie, CookieJar
from typing import Any, Protocol

import httpx

from modelgate.providers.aiohttp_transport import AiohttpTransport
from modelgate.providers.anthropic import AnthropicAdapter
from modelgate.embeddings.schemas import EmbeddingsRequest
from modelgate.errors import ModelTypeMismatch
from modelgate.providers.base import (
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_TIMEOUTS,
    Adapter,
    HTTPAdapter,
    Timeouts,
    UpstreamTarget,
)
from modelgate.providers.google import GoogleAdapter
from modelgate.providers.google.embeddings import GoogleEmbedder
from modelgate.providers.openai_compat import OpenAICompatAdapter
from modelgate.providers.openai_embeddings import OpenAIEmbedder

ADAPTERS: dict[str, type[HTTPAdapter]] = {
    "openai": OpenAICompatAdapter,
    "anthropic": AnthropicAdapter,
    "google": GoogleAdapter,
}
# Anthropic has no embeddings API: its providers get no embedder.
EMBEDDERS: dict[str, type[HTTPAdapter]] = {
    "openai": OpenAIEmbedder,
    "google": GoogleEmbedder,
}
# An embeddings answer is larger than a chat answer: 2048 inputs of 3072
# dimensions are 33 MB in base64 (the SDKs' default) and about 60 MB as JSON
# floats. The embedders read up to this much (or the chat limit, if larger).
DEFAULT_MAX_EMBEDDINGS_RESPONSE_BYTES = 64 * 1024 * 1024


class Embedder(Protocol):
    async def embed(
        self, request: EmbeddingsRequest, body: dict[str, Any], target: UpstreamTarget
    ) -> dict[str, Any]:
        """OpenAI's embeddings answer (``{"object": "list", "data": [...], "model",
        "usage"}``) whose ``model`` is ``target.model``; raises our errors only."""
        ...

USER_AGENT = "modelgate/0.1"
# Every upstream request carries it, and the gateway refuses a request that does
# (508 loop_detected): a tenant's base_url pointing back at us cannot recurse.
HOP_HEADER = "ic-gateway-hop"
# Uncompressed answers only: a compressed one is refused before it is decoded
# (a few hundred bytes of nested gzip decode to gigabytes).
UPSTREAM_HEADERS = {"user-agent": USER_AGENT, "accept-encoding": "identity", HOP_HEADER: "1"}
CUSTOM_ENDPOINTS = "custom-endpoints"  # the client key of tenants' own base URLs


def adapter_class(api_style: str) -> type[HTTPAdapter]:
    try:
        return ADAPTERS[api_style]
    except KeyError:
        raise ValueError(
            f"Unknown api_style {api_style!r}; expected one of {', '.join(ADAPTERS)}."
        ) from None


class _NoCookies(CookieJar):
    """One client serves every tenant: an upstream's Set-Cookie from one tenant's
    call must not ride along on the next tenant's call."""

    def set_cookie(self, cookie: Cookie) -> None:
        pass

    def extract_cookies(self, response: object, request: object) -> None:
        pass


def build_client(
    timeouts: Timeouts,
    *,
    max_connections: int = 200,
    max_keepalive_connections: int = 50,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """A pooled keep-alive client that follows no redirect, keeps no cookie and reads
    no environment (no proxy variables, no .netrc): the key must go to the URL we
    chose, only. By default its transport is aiohttp's (see ``aiohttp_transport``)."""
    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=max_keepalive_connections,
        keepalive_expiry=30.0,
    )
    return httpx.AsyncClient(
        timeout=timeouts.for_httpx(),
        limits=limits,
        follow_redirects=False,
        trust_env=False,
        cookies=_NoCookies(),
        headers=UPSTREAM_HEADERS,
        transport=transport or AiohttpTransport(limits=limits),
    )


def build_clients(
    provider_ids: list[str] | tuple[str, ...],
    timeouts: Timeouts,
    *,
    max_connections: int = 200,
    max_keepalive_connections: int = 50,
    transport: httpx.AsyncBaseTransport | None = None,
) -> dict[str, httpx.AsyncClient]:
    return {
        provider_id: build_client(
            timeouts,
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive_connections,
            transport=transport,
        )
        for provider_id in provider_ids
    }


@dataclass
class ProviderRegistry:
    adapters: dict[str, Adapter]
    clients: dict[str, httpx.AsyncClient] = field(repr=False)
    # The same adapters on the client for tenants' own base URLs (empty if not built).
    custom_adapters: dict[str, Adapter] = field(default_factory=dict)
    # Embedders, on the same clients as the adapters (none for Anthropic's style).
    embedders: dict[str, Embedder] = field(default_factory=dict)
    custom_embedders: dict[str, Embedder] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        api_styles: Mapping[str, str],
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        *,
        max_connections: int = 200,
        max_keepalive_connections: int = 50,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_event_bytes: int | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        custom_endpoint_transport: httpx.AsyncBaseTransport | None = None,
        max_embeddings_response_bytes: int = DEFAULT_MAX_EMBEDDINGS_RESPONSE_BYTES,
    ) -> ProviderRegistry:
        """``api_styles``: provider id → ``"openai"`` | ``"anthropic"`` | ``"google"``.

        With ``custom_endpoint_transport``, calls to a tenant's own ``base_url`` go
        through one more client on that transport (its own pool, its own checks).
        ``max_event_bytes`` (None: the adapters' default) bounds one SSE event."""
        classes = {pid: adapter_class(style) for pid, style in api_styles.items()}  # fail first
        clients = build_clients(
            tuple(classes),
            timeouts,
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive_connections,
            transport=transport,
        )
        limits: dict[str, int] = {"max_response_bytes": max_response_bytes}
        if max_event_bytes is not None:
            limits["max_event_bytes"] = max_event_bytes
        adapters: dict[str, Adapter] = {
            pid: adapter(clients[pid], timeouts, **limits) for pid, adapter in classes.items()
        }
        embedder_classes = {
            pid: EMBEDDERS[style] for pid, style in api_styles.items() if style in EMBEDDERS
        }
        embedding_limit = max(max_response_bytes, max_embeddings_response_bytes)
        embedders: dict[str, Embedder] = {
            pid: embedder(clients[pid], timeouts, max_response_bytes=embedding_limit)
            for pid, embedder in embedder_classes.items()
        }
        custom: dict[str, Adapter] = {}
        custom_embedders: dict[str, Embedder] = {}
        if custom_endpoint_transport is not None:
            clients[CUSTOM_ENDPOINTS] = build_client(timeouts, transport=custom_endpoint_transport)
            custom = {
                pid: adapter(clients[CUSTOM_ENDPOINTS], timeouts, **limits)
                for pid, adapter in classes.items()
            }
            custom_embedders = {
                pid: embedder(
                    clients[CUSTOM_ENDPOINTS], timeouts, max_response_bytes=embedding_limit
                )
                for pid, embedder in embedder_classes.items()
            }
        return cls(
            adapters=adapters,
            clients=clients,
            custom_adapters=custom,
            embedders=embedders,
            custom_embedders=custom_embedders,
        )

    def adapter_for(self, provider_id: str, *, custom_endpoint: bool = False) -> Adapter:
        adapters = self.custom_adapters if custom_endpoint else self.adapters
        try:
            return adapters[provider_id]
        except KeyError:
            raise LookupError(f"No adapter was built for provider {provider_id!r}.") from None

    def embedder_for(self, provider_id: str, *, custom_endpoint: bool = False) -> Embedder:
        """The provider's embedder, on the same client as its chat adapter (the
        guarded one for a tenant's own base URL). A provider whose API has no
        embeddings (Anthropic's style): ``ModelTypeMismatch`` (422, param model);
        the embeddings call path refuses non-embedding models before this."""
        embedders = self.custom_embedders if custom_endpoint else self.embedders
        embedder = embedders.get(provider_id)
        if embedder is not None:
            return embedder
        if provider_id in (self.custom_adapters if custom_endpoint else self.adapters):
            raise ModelTypeMismatch(
                f"The provider '{provider_id}' has no embeddings API; use an embedding "
                "model (model_type 'embedding') of another provider.",
                param="model",
            )
        raise LookupError(f"No embedder was built for provider {provider_id!r}.")

    def is_custom_endpoint(self, adapter: Adapter | Embedder, provider_id: str) -> bool:
        """Whether ``adapter`` (or embedder) is the one that serves tenants' own base URLs."""
        return (
            self.custom_adapters.get(provider_id) is adapter
            or self.custom_embedders.get(provider_id) is adapter
        )

    async def close_all(self) -> None:
        for client in self.clients.values():
            await client.aclose()
