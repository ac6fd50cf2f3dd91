"""What a hostile tenant points its base_url at: an endpoint that holds every
connection open and trickles, and a DNS server that never answers.

``TrickleEndpoint`` is a raw asyncio HTTP/1.1 server in a thread of its own (its
answers must be slower than any framework would let them be). By the last user
message of a request it:

- ``"fail"``  answers 500 at once;
- ``"hang"``  reads the request and never answers (no headers);
- otherwise   answers 200 with one OpenAI chunk event, then an SSE comment byte
              every ``interval`` seconds until the client or the server leaves
              (a plain call reads that as a body that never ends).

``open`` counts the connections it holds now, ``accepted`` all it took.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import orjson

from tests.fakes.upstream import events_of

FIRST_EVENT = events_of("openai_text.sse")[1]  # a chunk with content ("Hello")


class TrickleEndpoint:
    def __init__(self, host: str, interval: float) -> None:
        self.host = host
        self.interval = interval
        self.port = 0
        self.open = 0
        self.accepted = 0
        self._lock = threading.Lock()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self.open += 1
            self.accepted += 1
        self._writers.add(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            body = orjson.loads(await reader.readexactly(length)) if length else {}
            said = body.get("messages", [{}])[-1].get("content", "")
            if said == "hang":
                await reader.read()  # until the client leaves
                return
            if said == "fail":
                writer.write(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 2\r\n\r\n{}")
                await writer.drain()
                return
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                b"transfer-encoding: chunked\r\n\r\n" + _chunk(FIRST_EVENT)
            )
            await writer.drain()
            while True:
                await asyncio.sleep(self.interval)
                writer.write(_chunk(b":\n"))
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(writer)
            with self._lock:
                self.open -= 1
            writer.close()

    def start(self) -> None:
        ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        assert ready.wait(5), "the trickle endpoint did not start"

    def stop(self) -> None:
        """Drop every connection mid-answer (the tenant's endpoint goes away) and stop."""
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self, ready: threading.Event) -> None:
        async def main() -> None:
            server = await asyncio.start_server(self._serve, self.host, 0)
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            while not self._stop.is_set():
                await asyncio.sleep(0.05)
            server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            await asyncio.sleep(0.1)

        asyncio.run(main())


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


@contextmanager
def trickle_endpoint(host: str = "127.0.0.2", interval: float = 0.5) -> Iterator[TrickleEndpoint]:
    endpoint = TrickleEndpoint(host, interval)
    endpoint.start()
    try:
        yield endpoint
    finally:
        endpoint.stop()


@contextmanager
def silent_nameserver() -> Iterator[tuple[str, socket.socket]]:
    """A UDP port on loopback that takes DNS queries and never answers: a stalled
    DNS server. Yields ``"127.0.0.1:port"`` and the socket (to read what came)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    try:
        yield f"127.0.0.1:{sock.getsockname()[1]}", sock
    finally:
        sock.close()


def queries_received(sock: socket.socket) -> int:
    count = 0
    with contextlib.suppress(BlockingIOError):
        while sock.recv(4096):
            count += 1
    return count
