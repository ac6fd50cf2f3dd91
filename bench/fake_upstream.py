"""A fake OpenAI ``/v1/chat/completions`` that costs next to nothing per call.

The benchmark measures the proxies, so the upstream must never be the bottleneck:
this is a raw asyncio protocol on uvloop with the httptools parser (what uvicorn
itself uses), answering from bytes built once at start. No ASGI, no JSON parsing:
a call streams when its body contains ``"stream": true``.

    python bench/fake_upstream.py --port 9001 [--latency-ms 20] [--chunks 10]

Answers: POST .../chat/completions → a chat.completion (JSON) or an SSE stream of
``--chunks`` chat.completion.chunk events then ``data: [DONE]``; anything else 404.
It binds 127.0.0.1 only and runs until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal

import httptools
import uvloop

MODEL = "gpt-5.5"
_STREAM_FLAG = re.compile(rb'"stream"\s*:\s*true')


def completion_body() -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1_751_234_567,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Hello from the fake upstream."},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 9, "completion_tokens": 7, "total_tokens": 16},
        },
        separators=(",", ":"),
    ).encode()


def stream_events(chunks: int) -> list[bytes]:
    """``chunks`` SSE events (the last one carries finish_reason and usage), then [DONE]."""
    events = []
    for index in range(chunks):
        last = index == chunks - 1
        chunk = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1_751_234_567,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "delta": {"content": f"tok{index} "} if not last else {},
                    "finish_reason": "stop" if last else None,
                }
            ],
        }
        if last:
            chunk["usage"] = {
                "prompt_tokens": 9, "completion_tokens": chunks, "total_tokens": 9 + chunks
            }
        events.append(b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    return events


def chunked(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class Answers:
    """Every response this server can send, as ready-made bytes."""

    def __init__(self, chunks: int) -> None:
        body = completion_body()
        self.json = (
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\n\r\n%s" % (len(body), body)
        )
        self.stream_head = (
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"
        )
        self.stream_events = [chunked(event) for event in stream_events(chunks)]
        self.stream_end = b"0\r\n\r\n"
        self.stream_whole = self.stream_head + b"".join(self.stream_events) + self.stream_end
        missing = b'{"error":{"message":"not found","type":"invalid_request_error"}}'
        self.not_found = (
            b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\n\r\n%s" % (len(missing), missing)
        )


class FakeUpstream(asyncio.Protocol):
    """One connection. httptools calls back as it parses; answers go out in order
    (a client that pipelines gets them in order, since each is written whole or
    scheduled with the same delay)."""

    def __init__(self, answers: Answers, latency: float, chunk_delay: float) -> None:
        self.answers = answers
        self.latency = latency
        self.chunk_delay = chunk_delay
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.body: list[bytes] = []
        self.loop = asyncio.get_running_loop()

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.url = b""
        self.body = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        path = self.url.split(b"?", 1)[0]
        if self.parser.get_method() != b"POST" or not path.endswith(b"/chat/completions"):
            self._send(self.answers.not_found)
            return
        streaming = _STREAM_FLAG.search(b"".join(self.body)) is not None
        if streaming and self.chunk_delay > 0:
            self.loop.create_task(self._slow_stream())
        elif streaming:
            self._later(self.answers.stream_whole)
        else:
            self._later(self.answers.json)

    def _later(self, data: bytes) -> None:
        if self.latency > 0:
            self.loop.call_later(self.latency, self._send, data)
        else:
            self._send(data)

    def _send(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    async def _slow_stream(self) -> None:
        await asyncio.sleep(self.latency)
        self._send(self.answers.stream_head)
        for event in self.answers.stream_events:
            await asyncio.sleep(self.chunk_delay)
            self._send(event)
        self._send(self.answers.stream_end)


async def serve(port: int, latency_ms: float, chunks: int, chunk_delay_ms: float) -> None:
    loop = asyncio.get_running_loop()
    answers = Answers(chunks)
    server = await loop.create_server(
        lambda: FakeUpstream(answers, latency_ms / 1000, chunk_delay_ms / 1000),
        host="127.0.0.1",
        port=port,
        backlog=1024,
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"fake upstream on http://127.0.0.1:{port}", flush=True)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay before each answer")
    parser.add_argument("--chunks", type=int, default=10, help="events per stream")
    parser.add_argument(
        "--chunk-delay-ms", type=float, default=0.0, help="pause between stream events"
    )
    args = parser.parse_args()
    uvloop.run(serve(args.port, args.latency_ms, args.chunks, args.chunk_delay_ms))


if __name__ == "__main__":
    main()
