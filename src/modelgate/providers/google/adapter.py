"""The Google Gemini adapter: ``{base_url}/v1beta/models/{model}:generateContent``
and ``:streamGenerateContent?alt=sse``, key in ``x-goog-api-key`` (never in the URL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any
from urllib.parse import quote

from modelgate.chat.schemas import ChatCompletionRequest
from modelgate.providers.base import HTTPAdapter, UpstreamTarget, stream_with_error_tail
from modelgate.providers.common import json_objects
from modelgate.providers.google.request import to_generate_request
from modelgate.providers.google.response import to_chat_completion
from modelgate.providers.google.stream import StreamTranslator


def model_url(target: UpstreamTarget, method: str) -> str:
    model = target.model.removeprefix("models/")
    return target.url(f"/v1beta/models/{quote(model, safe='-._~')}:{method}")


class GoogleAdapter(HTTPAdapter):
    def _headers(self, target: UpstreamTarget) -> dict[str, str]:
        return {
            "x-goog-api-key": target.api_key.get_secret_value(),
            "content-type": "application/json",
        }

    async def complete(
        self, request: ChatCompletionRequest, body: dict[str, Any], target: UpstreamTarget
    ) -> dict[str, Any]:
        payload = to_generate_request(request, model=target.model)
        url = model_url(target, "generateContent")
        data = await self._post_json(url, self._headers(target), payload, target)
        return to_chat_completion(data, target)

    def stream(
        self, request: ChatCompletionRequest, body: dict[str, Any], target: UpstreamTarget
    ) -> AsyncIterator[bytes]:
        # Translated here, so that an untranslatable request raises before streaming.
        payload = to_generate_request(request, model=target.model)
        return stream_with_error_tail(self._translate(request, payload, target))

    async def _translate(
        self, request: ChatCompletionRequest, payload: dict[str, Any], target: UpstreamTarget
    ) -> AsyncIterator[bytes]:
        translator = StreamTranslator(target, include_usage=request.include_usage)
        url = model_url(target, "streamGenerateContent") + "?alt=sse"
        headers = {**self._headers(target), "accept": "text/event-stream"}
        events = self._sse_events(url, headers, payload, target)
        async with aclosing(json_objects(events, target)) as objects:
            async for data in objects:
                for chunk in translator.translate(data):
                    yield chunk
        for chunk in translator.finish_stream():
            yield chunk
