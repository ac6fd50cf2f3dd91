"""The Anthropic adapter: ``POST {base_url}/v1/messages``, key in ``x-api-key``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from modelgate.chat.schemas import ChatCompletionRequest
from modelgate.providers.anthropic.request import to_messages_request
from modelgate.providers.anthropic.response import to_chat_completion
from modelgate.providers.anthropic.stream import StreamTranslator
from modelgate.providers.base import (
    HTTPAdapter,
    UpstreamTarget,
    stream_cut,
    stream_with_error_tail,
)
from modelgate.providers.common import json_objects

ANTHROPIC_VERSION = "2023-06-01"


class AnthropicAdapter(HTTPAdapter):
    def _headers(self, target: UpstreamTarget) -> dict[str, str]:
        return {
            "x-api-key": target.api_key.get_secret_value(),
            "anthropic-version": ANTHROPIC_VERSION,
            "content-type": "application/json",
        }

    def _payload(
        self, request: ChatCompletionRequest, target: UpstreamTarget, *, stream: bool
    ) -> dict[str, Any]:
        return to_messages_request(
            request,
            model=target.model,
            default_max_tokens=target.default_max_tokens,
            stream=stream,
            hosted=target.hosted,
        )

    async def complete(
        self, request: ChatCompletionRequest, body: dict[str, Any], target: UpstreamTarget
    ) -> dict[str, Any]:
        payload = self._payload(request, target, stream=False)
        data = await self._post_json(
            target.url("/v1/messages"), self._headers(target), payload, target
        )
        return to_chat_completion(data, target)

    def stream(
        self, request: ChatCompletionRequest, body: dict[str, Any], target: UpstreamTarget
    ) -> AsyncIterator[bytes]:
        # Translate before the generator starts, so a request we cannot translate
        # raises here, not in the middle of a response.
        payload = self._payload(request, target, stream=True)
        return stream_with_error_tail(self._translate(request, payload, target))

    async def _translate(
        self, request: ChatCompletionRequest, payload: dict[str, Any], target: UpstreamTarget
    ) -> AsyncIterator[bytes]:
        translator = StreamTranslator(target, include_usage=request.include_usage)
        headers = {**self._headers(target), "accept": "text/event-stream"}
        events = self._sse_events(target.url("/v1/messages"), headers, payload, target)
        async with aclosing(json_objects(events, target)) as objects:
            async for data in objects:
                for chunk in translator.translate(data):
                    yield chunk
                if translator.done:
                    return
        raise stream_cut(target)
