"""Shared by the provider tests: targets with a canary key, scripted upstream
streams for respx, SSE parsing of what an adapter yields, and a raw loopback
HTTP server for what a mock transport cannot show (real timeouts, real closes).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from pydantic import SecretStr

from modelgate.chat.schemas import ChatCompletionRequest
from modelgate.providers.base import UpstreamTarget

FIXTURES = Path(__file__).parent / "fixtures"
CANARY = "sk-canary-7f3a9c1e5b2d4680aa11"

BASE_URLS = {
    "openai": "https://api.openai.test/v1",
    "anthropic": "https://api.anthropic.test",
    "google": "https://generativelanguage.googleapis.test",
}
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-sonnet-4-5", "google": "gemini-2.5-flash"}
PATHS = {
    "openai": "/chat/completions",
    "anthropic": "/v1/messages",
    "google": "/v1beta/models/gemini-2.5-flash:generateContent",
}
STREAM_PATHS = {**PATHS, "google": "/v1beta/models/gemini-2.5-flash:streamGenerateContent"}


def target(style: str, *, base_url: str | None = None, **overrides: Any) -> UpstreamTarget:
    values: dict[str, Any] = {
        "provider_id": style,
        "base_url": base_url or BASE_URLS[style],
        "api_key": SecretStr(CANARY),
        "model": MODELS[style],
    }
    values.update(overrides)
    return UpstreamTarget(**values)


def chat(body: dict[str, Any] | None = None, **fields: Any) -> tuple[ChatCompletionRequest, dict]:
    raw = body or {"model": "alias", "messages": [{"role": "user", "content": "Hi"}]}
    raw = {**raw, **fields}
    return ChatCompletionRequest.model_validate(raw), raw


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


class ScriptedStream(httpx.AsyncByteStream):
    """An upstream body: chunks (bytes, or seconds to sleep), then maybe an error."""

    def __init__(self, script: Sequence[bytes | float], raise_at_end: Exception | None = None):
        self.script = list(script)
        self.raise_at_end = raise_at_end
        self.closed = False
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for step in self.script:
            if isinstance(step, (int, float)):
                await asyncio.sleep(step)
            else:
                self.sent += 1
                yield step
        if self.raise_at_end is not None:
            raise self.raise_at_end

    async def aclose(self) -> None:
        self.closed = True


def sse_response(
    script: Sequence[bytes | float], *, raise_at_end: Exception | None = None, status: int = 200
) -> tuple[httpx.Response, ScriptedStream]:
    stream = ScriptedStream(script, raise_at_end)
    response = httpx.Response(status, headers={"content-type": "text/event-stream"}, stream=stream)
    return response, stream


def split_events(raw: bytes) -> list[bytes]:
    """A fixture file cut into its events, separators kept (as a network would)."""
    separator = b"\r\n\r\n" if b"\r\n\r\n" in raw else b"\n\n"
    return [part + separator for part in raw.split(separator) if part.strip()]


async def collect(stream: AsyncIterator[bytes]) -> list[bytes]:
    return [chunk async for chunk in stream]


def events(chunks: list[bytes]) -> list[Any]:
    """What we streamed, one item per event: a dict, or the string "[DONE]"."""
    out: list[Any] = []
    for chunk in chunks:
        assert chunk.startswith(b"data: ") and chunk.endswith(b"\n\n"), chunk
        payload = chunk[6:-2]
        out.append("[DONE]" if payload == b"[DONE]" else orjson.loads(payload))
    return out


def deltas(items: list[Any]) -> list[Any]:
    """The choices (delta, finish_reason) or the usage of each chunk, ids aside."""
    out: list[Any] = []
    for item in items:
        if item == "[DONE]" or "error" in item:
            out.append(item)
        elif item["choices"]:
            choice = item["choices"][0]
            out.append((choice["delta"], choice["finish_reason"]))
        else:
            out.append({"usage": item["usage"]})
    return out


def assert_no_secret(*things: Any) -> None:
    for thing in things:
        for text in (str(thing), repr(thing)):
            assert CANARY not in text
        if isinstance(thing, BaseException):
            assert CANARY not in str(getattr(thing, "headers", ""))


# ── a raw HTTP/1.1 server on loopback ─────────────────────────────────────────
@dataclass
class LoopbackServer:
    """Answers each request with ``head`` then ``body_steps`` (bytes, or seconds to
    wait), then holds the connection open; records when clients hang up."""

    head: bytes
    body_steps: list[bytes | float] = field(default_factory=list)
    disconnected: asyncio.Event = field(default_factory=asyncio.Event)
    requests: list[bytes] = field(default_factory=list)
    port: int = 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        answer: asyncio.Task[None] | None = None
        try:
            request = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in request.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            self.requests.append(request + await reader.readexactly(length))
            answer = asyncio.create_task(self._answer(writer))
            await reader.read()  # returns b"" when the client hangs up
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.disconnected.set()
            if answer is not None:
                answer.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                    await answer
            writer.close()

    async def _answer(self, writer: asyncio.StreamWriter) -> None:
        writer.write(self.head)
        for step in self.body_steps:
            if isinstance(step, (int, float)):
                await writer.drain()
                await asyncio.sleep(step)
            else:
                writer.write(step)
        await writer.drain()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[LoopbackServer]:
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        try:
            yield self
        finally:
            server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def chunked(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
)
