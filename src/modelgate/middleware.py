"""The outermost layer of every request, as plain ASGI (no per-request objects).

It gives each request its id (echoed when the client sent a sane one), refuses
a request that a gateway sent (it carries the hop header that every upstream
call of ours carries: 508 ``loop_detected``, before auth or any database work,
so a base_url that leads back here costs one refused request, not a recursion),
checks the ``IC-Api-Version`` header, refuses bodies over the limit before they
are read whole, stamps ``X-Request-Id`` and ``IC-Api-Version`` on every
response, and writes the one access-log line.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
from collections.abc import Callable

import orjson
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelgate import api_version
from modelgate.errors import GatewayError, InvalidRequest, LoopDetected, PayloadTooLarge
from modelgate.logs import request_id_var, tenant_id_var
from modelgate.providers.registry import HOP_HEADER

access_log = logging.getLogger("modelgate.access")
error_log = logging.getLogger("modelgate.errors")
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_HOP_HEADER = HOP_HEADER.lower().encode("latin-1")  # ASGI header names are lower-case bytes


class BodyTooLarge(HTTPException):
    """Raised from ``receive``; an HTTPException so FastAPI's body parsing lets it through."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Request body exceeds the limit of {limit} bytes.")


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in headers:
        if key == name:
            return value
    return None


# Request ids come from a generator of their own, seeded once from os.urandom:
# code that seeds the global `random` (a test framework, a library) must not make
# ids repeat, and a forked worker reseeds it so that siblings do not share ids.
_ids = random.Random()
os.register_at_fork(after_in_child=_ids.seed)


class GatewayMiddleware:
    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int,
        render: Callable[[Exception], Response | None] | None = None,
    ) -> None:
        """``render``: the answer to an error ``app`` raised, as a route's exception
        handlers would give it (lean_routes.py, which has no router around it)."""
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = scope["headers"]
        sent_id = _header(headers, b"x-request-id")
        request_id = sent_id.decode("latin-1") if sent_id else ""
        if not _SANE_REQUEST_ID.match(request_id):
            # 128 random bits like uuid4().hex, without its os.urandom call per request:
            # a request id must be unique, not unguessable.
            request_id = f"req_{_ids.getrandbits(128):032x}"
        rid_token = request_id_var.set(request_id)
        tenant_token = tenant_id_var.set(None)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500
        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                version = state.get("api_version") or state.get("requested_api_version")
                extra = [
                    (b"x-request-id", request_id.encode()),
                    (b"ic-api-version", (version or api_version.LATEST).encode()),
                ]
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        try:
            error = self._check_request(headers, state)
            if error is not None:
                await _send_error(send_with_headers, error)
                return
            await self.app(scope, self._limited(receive), send_with_headers)
        except Exception as exc:
            await self._answer_error(exc, response_started, scope, receive, send_with_headers)
        finally:
            access_log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                },
            )
            tenant_id_var.reset(tenant_token)
            request_id_var.reset(rid_token)

    async def _answer_error(
        self, exc: Exception, response_started: bool, scope: Scope, receive: Receive, send: Send
    ) -> None:
        answer = self.render(exc) if self.render is not None else None
        if answer is not None:
            if response_started:  # Starlette's words, so that the logs read the same
                message = "Caught handled exception, but response already started."
                raise RuntimeError(message) from exc
            await answer(scope, receive, send)
            return
        if isinstance(exc, BodyTooLarge):
            if response_started:
                raise exc
            await _send_error(send, PayloadTooLarge(exc.detail))
            return
        # Last resort: a bug must not leak a stack trace or drop our headers.
        error_log.error("unhandled error: %s", type(exc).__name__, exc_info=exc)
        if response_started:
            raise exc
        await _send_error(send, GatewayError("The gateway failed to handle this request."))

    def _check_request(
        self, headers: list[tuple[bytes, bytes]], state: dict
    ) -> GatewayError | None:
        if _header(headers, _HOP_HEADER) is not None:
            return LoopDetected(
                "This request was sent by a gateway (it carries the "
                f"{HOP_HEADER} header): a provider key's base_url points back at this "
                "gateway, which would call itself again and again. Point it at the provider."
            )
        requested = _header(headers, b"ic-api-version")
        if requested is not None:
            try:
                state["requested_api_version"] = api_version.validate(requested.decode("latin-1"))
            except GatewayError as error:
                return error
        length = _header(headers, b"content-length")
        if length is not None:
            try:
                too_large = int(length) > self.max_body_bytes
            except ValueError:
                return InvalidRequest("Invalid Content-Length header.")
            if too_large:
                return PayloadTooLarge(
                    f"Request body exceeds the limit of {self.max_body_bytes} bytes."
                )
        return None

    def _limited(self, receive: Receive) -> Receive:
        """Count body bytes as they arrive: a chunked body over the limit stops here too."""
        limit = self.max_body_bytes
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        return limited_receive


async def _send_error(send: Send, error: GatewayError) -> None:
    body = orjson.dumps(error.body())
    await send(
        {
            "type": "http.response.start",
            "status": error.status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-should-retry", b"true" if error.retryable else b"false"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
