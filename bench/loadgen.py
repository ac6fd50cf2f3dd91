"""A lean closed-loop HTTP/1.1 load generator: ``concurrency`` keep-alive connections,
each sending the next request as soon as the last answer is complete.

It is the fallback when wrk is absent, and the soak's client. Raw asyncio protocol
with httptools (no HTTP client library in the way), so one core drives thousands of
calls per second. A call counts as an error unless it answers 200 and, for a stream,
ends with ``data: [DONE]`` (a stream cut short or ended by an error event is an error).
Per successful call it also records the time to the first byte of the answer's body
(``ttfb_p50_ms``: for a stream, its first event).

Run for a time (``duration``) or for a number of calls (``total``), whichever the
caller gives; loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httptools

DONE = b"data: [DONE]"


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)  # seconds, successful calls
    ttfbs: list[float] = field(default_factory=list)  # seconds to the first body byte, same calls
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0

    def fail(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1

    def percentile_ms(self, q: float, of: list[float] | None = None) -> float | None:
        values = self.latencies if of is None else of
        if not values:
            return None
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000

    def summary(self) -> dict:
        calls = len(self.latencies) + self.errors
        return {
            "requests": calls,
            "errors": self.errors,
            "error_kinds": self.error_kinds,
            "duration_s": round(self.elapsed, 3),
            "rps": round(calls / self.elapsed, 1) if self.elapsed else 0.0,
            "p50_ms": _round(self.percentile_ms(50)),
            "p99_ms": _round(self.percentile_ms(99)),
            "ttfb_p50_ms": _round(self.percentile_ms(50, self.ttfbs)),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def build_request(url: str, body: bytes, headers: dict[str, str]) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    if parts.hostname != "127.0.0.1":
        raise ValueError("load is only ever sent to 127.0.0.1")
    lines = [
        f"POST {parts.path or '/'} HTTP/1.1",
        f"Host: 127.0.0.1:{parts.port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return parts.hostname, parts.port or 80, ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Connection(asyncio.Protocol):
    """One keep-alive connection; ``call()`` sends a request and waits for its answer."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future | None = None
        self.tail = b""
        self.first_body_at: float | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._finish(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._finish(exc or ConnectionResetError("closed by the server"))

    def on_message_begin(self) -> None:
        self.tail = b""
        self.first_body_at = None

    def on_body(self, body: bytes) -> None:
        if self.first_body_at is None:
            self.first_body_at = time.perf_counter()
        self.tail = (self.tail + body)[-64:]  # enough to see the last event

    def on_message_complete(self) -> None:
        self._finish(None)

    def _finish(self, exc: Exception | None) -> None:
        if self.waiter is None or self.waiter.done():
            return
        if exc is None:
            parser = self.parser
            self.waiter.set_result(
                (parser.get_status_code(), self.tail, parser.should_keep_alive())
            )
        else:
            self.waiter.set_exception(exc)

    async def call(self, request: bytes, timeout: float) -> tuple[int, bytes, bool]:
        loop = asyncio.get_running_loop()
        self.waiter = loop.create_future()
        # A timer, not wait_for: no extra task per call, and a hung call still ends.
        timer = loop.call_later(timeout, self._finish, TimeoutError("no complete answer in time"))
        self.transport.write(request)
        try:
            return await self.waiter
        finally:
            timer.cancel()


async def _worker(host, port, request, stream, outcome, stop, budget, timeout) -> None:
    loop = asyncio.get_running_loop()
    conn: Connection | None = None
    while not stop():
        if budget is not None:
            if budget[0] <= 0:
                return
            budget[0] -= 1
        started = time.perf_counter()
        try:
            if conn is None or conn.transport is None:
                _, conn = await loop.create_connection(Connection, host, port)
            status, tail, keep_alive = await conn.call(request, timeout)
        except (OSError, TimeoutError, httptools.HttpParserError) as exc:
            outcome.fail(type(exc).__name__)
            if conn is not None and conn.transport is not None:
                conn.transport.close()
            conn = None
            await asyncio.sleep(0.01)  # a refused connection must not spin
            continue
        if status != 200:
            outcome.fail(f"status_{status}")
        elif stream and not tail.rstrip().endswith(DONE):
            outcome.fail("stream_incomplete")
        else:
            outcome.latencies.append(time.perf_counter() - started)
            outcome.ttfbs.append((conn.first_body_at or time.perf_counter()) - started)
        if not keep_alive:
            conn.transport.close()
            conn = None
    if conn is not None and conn.transport is not None:
        conn.transport.close()


async def run_load(
    url: str,
    body: bytes,
    *,
    concurrency: int,
    headers: dict[str, str] | None = None,
    duration: float | None = None,
    total: int | None = None,
    stream: bool = False,
    call_timeout: float = 60.0,
) -> Outcome:
    """Closed loop at ``concurrency`` for ``duration`` seconds or ``total`` calls."""
    if (duration is None) == (total is None):
        raise ValueError("give duration or total")
    host, port, request = build_request(url, body, headers or {})
    outcome = Outcome()
    started = time.perf_counter()
    deadline = started + (duration or 0)
    stop = (lambda: time.perf_counter() >= deadline) if duration else (lambda: False)
    budget = [total] if total is not None else None
    await asyncio.gather(
        *(
            _worker(host, port, request, stream, outcome, stop, budget, call_timeout)
            for _ in range(concurrency)
        )
    )
    outcome.elapsed = time.perf_counter() - started
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--body", required=True, help="the JSON request body")
    parser.add_argument("--header", action="append", default=[], help="Name: value")
    parser.add_argument("-c", "--concurrency", type=int, default=16)
    parser.add_argument("-d", "--duration", type=float, default=None)
    parser.add_argument("-n", "--total", type=int, default=None)
    parser.add_argument("--stream", action="store_true")
    args = parser.parse_args()
    headers = dict(h.split(":", 1) for h in args.header)
    headers = {name.strip(): value.strip() for name, value in headers.items()}
    import uvloop

    outcome = uvloop.run(
        run_load(
            args.url, args.body.encode(), concurrency=args.concurrency, headers=headers,
            duration=args.duration, total=args.total, stream=args.stream,
        )
    )
    print(json.dumps(outcome.summary()))


if __name__ == "__main__":
    main()
