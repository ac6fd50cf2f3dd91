"""A loopback fake of the three provider APIs: OpenAI (and compatibles), Anthropic
Messages and Gemini, served by a real uvicorn server in a thread.

By default it answers like the real APIs (streams replay the golden recordings
of tests/providers/fixtures). A test scripts a fault with ``fake.next(...)``;
every request is recorded (path, query, headers, JSON body) for assertions.
Answers that lose their client, while streaming or while holding back their
headers, are counted in ``disconnects``; ``active`` is how many are in flight. A
scripted ``cut`` drops the connection mid-stream, as a crashing upstream would.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import uvicorn

from tests.support import free_port

FIXTURES = Path(__file__).parent.parent / "providers" / "fixtures"


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any


@dataclass
class Script:
    """What to answer next: a status and body, or a stream of raw chunks."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[bytes] | None = None  # a stream: sent one by one
    delay: float = 0.0  # before the answer
    hang_after: bool = False  # after the chunks, stay open (until the client leaves)
    cut: bool = False  # after the chunks, drop the connection (no end of the chunked body)


class _CutConnection(Exception):
    """Raised after the response started: uvicorn then closes the connection as is."""


class _QuietCuts(logging.Filter):
    # A scripted cut is not an error of the fake; keep its traceback out of the logs.
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], _CutConnection))


logging.getLogger("uvicorn.error").addFilter(_QuietCuts())


def json_script(obj: Any, status: int = 200, **headers: str) -> Script:
    return Script(status=status, body=orjson.dumps(obj), headers=headers)


def events_of(name: str) -> list[bytes]:
    """A recorded stream, cut at its event boundaries."""
    raw = (FIXTURES / name).read_bytes().replace(b"\r\n", b"\n")
    return [part + b"\n\n" for part in raw.split(b"\n\n") if part.strip()]


def openai_answer(model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1_751_234_567,
        "model": model + "-2024-08-06",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello from OpenAI."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13},
    }


ANTHROPIC_ANSWER = {
    "id": "msg_fake",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [
        {"type": "text", "text": "Let me look."},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
    ],
    "stop_reason": "tool_use",
    "usage": {"input_tokens": 20, "output_tokens": 11},
}

GEMINI_ANSWER = {
    "candidates": [
        {
            "content": {"role": "model", "parts": [{"text": "Hello from Gemini."}]},
            "finishReason": "STOP",
            "index": 0,
        }
    ],
    "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 4, "totalTokenCount": 9},
}


# Embeddings: vectors whose values are exact in float32 (input index + j/8), so a
# test can compare floats with base64 bytes exactly; this many by default.
FAKE_EMBEDDING_DIMENSIONS = 8


def fake_vector(index: int, dimensions: int) -> list[float]:
    return [index + j / 8 for j in range(dimensions)]


def openai_embeddings_answer(body: Any) -> dict[str, Any]:
    """OpenAI's answer: one vector per input (a string, strings, token arrays),
    ``dimensions`` long, base64 (float32, little-endian) when asked, as OpenAI does."""
    body = body if isinstance(body, dict) else {}
    raw = body.get("input")
    if isinstance(raw, str) or (isinstance(raw, list) and raw and isinstance(raw[0], int)):
        inputs: list[Any] = [raw]
    else:
        inputs = raw if isinstance(raw, list) else []
    dimensions = body.get("dimensions") or FAKE_EMBEDDING_DIMENSIONS
    data = []
    for i in range(len(inputs)):
        vector: Any = fake_vector(i, dimensions)
        if body.get("encoding_format") == "base64":
            vector = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()
        data.append({"object": "embedding", "index": i, "embedding": vector})
    return {
        "object": "list",
        "data": data,
        "model": str(body.get("model", "?")) + "-v3",
        "usage": {"prompt_tokens": 3 * len(inputs), "total_tokens": 3 * len(inputs)},
    }


def gemini_embeddings_answer(body: Any) -> dict[str, Any]:
    """Gemini's batchEmbedContents answer: ``{"embeddings": [{"values": [...]}]}``,
    one per request, ``outputDimensionality`` long; no token counts (as Gemini)."""
    requests = body.get("requests", []) if isinstance(body, dict) else []
    return {
        "embeddings": [
            {"values": fake_vector(i, r.get("outputDimensionality") or FAKE_EMBEDDING_DIMENSIONS)}
            for i, r in enumerate(requests)
        ]
    }


class FakeUpstream:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.disconnects = 0
        self.active = 0  # requests being answered now
        self._scripts: list[Script] = []
        self._lock = threading.Lock()
        self.url = ""

    def next(self, *scripts: Script) -> None:
        with self._lock:
            self._scripts.extend(scripts)

    def reset(self) -> None:
        with self._lock:
            self._scripts.clear()
            self.requests.clear()
            self.disconnects = 0

    @property
    def last(self) -> Recorded:
        return self.requests[-1]

    def _default(self, path: str, body: Any) -> Script:
        stream = isinstance(body, dict) and body.get("stream") is True
        tools = isinstance(body, dict) and bool(body.get("tools"))
        if path.endswith("/chat/completions"):
            if stream:
                return Script(chunks=events_of("openai_tools.sse" if tools else "openai_text.sse"),
                              content_type="text/event-stream")
            return json_script(openai_answer(body.get("model", "?")))
        if path == "/v1/messages":
            if stream:
                return Script(chunks=events_of("anthropic_tools.sse" if tools else "anthropic_text.sse"),
                              content_type="text/event-stream")
            return json_script(ANTHROPIC_ANSWER)
        if path.endswith(":streamGenerateContent"):
            return Script(chunks=events_of("google_tools.sse" if tools else "google_text.sse"),
                          content_type="text/event-stream")
        if path.endswith(":generateContent"):
            return json_script(GEMINI_ANSWER)
        if path.endswith("/embeddings"):
            return json_script(openai_embeddings_answer(body))
        if path.endswith(":batchEmbedContents"):
            return json_script(gemini_embeddings_answer(body))
        return json_script({"error": {"message": "no such path"}}, 404)

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                while (message := await receive())["type"] != "lifespan.shutdown":
                    if message["type"] == "lifespan.startup":
                        await send({"type": "lifespan.startup.complete"})
                await send({"type": "lifespan.shutdown.complete"})
            return
        with self._lock:
            self.active += 1
        try:
            await self._answer(scope, receive, send)
        finally:
            with self._lock:
                self.active -= 1

    def _count_disconnect(self) -> None:
        with self._lock:
            self.disconnects += 1

    async def _answer(self, scope: dict, receive: Callable, send: Callable) -> None:
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = raw
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        with self._lock:
            self.requests.append(
                Recorded(scope["method"], scope["path"], scope["query_string"].decode(), headers, body)
            )
            script = self._scripts.pop(0) if self._scripts else None
        script = script or self._default(scope["path"], body)
        if script.delay and await self._left_during(script.delay, receive):
            self._count_disconnect()  # the client gave up waiting for our headers
            return
        response_headers = [(b"content-type", script.content_type.encode())]
        response_headers += [(k.encode(), v.encode()) for k, v in script.headers.items()]
        await send({"type": "http.response.start", "status": script.status, "headers": response_headers})
        if script.chunks is None:
            await send({"type": "http.response.body", "body": script.body})
            return
        await self._stream(script, receive, send)

    @staticmethod
    async def _left_during(seconds: float, receive: Callable) -> bool:
        """Wait ``seconds``; True as soon as the client disconnects instead."""

        async def disconnected() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        try:
            await asyncio.wait_for(disconnected(), timeout=seconds)
        except asyncio.TimeoutError:
            return False
        return True

    async def _stream(self, script: Script, receive: Callable, send: Callable) -> None:
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.create_task(watch())
        completed = False
        try:
            for chunk in script.chunks or []:
                if gone.is_set():
                    break
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await asyncio.sleep(0)
            if script.hang_after:
                await asyncio.wait_for(gone.wait(), timeout=60)
            if script.cut and not gone.is_set():
                completed = True  # we end it, on purpose: not the client leaving
                raise _CutConnection
            if not gone.is_set():
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                completed = True
        except (OSError, asyncio.TimeoutError):
            pass
        finally:
            if not completed:
                self._count_disconnect()
            watcher.cancel()


@contextmanager
def run_fake_upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream()
    port = free_port()
    config = uvicorn.Config(fake, host="127.0.0.1", port=port, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the fake upstream did not start")
        time.sleep(0.01)
    fake.url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(timeout=10)
