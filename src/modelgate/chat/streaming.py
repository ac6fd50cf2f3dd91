"""Noticing a departed client at once: before the answer starts, and during a stream.

Starlette's StreamingResponse learns of a disconnect only when its next write
fails, so an idle upstream would be kept open until it spoke again. Here one
task relays the stream while another waits for ``http.disconnect``; whichever
ends first cancels the other, and the stream is closed, which closes the
upstream connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from modelgate.errors import ClientClosedRequest
from modelgate.providers.base import PrimedStream

T = TypeVar("T")


async def _disconnected(receive: Receive) -> None:
    # The request body has been read whole, so the next message can only be this.
    while (await receive())["type"] != "http.disconnect":
        pass


async def unless_disconnected(receive: Receive, work: Awaitable[T]) -> T:
    """Await ``work``; if the client leaves first, cancel it (closing the upstream
    request it holds) and raise ClientClosedRequest."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.create_task(_disconnected(receive))
    try:
        await asyncio.wait((task, watcher), return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not task.done():
            task.cancel()
    if task.cancelled() or not task.done():
        with contextlib.suppress(asyncio.CancelledError):
            await task
        raise ClientClosedRequest("The client closed the connection.")
    return task.result()


class EventStreamResponse(Response):
    """A Response (so FastAPI returns it as is) with its own ASGI call: no length, no buffering."""

    def __init__(
        self,
        stream: PrimedStream,
        headers: dict[str, str],
        *,
        on_close: Callable[[bool], None] | None = None,
    ) -> None:
        """``on_close(client_left)`` runs once the stream is over, however it ended."""
        # Response.__init__ would add a Content-Length for an empty body; set what it sets.
        self.status_code = 200
        self.background = None
        self.body = b""
        headers = {
            **headers,
            "content-type": "text/event-stream; charset=utf-8",
            "cache-control": "no-cache",
            "x-accel-buffering": "no",
        }
        self.raw_headers = [(k.lower().encode(), v.encode("latin-1")) for k, v in headers.items()]
        self.stream = stream
        self.on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def relay() -> None:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            async for chunk in self.stream:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        tasks = [asyncio.create_task(relay()), asyncio.create_task(_disconnected(receive))]
        client_left = True  # unless the relay is seen to finish
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            relay_task = tasks[0]
            client_left = not (
                relay_task.done() and not relay_task.cancelled() and relay_task.exception() is None
            )
        finally:
            try:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    # A write to a departed client fails with OSError: that is the
                    # disconnect, not an error of ours.
                    with contextlib.suppress(asyncio.CancelledError, OSError):
                        await task
            finally:
                try:
                    await self.stream.aclose()  # closes the upstream, whatever happened above
                finally:
                    if self.on_close is not None:
                        self.on_close(client_left)
