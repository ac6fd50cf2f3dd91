"""The floor: the least a FastAPI proxy can do — read the body, parse it once (as any
gateway must, to route), forward it over one pooled ``httpx.AsyncClient`` and copy
the answer or stream back. No auth, no database, no logging.

    python bench/passthrough.py --port 9002 --upstream http://127.0.0.1:9001 [--transport aiohttp]

``--transport aiohttp`` keeps the httpx API on aiohttp's connection pool
(``httpx_aiohttp.AiohttpTransport``); the default is httpx's own transport.
"""

from __future__ import annotations

import argparse
import os

import httpx
import orjson
import uvicorn
from fastapi import FastAPI, Request
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse


def build_transport(name: str) -> httpx.AsyncBaseTransport:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    if name == "aiohttp":
        from httpx_aiohttp import AiohttpTransport

        return AiohttpTransport(limits=limits, trust_env=False)
    return httpx.AsyncHTTPTransport(limits=limits, trust_env=False)


def create_app(upstream: str, transport: str) -> FastAPI:
    client = httpx.AsyncClient(base_url=upstream, transport=build_transport(transport), timeout=60)
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        raw = await request.body()
        body = orjson.loads(raw)
        upstream_request = client.build_request(
            "POST", "/v1/chat/completions", content=raw,
            headers={"content-type": "application/json", "authorization": "Bearer sk-bench"},
        )
        answer = await client.send(upstream_request, stream=bool(body.get("stream")))
        if body.get("stream"):
            return StreamingResponse(
                answer.aiter_raw(), status_code=answer.status_code,
                media_type="text/event-stream", background=BackgroundTask(answer.aclose),
            )
        return Response(answer.content, answer.status_code, media_type="application/json")

    return app


def app_from_env() -> FastAPI:
    """The factory each uvicorn worker calls (workers are new processes: env, not args)."""
    return create_app(os.environ["BENCH_UPSTREAM"], os.environ["BENCH_TRANSPORT"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--transport", choices=("httpx", "aiohttp"), default="httpx")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    os.environ.update(BENCH_UPSTREAM=args.upstream, BENCH_TRANSPORT=args.transport)
    # The same server options as ``modelgate serve``: uvloop, httptools, no access log.
    uvicorn.run(
        "passthrough:app_from_env", factory=True, app_dir=os.path.dirname(__file__),
        host="127.0.0.1", port=args.port, workers=args.workers, loop="uvloop",
        http="httptools", log_level="warning", access_log=False, server_header=False,
    )


if __name__ == "__main__":
    main()
