"""Provider adapters: one narrow protocol, three implementations, one registry.

base            Adapter protocol, UpstreamTarget, Timeouts, the httpx boundary
sse             SSE decoding and OpenAI chunk encoding
openai_compat   OpenAI and every OpenAI-compatible provider (passthrough)
anthropic/      Messages API: request, response, stream, adapter
google/         Gemini generateContent: request, response, stream, adapter
registry        api_style → adapter class; one pooled client per provider
upstream_errors foreign errors and provider error bodies → our errors
answer_limits   refused encodings, the size limit and the parse budget of one answer or event
hosted_redaction what a provider's error says of the platform's account, removed
tenant_slots    a per-tenant cap on calls through tenants' own endpoints
aiohttp_transport, guarded_transport, address_guard   the HTTP transport and its SSRF checks
"""

from modelgate.providers.base import (
    Adapter,
    Timeouts,
    UpstreamTarget,
    prime_stream,
    stream_with_error_tail,
)
from modelgate.providers.registry import ProviderRegistry, adapter_class, build_client

__all__ = [
    "Adapter",
    "ProviderRegistry",
    "Timeouts",
    "UpstreamTarget",
    "adapter_class",
    "build_client",
    "prime_stream",
    "stream_with_error_tail",
]
