"""Noticing a departed client at once: before the answer starts, and during a stream.

Starlette's StreamingResponse learns of a disconnect only when its next write
fails, so an idle upstream would be kept open until it spoke again. Here the
request's own task does the work (the upstream call, or relaying the stream)
while one watcher task waits for ``http.disconnect`` and, if it comes first,
cancels the request's task; the stream is then closed, which closes the upstream
connection. One extra task per call, not two and an ``asyncio.wait``: this is on
every call's path.
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


class _ClientWatch:
    """Cancels the current task when the client disconnects; ``left`` says it did.

    The cancellation lands where that task is waiting, inside the work (it can wait
    nowhere else while the watch runs), and ``caught`` tells that cancellation from
    any other (a server shutting down), which must go on.
    """

    __slots__ = ("left", "_task", "_watcher")

    def __init__(self, receive: Receive) -> None:
        self.left = False
        self._task = asyncio.current_task()
        self._watcher = asyncio.get_running_loop().create_task(self._watch(receive))

    async def _watch(self, receive: Receive) -> None:
        await _disconnected(receive)
        self.left = True
        self._task.cancel()

    def caught(self) -> bool:
        """In ``except CancelledError``: True (and the cancellation taken back) when
        it was ours; False when it came from elsewhere and must propagate."""
        if not self.left:
            return False
        self._task.uncancel()
        return True

    def stop(self) -> None:
        self._watcher.cancel()


async def unless_disconnected(receive: Receive, work: Awaitable[T]) -> T:
    """Await ``work``; if the client leaves first, cancel it (closing the upstream
    request it holds) and raise ClientClosedRequest."""
    watch = _ClientWatch(receive)
    try:
        return await work
    except asyncio.CancelledError:
        if not watch.caught():
            raise
        raise ClientClosedRequest("The client closed the connection.") from None
    finally:
        watch.stop()


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

        watch = _ClientWatch(receive)
        client_left = True  # unless the relay is seen to finish
        try:
            await relay()
            client_left = False
        except asyncio.CancelledError:
            if not watch.caught():
                raise
        except OSError:
            pass  # a write to a departed client: that is the disconnect, not an error of ours
        finally:
            watch.stop()
            try:
                await self.stream.aclose()  # closes the upstream, whatever happened above
            finally:
                if self.on_close is not None:
                    self.on_close(client_left)
