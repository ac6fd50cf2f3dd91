"""Provider adapters: one narrow protocol, three implementations, one registry.

base            Adapter protocol, UpstreamTarget, Timeouts, the httpx boundary
sse             SSE decoding and OpenAI chunk encoding
openai_compat   OpenAI and every OpenAI-compatible provider (passthrough)
anthropic/      Messages API: request, response, stream, adapter
google/         Gemini generateContent: request, response, stream, adapter
registry        api_style → adapter class; one pooled client per provider
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
