"""Embeddings on Google Gemini: OpenAI's request translated to
``POST {base_url}/v1beta/models/{model}:batchEmbedContents`` and the answer back
to OpenAI's shape.

Request, per input text (https://ai.google.dev/api/embeddings)::

    {"requests": [{"model": "models/<id>", "content": {"parts": [{"text": …}]},
                   "outputDimensionality": <dimensions>}]}

``taskType`` and ``title`` are optional there and OpenAI has no such fields, so
none is sent. Gemini takes at most 100 requests in one batch ("at most 100
requests can be in one batch"), OpenAI up to 2048 inputs: a longer list is sent
as several batches, a few at a time, and the vectors are put back in order.

Answer: ``{"embeddings": [{"values": [...]}, ...]}`` in request order →
``{"object": "list", "data": [{"object": "embedding", "index": i,
"embedding": [...]}], "model": target.model, "usage": {...}}``.

- Token arrays: Gemini takes text only, and the ids are OpenAI's tokenizer's;
  422 ``validation_error`` (param ``input``).
- ``encoding_format: "base64"``: the gateway encodes each vector as OpenAI
  does, its float32 values little-endian, base64 (the official SDKs ask for it
  by default and decode it so).
- Usage: Gemini reports no token count for embeddings, so prompt tokens are
  estimated with ``metering.estimate.count_text`` (the o200k encoding, as for
  every non-OpenAI model: Gemini's tokenizer is not public). A count that
  Gemini does report (``usageMetadata.promptTokenCount``) wins.
"""

from __future__ import annotations

import asyncio
import base64
import struct
from typing import Any

from modelgate.embeddings.schemas import EmbeddingsRequest
from modelgate.errors import GatewayError, ValidationFailed
from modelgate.metering.estimate import count_text
from modelgate.providers.base import HTTPAdapter, UpstreamTarget, unreadable
from modelgate.providers.google.adapter import model_url

# Gemini's own cap on one batchEmbedContents call.
MAX_BATCH = 100
# Batches of one request in flight at once: a 2048-input request is 21 batches,
# and firing them all together would spend the key's per-minute quota in a burst.
CONCURRENT_BATCHES = 4
# Counting tokens costs ~0.25 s per million; above this much text it runs in a
# thread (tiktoken releases the GIL) so the event loop keeps serving others.
_COUNT_INLINE_CHARS = 64 * 1024


class GoogleEmbedder(HTTPAdapter):
    def _headers(self, target: UpstreamTarget) -> dict[str, str]:
        return {
            "x-goog-api-key": target.api_key.get_secret_value(),
            "content-type": "application/json",
        }

    async def embed(
        self, request: EmbeddingsRequest, body: dict[str, Any], target: UpstreamTarget
    ) -> dict[str, Any]:
        texts = request.texts
        if texts is None:
            raise ValidationFailed(
                f"The provider '{target.provider_id}' embeds text only: send input as a "
                "string or a list of strings, not token arrays.",
                param="input",
            )
        batches = [texts[i : i + MAX_BATCH] for i in range(0, len(texts), MAX_BATCH)]
        answers = await self._send_all(batches, request.dimensions, target)
        vectors = [vector for answer, batch in zip(answers, batches, strict=True)
                   for vector in _vectors(answer, len(batch), target)]
        reported = [_reported_tokens(answer) for answer in answers]
        if all(count is not None for count in reported):
            prompt_tokens = sum(count for count in reported if count is not None)
        else:
            prompt_tokens = await _estimate(target, texts)
        encode = _base64 if request.encoding_format == "base64" else _floats
        return {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": encode(vector)}
                for i, vector in enumerate(vectors)
            ],
            "model": target.model,
            "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
        }

    async def _send_all(
        self, batches: list[list[str]], dimensions: int | None, target: UpstreamTarget
    ) -> list[dict[str, Any]]:
        if len(batches) == 1:
            return [await self._send(batches[0], dimensions, target)]
        slots = asyncio.Semaphore(CONCURRENT_BATCHES)

        async def send(batch: list[str]) -> dict[str, Any]:
            async with slots:
                return await self._send(batch, dimensions, target)

        # A TaskGroup cancels the other batches at the first failure; the caller
        # gets that failure itself, as it would from a single call.
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(send(batch)) for batch in batches]
        except* GatewayError as failures:
            raise failures.exceptions[0] from None
        return [task.result() for task in tasks]

    async def _send(
        self, texts: list[str], dimensions: int | None, target: UpstreamTarget
    ) -> dict[str, Any]:
        name = "models/" + target.model.removeprefix("models/")
        requests: list[dict[str, Any]] = []
        for text in texts:
            item: dict[str, Any] = {"model": name, "content": {"parts": [{"text": text}]}}
            if dimensions is not None:
                item["outputDimensionality"] = dimensions
            requests.append(item)
        url = model_url(target, "batchEmbedContents")
        return await self._post_json(url, self._headers(target), {"requests": requests}, target)


def _vectors(answer: dict[str, Any], expected: int, target: UpstreamTarget) -> list[list[float]]:
    """The batch's vectors, checked: one per text, each a list of numbers."""
    embeddings = answer.get("embeddings")
    if not isinstance(embeddings, list) or len(embeddings) != expected:
        raise unreadable(target)
    vectors: list[list[float]] = []
    for embedding in embeddings:
        values = embedding.get("values") if isinstance(embedding, dict) else None
        if not isinstance(values, list) or not all(
            type(v) is float or type(v) is int for v in values
        ):
            raise unreadable(target)
        vectors.append(values)
    return vectors


def _reported_tokens(answer: dict[str, Any]) -> int | None:
    usage = answer.get("usageMetadata")
    count = usage.get("promptTokenCount") if isinstance(usage, dict) else None
    return count if type(count) is int and count >= 0 else None


async def _estimate(target: UpstreamTarget, texts: list[str]) -> int:
    def count() -> int:
        return sum(count_text(target.provider_id, target.model, text) for text in texts)

    if sum(map(len, texts)) <= _COUNT_INLINE_CHARS:
        return count()
    return await asyncio.to_thread(count)


def _floats(vector: list[float]) -> list[float]:
    return vector


def _base64(vector: list[float]) -> str:
    """OpenAI's ``encoding_format: "base64"``: float32, little-endian, base64."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
