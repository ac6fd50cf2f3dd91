"""The lean call routes (src/modelgate/lean_routes.py) answer exactly as FastAPI's
routes do: the same requests, sent to a gateway with the layer and to one without
it, get the same status, headers and body, errors and successes alike."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import orjson
from fastapi import FastAPI

from modelgate.lean_routes import LeanRoutes
from modelgate.middleware import GatewayMiddleware
from tests.chat.conftest import gateway_settings
from tests.fakes.upstream import run_fake_upstream
from tests.support import SeededTenant, run_gateway

CHAT = "/v1/chat/completions"
EMBEDDINGS = "/v1/embeddings"
CALLS = {
    CHAT: b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}',
    EMBEDDINGS: b'{"model": "text-embedding-3-small", "input": "hi"}',
}
# Set per request, or by the test server: never the same twice.
_VARYING = {"x-request-id", "date", "server"}
_PORT = re.compile(rb"127\.0\.0\.1:\d+")


def _chunked() -> Iterator[bytes]:
    for _ in range(8):
        yield b"x" * 512


def _requests(tenant: SeededTenant) -> Iterator[tuple[str, str, dict[str, str], object]]:
    write = {"authorization": f"Bearer {tenant.tokens['write']}"}
    for path, body in CALLS.items():
        # Bearer parsing: HTTPBearer's rules (scheme in any case, no scheme is no token).
        for authorization in (None, "Basic abc", "Bearer", "Bearer nope", "mg_abc",
                              f"bearer {tenant.tokens['write']}",
                              f"BEARER   {tenant.tokens['write']}",
                              f"Bearer {tenant.tokens['read']}",
                              f"Bearer {tenant.tokens['admin']}"):
            yield "POST", path, {"authorization": authorization} if authorization else {}, body
        yield "POST", path, write, body  # a real call, through the fake upstream
        yield "POST", path, write, body.replace(b'"hi"}', b'"hi"}], "stream": true}'
                                                if path == CHAT else b'"hi"}')
        yield "POST", path, write, body.replace(b"gpt-4o-mini", b"no-such-model")
        yield "POST", path + "?stream=true&x=1", write, body
        yield "POST", path, {**write, "content-type": "text/plain"}, body
        yield "POST", path, {**write, "ic-api-version": "2026-05-01"}, body
        yield "POST", path, {**write, "ic-api-version": "1999-01-01"}, body
        for bad in (b"", b"{nope", b"[1, 2]", b'{"model": 3}', b'"\xff\xfe"', b"x" * 4096):
            yield "POST", path, write, bad
        yield "POST", path, write, _chunked  # over the limit, without a Content-Length
        yield "POST", path, {}, _chunked  # the token is checked before the body is read
        yield "POST", path + "/", write, body  # FastAPI's redirect, as before
        yield "POST", path.upper(), write, body
        for method in ("GET", "HEAD", "OPTIONS", "PUT", "DELETE"):
            yield method, path, write, None


def _answer(response: httpx.Response) -> tuple[int, dict[str, str], object]:
    headers = {
        name: _PORT.sub(b"HOST", value.encode()).decode()
        for name, value in response.headers.items()
        if name not in _VARYING
    }
    body: object = response.content
    if response.content and response.headers["content-type"].startswith("application/json"):
        body = orjson.loads(response.content)
        if isinstance(body, dict):
            body.pop("id", None)  # the fake upstream's answers carry their own id and time
            body.pop("created", None)
    elif response.headers.get("content-type", "").startswith("text/event-stream"):
        body = [line for line in response.content.split(b"\n") if line.startswith(b"data: [DONE]")]
    return response.status_code, headers, body


def test_lean_routes_answer_as_fastapi_routes(database_url: str, tenant: SeededTenant) -> None:
    answers: dict[bool, list[tuple[tuple, tuple]]] = {}
    with run_fake_upstream() as fake:
        for lean in (True, False):
            settings = {**gateway_settings(fake), "max_body_bytes": 1024}
            with run_gateway(database_url=database_url, lean_routes=lean, **settings) as gw:
                app: FastAPI = gw.app  # type: ignore[assignment]
                layers = [middleware.cls for middleware in app.user_middleware]
                assert layers == [GatewayMiddleware]
                # The lean layer is outermost, in front of FastAPI's own middleware.
                assert isinstance(app.middleware_stack, LeanRoutes) is lean
                answers[lean] = []
                with httpx.Client(base_url=gw.url, follow_redirects=False, timeout=30) as client:
                    for method, path, headers, body in _requests(tenant):
                        content = body() if callable(body) else body
                        response = client.request(method, path, headers=headers, content=content)
                        case = (method, path, tuple(headers.items()), repr(body)[:60])
                        answers[lean].append((case, _answer(response)))
    assert len(answers[True]) == len(answers[False]) > 50
    statuses = {answer[0] for _, answer in answers[True]}
    assert {200, 307, 400, 401, 403, 404, 405, 413, 422} <= statuses, statuses
    for (case, lean_answer), (_, reference) in zip(answers[True], answers[False], strict=True):
        assert lean_answer == reference, case
