"""What the end-to-end metering tests share: a gateway whose three provider styles
point at the loopback fake, answers and streams of each style that report chosen
token counts, and a reader of a tenant's usage events through the usage API.

Nothing here mocks gateway code: the fake speaks each provider's own wire format,
and the events are read back through ``GET /v1/tenant/usage/events`` once the
recorder has written them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest

from tests.fakes.upstream import FakeUpstream, Script, json_script, run_fake_upstream
from tests.support import RunningGateway, SeededTenant, run_gateway

SSE = "text/event-stream"
FLUSH = 0.1  # usage_flush_interval of the gateway under test
READ_TIMEOUT = 1.0  # upstream_read_timeout: a slower upstream is a 504
HOSTED = {
    "openai": "sk-hosted-openai-metering-0123456789",
    "anthropic": "sk-ant-hosted-metering-0123456789",
    "google": "AIzaHostedGoogleMetering0123456789abcd",
}
MODELS = {"openai": "gpt-4o", "anthropic": "claude-haiku-4-5", "google": "gemini-2.5-flash"}
PROVIDERS = sorted(MODELS)
MESSAGES = [{"role": "user", "content": "Count the tokens of this question, please."}]
PIECES = ["Hello", "! How can I", " help you", " today?"]  # the answer, streamed


def gateway_settings(fake_url: str) -> dict[str, object]:
    return {
        "openai_base_url": f"{fake_url}/v1",
        "anthropic_base_url": fake_url,
        "google_base_url": fake_url,
        **{f"{provider}_api_key": key for provider, key in HOSTED.items()},
        "allow_private_base_urls": True,  # a BYOK base_url on the loopback fake
        "upstream_read_timeout": READ_TIMEOUT,
        "upstream_total_timeout": 20.0,
        "usage_flush_interval": FLUSH,
    }


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeUpstream]:
    with run_fake_upstream() as fake:
        yield fake


@pytest.fixture(scope="module")
def metered_gateway(database_url: str, fake: FakeUpstream) -> Iterator[RunningGateway]:
    """One gateway per database backend for the module, flushing usage every 0.1 s."""
    with run_gateway(database_url=database_url, **gateway_settings(fake.url)) as gw:
        yield gw


@pytest.fixture
def upstream(fake: FakeUpstream) -> Iterator[FakeUpstream]:
    fake.reset()
    yield fake
    fake.reset()


# ── what each provider style reports ──────────────────────────────────────────
@dataclass(frozen=True)
class Reported:
    """Token counts as the gateway should record them (OpenAI's meaning: cached
    input is part of input, reasoning part of output)."""

    input: int
    output: int
    cached: int = 0
    reasoning: int = 0


def openai_usage(counts: Reported) -> dict[str, Any]:
    return {
        "prompt_tokens": counts.input,
        "completion_tokens": counts.output,
        "total_tokens": counts.input + counts.output,
        "prompt_tokens_details": {"cached_tokens": counts.cached, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": counts.reasoning, "audio_tokens": 0},
    }


def anthropic_usage(counts: Reported) -> dict[str, Any]:
    # Anthropic counts cache reads apart from input_tokens; no reasoning count.
    assert counts.reasoning == 0, "Anthropic reports no reasoning tokens"
    return {
        "input_tokens": counts.input - counts.cached,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": counts.cached,
        "output_tokens": counts.output,
    }


def gemini_usage(counts: Reported) -> dict[str, Any]:
    # Gemini's candidatesTokenCount leaves the thoughts out; OpenAI's output has them.
    return {
        "promptTokenCount": counts.input,
        "cachedContentTokenCount": counts.cached,
        "candidatesTokenCount": counts.output - counts.reasoning,
        "thoughtsTokenCount": counts.reasoning,
        "totalTokenCount": counts.input + counts.output,
    }


def answer(provider: str, counts: Reported | None) -> Script:
    """A whole (non-stream) answer of ``provider``'s style, reporting ``counts``."""
    text = "".join(PIECES)
    if provider == "openai":
        body: dict[str, Any] = {
            "id": "chatcmpl-metered", "object": "chat.completion", "created": 1_751_234_567,
            "model": "gpt-4o-2024-08-06",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "stop"}],
        }
        if counts is not None:
            body["usage"] = openai_usage(counts)
    elif provider == "anthropic":
        body = {
            "id": "msg_metered", "type": "message", "role": "assistant",
            "model": "claude-haiku-4-5-20251001", "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn", "usage": anthropic_usage(counts or Reported(0, 0)),
        }
    else:
        body = {
            "candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                            "finishReason": "STOP", "index": 0}],
            "usageMetadata": gemini_usage(counts or Reported(0, 0)),
        }
    return json_script(body)


def _sse(obj: dict[str, Any], event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + orjson.dumps(obj) + b"\n\n"


def stream_events(
    provider: str, counts: Reported | None, *, pieces: list[str] = PIECES
) -> list[bytes]:
    """A stream of ``provider``'s style. ``counts`` None: only the content events,
    with no usage report and no end (what an upstream cut or left hanging sends)."""
    if provider == "openai":
        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            return _sse({"id": "chatcmpl-metered", "object": "chat.completion.chunk",
                         "created": 1_751_234_567, "model": "gpt-4o-2024-08-06",
                         "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                         "usage": None})
        events = [chunk({"role": "assistant", "content": ""})]
        events += [chunk({"content": piece}) for piece in pieces]
        if counts is None:
            return events
        usage = {"id": "chatcmpl-metered", "object": "chat.completion.chunk",
                 "created": 1_751_234_567, "model": "gpt-4o-2024-08-06", "choices": [],
                 "usage": openai_usage(counts)}
        return [*events, chunk({}, "stop"), _sse(usage), b"data: [DONE]\n\n"]
    if provider == "anthropic":
        start_usage = {**anthropic_usage(counts or Reported(0, 0)), "output_tokens": 1}
        if counts is None:  # the input as message_start reports it, before any output
            start_usage = {"input_tokens": 7, "cache_read_input_tokens": 0, "output_tokens": 1}
        events = [
            _sse({"type": "message_start", "message": {
                "id": "msg_metered", "type": "message", "role": "assistant", "content": [],
                "model": "claude-haiku-4-5-20251001", "stop_reason": None, "usage": start_usage,
            }}, "message_start"),
            _sse({"type": "content_block_start", "index": 0,
                  "content_block": {"type": "text", "text": ""}}, "content_block_start"),
        ]
        events += [_sse({"type": "content_block_delta", "index": 0,
                         "delta": {"type": "text_delta", "text": piece}}, "content_block_delta")
                   for piece in pieces]
        if counts is None:
            return events
        return [
            *events,
            _sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
            _sse({"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                  "usage": {"output_tokens": counts.output}}, "message_delta"),
            _sse({"type": "message_stop"}, "message_stop"),
        ]

    def candidate(piece: str, last: bool) -> dict[str, Any]:
        content = {"role": "model", "parts": [{"text": piece}]}
        part: dict[str, Any] = {"content": content, "index": 0}
        return {**part, "finishReason": "STOP"} if last else part

    if counts is None:
        return [_sse({"candidates": [candidate(piece, False)]}) for piece in pieces]
    events = [_sse({"candidates": [candidate(piece, False)]}) for piece in pieces[:-1]]
    last = {"candidates": [candidate(pieces[-1], True)], "usageMetadata": gemini_usage(counts)}
    return [*events, _sse(last)]


def stream(provider: str, counts: Reported | None, **script: Any) -> Script:
    return Script(chunks=stream_events(provider, counts), content_type=SSE, **script)


# ── reading what the gateway recorded ─────────────────────────────────────────
def decimal_json(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return json.loads(response.text, parse_float=Decimal)


def fetch_events(gw: RunningGateway, tenant: SeededTenant) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{gw.url}/v1/tenant/usage/events", params={"limit": 100}, headers=tenant.headers("admin")
    )
    return decimal_json(response)["data"]


def usage_events(gw: RunningGateway, tenant: SeededTenant, expected: int) -> list[dict[str, Any]]:
    """The tenant's events (newest first) once ``expected`` are written, after
    checking that no other is on its way: the recorder holds none, and a few more
    flushes add none."""
    deadline = time.monotonic() + 10
    events = fetch_events(gw, tenant)
    while len(events) < expected and time.monotonic() < deadline:
        time.sleep(FLUSH / 2)
        events = fetch_events(gw, tenant)
    recorder = gw.gateway.usage.recorder
    while recorder.pending and time.monotonic() < deadline:
        time.sleep(FLUSH / 2)
    time.sleep(FLUSH * 4)  # an event recorded twice would be written by now
    events = fetch_events(gw, tenant)
    assert len(events) == expected, [(e["status"], e["usage_source"]) for e in events]
    return events


def only_event(gw: RunningGateway, tenant: SeededTenant) -> dict[str, Any]:
    return usage_events(gw, tenant, 1)[0]


def sse_data(raw: str) -> list[Any]:
    """The decoded ``data:`` payloads of an event stream (``[DONE]`` as a str)."""
    payloads: list[Any] = []
    for line in raw.splitlines():
        if line.startswith("data:"):
            data = line[5:].strip()
            payloads.append(data if data == "[DONE]" else json.loads(data))
    return payloads


def text_of(payloads: list[Any]) -> str:
    return "".join(
        choice["delta"].get("content") or ""
        for payload in payloads if isinstance(payload, dict)
        for choice in payload.get("choices") or []
    )
