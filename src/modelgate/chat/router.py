"""POST /v1/chat/completions: OpenAI's request in, OpenAI's answer or stream out.

The body is read raw and parsed once with orjson: the OpenAI-compatible
passthrough forwards that dict, and the translating adapters use the validated
model. The model is looked up among the tenant's configs and groups first (routing/),
then in the catalog; a group's members are tried in turn. Errors before the first
content of a stream are ordinary HTTP errors (see providers/holdback.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.responses import Response
from starlette.types import Receive

from modelgate.chat.schemas import ChatCompletionRequest
from modelgate.chat.service import CHAT, PreparedCall, prepare_call
from modelgate.chat.streaming import EventStreamResponse, unless_disconnected
from modelgate.deps import GatewayDep, WritePrincipal
from modelgate.errors import (
    GatewayError,
    InvalidJSON,
    UpstreamError,
    UpstreamUnavailable,
    ValidationFailed,
)
from modelgate.metering.meter import CallMeter
from modelgate.metering.stream_tap import metered
from modelgate.providers.base import PrimedStream, prime_stream
from modelgate.providers.tenant_slots import Slot
from modelgate.routing.admission import Reservable, admit_plan
from modelgate.routing.failover import Served, call_members
from modelgate.routing.members import moving_on, prepare_all, ready, routing_headers, settle_meter
from modelgate.routing.names import Plan, plan_for
from modelgate.routing.rename import rename_answer, renamed_chunks
from modelgate.state import Gateway
from modelgate.tenants.auth import Principal

router = APIRouter(tags=["chat"])

# How a call reads its request body: Starlette's ``Request.body``, or lean_routes.py's.
BodyReader = Callable[[], Awaitable[bytes]]

_REQUEST_SCHEMA = ChatCompletionRequest.model_json_schema(ref_template="#/components/schemas/{model}")
# The request model's nested schemas; ``app.py`` adds them to the OpenAPI components.
SCHEMA_COMPONENTS: dict[str, Any] = _REQUEST_SCHEMA.pop("$defs", {})
_ERROR = {"description": "An error in the OpenAI shape."}


def parse_body(raw: bytes) -> tuple[ChatCompletionRequest, dict[str, Any]]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        # orjson's reason names the problem (a lone surrogate, say), never the content.
        raise InvalidJSON(f"The request body is not valid JSON: {exc.msg} (at byte {exc.pos}).") from None
    if not isinstance(body, dict):
        raise ValidationFailed("The request body must be a JSON object.")
    try:
        return ChatCompletionRequest.model_validate(body), body
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_input=False)) from None


@router.post(
    "/v1/chat/completions",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _REQUEST_SCHEMA}},
        }
    },
    responses={
        200: {"description": "A chat.completion, or a text/event-stream of chat.completion.chunk."},
        **{status: _ERROR for status in (400, 401, 403, 404, 410, 413, 422, 429, 502, 504)},
    },
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
    # Authenticated: from here on, exactly one usage event, whatever happens.
    meter = CallMeter.open(principal, endpoint="chat")
    try:
        return await _serve(read_body, receive, principal, gateway, meter)
    except BaseException as exc:
        if isinstance(exc, (UpstreamError, UpstreamUnavailable)):
            meter.refused()  # an error answer or no answer: the provider generated nothing
        gateway.usage.finish(meter, status_of(exc), refusal=getattr(exc, "reason", None))
        raise


async def _serve(
    read_body: BodyReader, receive: Receive, principal: Principal, gateway: Gateway,
    meter: CallMeter,
) -> Response:
    # Read inside the meter's call: a body over the limit or a client gone while
    # sending it is one usage event too.
    request_body = await read_body()
    chat, body = parse_body(request_body)
    meter.requested(body, stream=chat.stream)
    # The tenant's names first (one dict look-up when it has none), then the catalog.
    plan = plan_for(
        chat.model, await gateway.tenant_models.get(principal.tenant_id), model_type=CHAT
    )
    candidates = await prepare_all(
        plan,
        lambda member: prepare_call(gateway, principal, chat, body, member),
        tenant_id=principal.tenant_id,
    )
    members = ready(candidates)
    if members:
        settle_meter(meter, plan, members[0])
    elif plan.tenant_name is not None:
        meter.model = plan.tenant_name  # no member could be prepared: still the name called
    # The tenant's platform limits, once per call: a 429 here never reaches the upstream.
    meter.admission = await admit_plan(
        gateway,
        tenant_id=principal.tenant_id,
        request_id=meter.request_id,
        body_bytes=len(request_body),
        members=[Reservable(m.model, m.chat.output_limit, m.target.hosted) for m in members],
    )

    def slot_for(call: PreparedCall) -> Slot | None:
        # A tenant's own endpoint: one of its capped slots for the whole call (429 when none).
        if not call.custom_endpoint:
            return None
        return gateway.custom_endpoint_slots.take(principal.tenant_id)

    async def complete(call: PreparedCall) -> dict[str, Any]:
        settle_meter(meter, plan, call)
        slot = slot_for(call)
        meter.sent()
        with slot or nullcontext():
            # Until the answer starts, a client that leaves cancels the upstream call too.
            answer = await unless_disconnected(
                receive, call.adapter.complete(call.chat, call.body, call.target)
            )
        if call.member.config is not None:
            rename_answer(answer, call.member.name)
        return answer

    async def open_stream(call: PreparedCall) -> PrimedStream:
        settle_meter(meter, plan, call)
        slot = slot_for(call)
        meter.sent()
        try:
            chunks = metered(
                call.adapter.stream(call.chat, call.body, call.target),
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

    options = dict(cooldowns=gateway.cooldowns, group=plan.is_group,
                   before_next=moving_on(gateway, meter))
    if chat.stream:
        streamed = await call_members(candidates, open_stream, **options)
        headers = _headers(plan, streamed, meter)

        def stream_over(client_left: bool) -> None:
            gateway.usage.finish(meter, 499 if client_left else 200)

        return EventStreamResponse(streamed.result, headers, on_close=stream_over)
    served = await call_members(candidates, complete, **options)
    response = Response(
        orjson.dumps(served.result), media_type="application/json",
        headers=_headers(plan, served, meter),
    )
    meter.answered(served.result)
    gateway.usage.finish(meter, 200)  # last: nothing after it can raise and finish it twice
    return response


def _headers(plan: Plan, served: Served[PreparedCall, Any], meter: CallMeter) -> dict[str, str]:
    headers = served.prepared.headers()
    headers.update(routing_headers(plan, served.prepared, served.attempts))
    if meter.admission is not None:
        headers.update(meter.admission.headers)
    return headers


def status_of(exc: BaseException) -> int:
    """The status the client got (or would have got) for ``exc``."""
    if isinstance(exc, GatewayError):
        return exc.status_code
    if isinstance(exc, RequestValidationError):
        return 422
    if isinstance(exc, asyncio.CancelledError):
        return 499  # the server is stopping, or the connection went
    return 500
