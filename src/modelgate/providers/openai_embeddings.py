"""Embeddings on OpenAI and every OpenAI-compatible provider (and BYOK base URLs):
passthrough to ``POST {base_url}/embeddings``.

The raw body goes upstream with only ``model`` replaced, so everything OpenAI's
API takes arrives as the client wrote it: token-array inputs, ``dimensions``,
and ``encoding_format: "base64"`` (the official SDKs ask for base64 by default
and decode it themselves; the gateway neither decodes nor re-encodes it). The
answer comes back with only ``model`` replaced.

Hosted keys: the same ``chat.hosted_policy`` list is removed from the body as
for chat, one rule for every endpoint. Of OpenAI's embeddings fields only
``user`` is on it (an end-user id sent under the platform's organisation); the
rest of the list is not an embeddings field, and a compatible provider's own
(OpenRouter's ``provider``) is dropped for the same reason as on chat.
"""

from __future__ import annotations

from typing import Any

from modelgate.embeddings.schemas import EmbeddingsRequest
from modelgate.providers.base import HTTPAdapter, UpstreamTarget
from modelgate.providers.openai_compat import (
    openai_headers,
    passthrough_answer,
    passthrough_payload,
)


class OpenAIEmbedder(HTTPAdapter):
    async def embed(
        self, request: EmbeddingsRequest, body: dict[str, Any], target: UpstreamTarget
    ) -> dict[str, Any]:
        payload = passthrough_payload(body, target)
        data = await self._post_json(
            target.url("/embeddings"), openai_headers(target), payload, target
        )
        return passthrough_answer(data, "data", target)
