"""A server-sent-events response that notices a departed client at once.

Starlette's StreamingResponse learns of a disconnect only when its next write
fails, so an idle upstream would be kept open until it spoke again. Here one
task relays the stream while another waits for ``http.disconnect``; whichever
ends first cancels the other, and the stream is closed, which closes the
upstream connection.
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from modelgate.providers.base import PrimedStream


class EventStreamResponse(Response):
    media_type = "text/event-stream"

    def __init__(self, stream: PrimedStream, headers: dict[str, str]) -> None:
        super().__init__(
            content=None,
            headers={**headers, "cache-control": "no-cache", "x-accel-buffering": "no"},
        )
        self.stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": 200, "headers": self.raw_headers}
        )

        async def relay() -> None:
            async for chunk in self.stream:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        tasks = [asyncio.create_task(relay()), asyncio.create_task(watch())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                # A write to a departed client fails with OSError: that is the
                # disconnect, not an error of ours.
                with contextlib.suppress(asyncio.CancelledError, OSError):
                    await task
            await self.stream.aclose()
