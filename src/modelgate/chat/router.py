"""POST /v1/chat/completions: OpenAI's request in, OpenAI's answer or stream out.

The body is read raw and parsed once with orjson: the OpenAI-compatible
passthrough forwards that dict, and the translating adapters use the validated
model. The model is looked up among the tenant's configs and groups first (routing/),
then in the catalog; a group's members are tried in turn. Errors before the first
content of a stream are ordinary HTTP errors (see providers/holdback.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from operator import attrgetter
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response
from starlette.types import Receive

from modelgate.chat.schemas import ChatCompletionRequest
from modelgate.chat.service import CHAT, PreparedCall, prepare_call
from modelgate.chat.streaming import unless_disconnected
from modelgate.deps import GatewayDep, WritePrincipal
from modelgate.metering.meter import CallMeter
from modelgate.metering.stream_tap import metered
from modelgate.providers.base import PrimedStream, prime_stream
from modelgate.routing.call import (
    BodyReader,
    CallEndpoint,
    Streams,
    route_docs,
    serve_call,
    start_attempt,
)
from modelgate.routing.names import Plan
from modelgate.routing.rename import renamed_chunks
from modelgate.state import Gateway
from modelgate.tenants.auth import Principal

router = APIRouter(tags=["chat"])

_REQUEST_SCHEMA = ChatCompletionRequest.model_json_schema(ref_template="#/components/schemas/{model}")
# The request model's nested schemas; ``app.py`` adds them to the OpenAPI components.
SCHEMA_COMPONENTS: dict[str, Any] = _REQUEST_SCHEMA.pop("$defs", {})


@router.post(
    "/v1/chat/completions",
    **route_docs(
        _REQUEST_SCHEMA,
        "A chat.completion, or a text/event-stream of chat.completion.chunk.",
    ),
)
async def chat_completions(
    request: Request, principal: WritePrincipal, gateway: GatewayDep
) -> Response:
    # Served by lean_routes.py in the running app; this route describes it in the
    # OpenAPI document and serves it when the app is used without that layer.
    return await serve_chat(request.body, request.receive, principal, gateway)


async def serve_chat(
    read_body: BodyReader, receive: Receive, principal: Principal, gateway: Gateway
) -> Response:
    """The whole call, after authentication and the scope check: one usage event."""
    return await serve_call(_CHAT, read_body, receive, principal, gateway)


def _stream_opener(
    gateway: Gateway,
    principal: Principal,
    receive: Receive,
    meter: CallMeter,
    plan: Plan,
    chat: ChatCompletionRequest,
) -> Callable[[PreparedCall], Awaitable[PrimedStream]]:
    async def open_stream(call: PreparedCall) -> PrimedStream:
        slot = start_attempt(gateway, principal, meter, plan, call)
        try:
            chunks = metered(
                call.adapter.stream(call.request, call.body, call.target),
                meter,
                client_wants_usage=chat.include_usage,
            )
            if call.member.config is not None:
                chunks = renamed_chunks(chunks, call.target.model, call.member.name)
            if slot is not None:
                chunks = slot.held_through(chunks)  # the stream releases it when it closes
            # Held back until the first content: an error before it raises here.
            return await unless_disconnected(receive, prime_stream(chunks))
        except BaseException:
            if slot is not None:
                slot.release()  # the stream may not have started, so may not release it
            raise

    return open_stream


_CHAT: CallEndpoint[ChatCompletionRequest, PreparedCall] = CallEndpoint(
    name="chat",
    model_type=CHAT,
    schema=ChatCompletionRequest,
    prepare=prepare_call,
    streams=Streams(asked=attrgetter("stream"), opener=_stream_opener),
)
