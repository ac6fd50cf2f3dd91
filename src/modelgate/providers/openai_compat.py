"""OpenAI and every OpenAI-compatible provider (and BYOK base URLs): passthrough.

The raw body goes upstream with only ``model`` replaced (and, on the platform's
hosted keys, the fields of ``chat.hosted_policy`` removed); the answer comes back
with only ``model`` replaced. Streams are relayed event by event, and an event
that already names ``target.model`` (or the upstream's own model name, seen
once) is forwarded without being decoded.

The upstream call goes through ``direct_client`` (aiohttp without httpx's client
layer) on the provider client's own pool; through httpx (``HTTPAdapter``) only
when that client's requests are not all ours to send (see ``direct_client``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import httpx
import orjson

from modelgate.chat import hosted_policy
from modelgate.chat.schemas import ChatCompletionRequest
from modelgate.providers.answer_limits import json_object
from modelgate.providers.base import (
    DEFAULT_MAX_EVENT_BYTES,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_TIMEOUTS,
    HTTPAdapter,
    Timeouts,
    UpstreamTarget,
    stream_cut,
    stream_error,
    stream_with_error_tail,
    unreadable,
)
from modelgate.providers.direct_client import DirectClient
from modelgate.providers.sse import DONE, encode_event


class OpenAICompatAdapter(HTTPAdapter):
    def __init__(
        self,
        client: httpx.AsyncClient,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        *,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    ) -> None:
        super().__init__(
            client, timeouts, max_response_bytes=max_response_bytes, max_event_bytes=max_event_bytes
        )
        self._direct = DirectClient.over(
            client, timeouts, max_response_bytes=max_response_bytes, max_event_bytes=max_event_bytes
        )

    def _direct_client(self) -> DirectClient | None:
        direct = self._direct
        return direct if direct is not None and direct.usable() else None

    async def complete(
        self, request: ChatCompletionRequest, body: dict[str, Any], target: UpstreamTarget
    ) -> dict[str, Any]:
        payload = passthrough_payload(body, target)
        payload.pop("stream", None)
        payload.pop("stream_options", None)
        url = target.url("/chat/completions")
        if direct := self._direct_client():
            data = await direct.post_json(url, openai_headers(target), payload, target)
        else:
            data = await self._post_json(url, openai_headers(target), payload, target)
        return passthrough_answer(data, "choices", target)

    def stream(
        self, request: ChatCompletionRequest, body: dict[str, Any], target: UpstreamTarget
    ) -> AsyncIterator[bytes]:
        payload = passthrough_payload(body, target)
        payload["stream"] = True
        # Always ask for the usage chunk: the gateway meters it, and hands it on only
        # to a client that asked (metering/stream_tap.py).
        options = body.get("stream_options")
        payload["stream_options"] = {**(options if isinstance(options, dict) else {}),
                                     "include_usage": True}
        return stream_with_error_tail(self._relay(payload, target))

    async def _relay(self, payload: dict[str, Any], target: UpstreamTarget) -> AsyncIterator[bytes]:
        ours = b'"model":' + orjson.dumps(target.model)
        theirs: bytes | None = None  # the upstream's own `"model":"…"`, once seen
        headers = {**openai_headers(target), "accept": "text/event-stream"}
        url = target.url("/chat/completions")
        if direct := self._direct_client():
            events = direct.sse_events(url, headers, payload, target)
        else:
            events = self._sse_events(url, headers, payload, target)
        async with aclosing(events):
            async for event in events:
                data = event.data
                if data == b"[DONE]":
                    yield DONE
                    return
                # One-line JSON object that is not an error: try the fast paths (an
                # event of several data: lines must be re-encoded as one line).
                if (
                    data[:1] == b"{"
                    and data[-1:] == b"}"
                    and b"\n" not in data
                    and b'"error"' not in data
                ):
                    if ours in data:
                        yield b"data: " + data + b"\n\n"
                        continue
                    if theirs is not None and theirs in data:
                        yield b"data: " + data.replace(theirs, ours, 1) + b"\n\n"
                        continue
                chunk = json_object(data, target)
                if "error" in chunk:
                    raise stream_error(chunk, target)
                if isinstance(upstream_model := chunk.get("model"), str):
                    theirs = b'"model":' + orjson.dumps(upstream_model)
                chunk["model"] = target.model
                yield encode_event(chunk)
        raise stream_cut(target)


def openai_headers(target: UpstreamTarget) -> dict[str, str]:
    """OpenAI's authentication (a bearer key) and a JSON body: every OpenAI-style call's."""
    return {
        "authorization": f"Bearer {target.api_key.get_secret_value()}",
        "content-type": "application/json",
    }


def passthrough_answer(
    data: dict[str, Any], listed: str, target: UpstreamTarget
) -> dict[str, Any]:
    """The upstream's answer with our model id, once its ``listed`` field (``choices``,
    ``data``) is a list; an error answered with a 200 (some compatible servers do) raises."""
    if "error" in data and listed not in data:
        raise stream_error(data, target)
    if not isinstance(data.get(listed), list):
        raise unreadable(target)
    data["model"] = target.model
    return data


def passthrough_payload(body: dict[str, Any], target: UpstreamTarget) -> dict[str, Any]:
    """The body to forward: a copy, with our model id; on a hosted key, without
    the fields that would change the platform's price or custody."""
    payload = {**body, "model": target.model}
    if target.hosted:
        hosted_policy.strip(payload)
    return payload
