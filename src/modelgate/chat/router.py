"""POST /v1/chat/completions: OpenAI's request in, OpenAI's answer or stream out.

The body is read raw and parsed once with orjson: the OpenAI-compatible
passthrough forwards that dict, and the translating adapters use the validated
model. Errors before the first byte of a stream are ordinary HTTP errors.
"""

from __future__ import annotations

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
from modelgate.errors import InvalidJSON, ValidationFailed
from modelgate.providers.base import prime_stream

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
    chat, body = parse_body(await request.body())
    call = await prepare_call(gateway, principal, chat)
    # Until the answer starts, a client that leaves cancels the upstream call too.
    if chat.stream:
        stream = await unless_disconnected(
            request.receive, prime_stream(call.adapter.stream(chat, body, call.target))
        )
        return EventStreamResponse(stream, call.headers())
    answer = await unless_disconnected(
        request.receive, call.adapter.complete(chat, body, call.target)
    )
    return Response(orjson.dumps(answer), media_type="application/json", headers=call.headers())
