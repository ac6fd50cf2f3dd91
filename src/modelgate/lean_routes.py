"""The call routes, served without FastAPI's router around them.

``POST /v1/chat/completions`` and ``POST /v1/embeddings`` are what a gateway is
for, and FastAPI and Starlette around the endpoint cost about a third of a chat
call's CPU (routing, dependency solving, a Request object, the exception
middleware, and FastAPI's own outer layers: ServerErrorMiddleware, its exception
telemetry and its body limit, each wrapping every ``send``). This layer is the
outermost of the application's stack (``GatewayAPI.build_middleware_stack``): it
answers those two exact method-and-path pairs through a GatewayMiddleware of its
own (which still gives the request id, refuses loops, checks the version header,
limits the body and writes the access log), with the same pieces FastAPI's
endpoints use: the same bearer reading
(HTTPBearer's), authentication and scope rule (deps.py), the same call
(chat/router.py ``serve_chat``, embeddings/router.py ``serve_embeddings``) and
the same error answers (http_errors.render, given to that GatewayMiddleware).
Everything else, including these paths with another method, a trailing slash or a
root path, goes to FastAPI's stack unchanged, and the FastAPI routes stay
registered so that the OpenAPI document describes both calls. Nothing is lost by
skipping FastAPI's outer layers here: GatewayMiddleware answers every exception
that can still be answered, so ServerErrorMiddleware would only re-raise, and the
telemetry and FastAPI's body limit are off.

HTTP itself is still parsed by uvicorn (httptools or h11): this is plain ASGI.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from fastapi.security.utils import get_authorization_scheme_param
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from modelgate import http_errors
from modelgate.chat.router import serve_chat
from modelgate.deps import authenticate_request, require_scope
from modelgate.embeddings.router import serve_embeddings
from modelgate.middleware import GatewayMiddleware
from modelgate.routing.call import BodyReader
from modelgate.state import Gateway
from modelgate.tenants.auth import Principal
from modelgate.tenants.tokens import Scope as TokenScope

Call = Callable[[BodyReader, Receive, Principal, Gateway], Awaitable[Response]]

# The exact paths FastAPI's routes match (Starlette compiles them to ^path$).
CALLS: dict[str, Call] = {
    "/v1/chat/completions": serve_chat,
    "/v1/embeddings": serve_embeddings,
}


def _authorization(headers: list[tuple[bytes, bytes]]) -> str | None:
    """What ``current_principal`` passes to ``authenticate``, read as HTTPBearer
    (auto_error=False) reads it: the first Authorization header; a scheme other than
    Bearer (in any case), or no credentials, is no header at all (our 401)."""
    for key, value in headers:
        if key == b"authorization":
            authorization = value.decode("latin-1")
            scheme, credentials = get_authorization_scheme_param(authorization)
            if not (authorization and scheme and credentials) or scheme.lower() != "bearer":
                return None
            return f"Bearer {credentials}"
    return None


def body_reader(receive: Receive) -> BodyReader:
    """The request body, read as Starlette's ``Request.body`` reads it: a client gone
    before the end is ClientDisconnect; the middleware's limited ``receive`` raises
    BodyTooLarge, which is answered 413 like every other route's."""

    async def read() -> bytes:
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
            elif message["type"] == "http.disconnect":
                raise ClientDisconnect()

    return read


class GatewayAPI(FastAPI):
    """FastAPI with the lean call routes in front of its whole middleware stack."""

    # Set by create_app; None leaves FastAPI's stack as it is (the reference in tests).
    lean_max_body_bytes: int | None = None

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        if self.lean_max_body_bytes is None:
            return stack
        return LeanRoutes(stack, fastapi_app=self, max_body_bytes=self.lean_max_body_bytes)


class LeanRoutes:
    """The outermost ASGI layer (see the module's docstring)."""

    def __init__(self, app: ASGIApp, *, fastapi_app: FastAPI, max_body_bytes: int) -> None:
        self.app = app
        self.fastapi_app = fastapi_app  # its state holds the Gateway, set by the lifespan
        self.calls = GatewayMiddleware(
            self._answer, max_body_bytes=max_body_bytes, render=http_errors.render
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] in CALLS
            and not scope.get("root_path")
        ):
            await self.calls(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        # An error raised here is answered by the GatewayMiddleware around it, with
        # http_errors.render, as Starlette's exception handling answers it around a route.
        gateway: Gateway = self.fastapi_app.state.gateway
        principal = await authenticate_request(_authorization(scope["headers"]), gateway, scope)
        require_scope(principal, TokenScope.RUNS_WRITE)
        response = await CALLS[scope["path"]](body_reader(receive), receive, principal, gateway)
        await response(scope, receive, send)
