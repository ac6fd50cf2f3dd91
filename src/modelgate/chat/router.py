"""POST /v1/chat/completions: OpenAI's request in, OpenAI's answer or stream out.

The body is read raw and parsed once with orjson: the OpenAI-compatible
passthrough forwards that dict, and the translating adapters use the validated
model. Errors before the first byte of a stream are ordinary HTTP errors.
"""

from __future__ import annotations

import asyncio
from contextlib import nullcontext
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.responses import Response

from modelgate.chat.schemas import ChatCompletionRequest
from modelgate.chat.service import prepare_call
from modelgate.chat.streaming import EventStreamResponse, unless_disconnected
from modelgate.deps import GatewayDep, WritePrincipal
from modelgate.errors import (
    GatewayError,
    InvalidJSON,
    UpstreamError,
    UpstreamUnavailable,
    ValidationFailed,
)
from modelgate.limits.gate import admit
from modelgate.metering.meter import CallMeter
from modelgate.metering.stream_tap import metered
from modelgate.providers.base import prime_stream
from modelgate.state import Gateway
from modelgate.tenants.auth import Principal

router = APIRouter(tags=["chat"])

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
    # Authenticated: from here on, exactly one usage event, whatever happens.
    meter = CallMeter.open(principal, endpoint="chat")
    try:
        return await _serve(request, principal, gateway, meter)
    except BaseException as exc:
        if isinstance(exc, (UpstreamError, UpstreamUnavailable)):
            meter.refused()  # an error answer or no answer: the provider generated nothing
        gateway.usage.finish(meter, status_of(exc), refusal=getattr(exc, "reason", None))
        raise


async def _serve(
    request: Request, principal: Principal, gateway: Gateway, meter: CallMeter
) -> Response:
    request_body = await request.body()
    chat, body = parse_body(request_body)
    meter.requested(body, stream=chat.stream)
    call = await prepare_call(gateway, principal, chat)
    meter.settle(spec=call.model, provider=call.target.provider_id, source=call.key_source)
    # The tenant's platform limits: a 429 here never reaches the upstream.
    meter.admission = await admit(
        gateway.limits,
        await gateway.tenant_limits.get(principal.tenant_id),
        tenant_id=principal.tenant_id,
        request_id=meter.request_id,
        body_bytes=len(request_body),
        requested_output=chat.output_limit,
        model=call.model,
        hosted=call.target.hosted,
        margin=gateway.settings.credit_margin,
    )
    headers = call.headers()
    if meter.admission is not None:
        headers.update(meter.admission.headers)
    # A tenant's own endpoint: one of its capped slots for the whole call (429 when none).
    slot = (
        gateway.custom_endpoint_slots.take(principal.tenant_id)
        if gateway.providers.is_custom_endpoint(call.adapter, call.target.provider_id)
        else None
    )
    meter.sent()
    # Until the answer starts, a client that leaves cancels the upstream call too.
    if chat.stream:
        try:
            chunks = metered(
                call.adapter.stream(chat, body, call.target),
                meter,
                client_wants_usage=chat.include_usage,
            )
            if slot is not None:
                chunks = slot.held_through(chunks)  # the stream releases it when it closes
            stream = await unless_disconnected(request.receive, prime_stream(chunks))
        except BaseException:
            if slot is not None:
                slot.release()  # the stream may not have started, so may not release it
            raise

        def stream_over(client_left: bool) -> None:
            gateway.usage.finish(meter, 499 if client_left else 200)

        return EventStreamResponse(stream, headers, on_close=stream_over)
    with slot or nullcontext():
        answer = await unless_disconnected(
            request.receive, call.adapter.complete(chat, body, call.target)
        )
    response = Response(orjson.dumps(answer), media_type="application/json", headers=headers)
    meter.answered(answer)
    gateway.usage.finish(meter, 200)  # last: nothing after it can raise and finish it twice
    return response


def status_of(exc: BaseException) -> int:
    """The status the client got (or would have got) for ``exc``."""
    if isinstance(exc, GatewayError):
        return exc.status_code
    if isinstance(exc, RequestValidationError):
        return 422
    if isinstance(exc, asyncio.CancelledError):
        return 499  # the server is stopping, or the connection went
    return 500
