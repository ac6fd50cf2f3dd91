"""POST /v1/embeddings: OpenAI's embeddings request in, OpenAI's list answer out.

Same auth (scope ``runs:write``), resolution (the tenant's configs and groups of
type ``embedding`` first, then the catalog), keys, limits (the input estimated,
no output reserved) and metering (one usage event, ``endpoint: embeddings``) as
chat. The body is parsed once with orjson; the OpenAI-compatible passthrough
forwards that dict, Google's embedder translates the validated model.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.responses import Response
from starlette.types import Receive

from modelgate.chat.router import BodyReader, status_of
from modelgate.chat.streaming import unless_disconnected
from modelgate.deps import GatewayDep, WritePrincipal
from modelgate.embeddings.schemas import EmbeddingsRequest
from modelgate.embeddings.service import EMBEDDING, PreparedEmbedding, prepare_embedding
from modelgate.errors import InvalidJSON, UpstreamError, UpstreamUnavailable, ValidationFailed
from modelgate.metering.meter import CallMeter
from modelgate.routing.admission import Reservable, admit_plan
from modelgate.routing.failover import call_members
from modelgate.routing.members import moving_on, prepare_all, ready, routing_headers, settle_meter
from modelgate.routing.names import plan_for
from modelgate.routing.rename import rename_answer
from modelgate.state import Gateway
from modelgate.tenants.auth import Principal

router = APIRouter(tags=["embeddings"])

_REQUEST_SCHEMA = EmbeddingsRequest.model_json_schema(ref_template="#/components/schemas/{model}")
# The request model's nested schemas; ``app.py`` may add them to the OpenAPI components.
SCHEMA_COMPONENTS: dict[str, Any] = _REQUEST_SCHEMA.pop("$defs", {})
_ERROR = {"description": "An error in the OpenAI shape."}


def parse_body(raw: bytes) -> tuple[EmbeddingsRequest, dict[str, Any]]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidJSON(
            f"The request body is not valid JSON: {exc.msg} (at byte {exc.pos})."
        ) from None
    if not isinstance(body, dict):
        raise ValidationFailed("The request body must be a JSON object.")
    try:
        return EmbeddingsRequest.model_validate(body), body
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_input=False)) from None


@router.post(
    "/v1/embeddings",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _REQUEST_SCHEMA}},
        }
    },
    responses={
        200: {"description": 'An embeddings list: {"object": "list", "data", "model", "usage"}.'},
        **{status: _ERROR for status in (400, 401, 403, 404, 410, 413, 422, 429, 502, 504)},
    },
)
async def embeddings(request: Request, principal: WritePrincipal, gateway: GatewayDep) -> Response:
    # Served by lean_routes.py in the running app; this route describes it in the
    # OpenAPI document and serves it when the app is used without that layer.
    return await serve_embeddings(request.body, request.receive, principal, gateway)


async def serve_embeddings(
    read_body: BodyReader, receive: Receive, principal: Principal, gateway: Gateway
) -> Response:
    """The whole call, after authentication and the scope check: one usage event."""
    # Authenticated: from here on, exactly one usage event, whatever happens.
    meter = CallMeter.open(principal, endpoint="embeddings")
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
    raw = await read_body()  # inside the meter's call, as chat's
    embedding, body = parse_body(raw)
    meter.requested(body, stream=False)
    plan = plan_for(
        embedding.model, await gateway.tenant_models.get(principal.tenant_id), model_type=EMBEDDING
    )
    candidates = await prepare_all(
        plan,
        lambda member: prepare_embedding(gateway, principal, embedding, member),
        tenant_id=principal.tenant_id,
    )
    members = ready(candidates)
    if members:
        settle_meter(meter, plan, members[0])
    elif plan.tenant_name is not None:
        meter.model = plan.tenant_name  # no member could be prepared: still the name called
    # Limits once per call: the input estimated from the body, no output reserved.
    meter.admission = await admit_plan(
        gateway,
        tenant_id=principal.tenant_id,
        request_id=meter.request_id,
        body_bytes=len(raw),
        members=[Reservable(m.model, 0, m.target.hosted) for m in members],
    )

    async def embed(call: PreparedEmbedding) -> dict[str, Any]:
        settle_meter(meter, plan, call)
        slot = (
            gateway.custom_endpoint_slots.take(principal.tenant_id)
            if call.custom_endpoint
            else None
        )
        meter.sent()
        with slot or nullcontext():
            answer = await unless_disconnected(
                receive, call.embedder.embed(embedding, body, call.target)
            )
        if call.member.config is not None:
            rename_answer(answer, call.member.name)
        return answer

    served = await call_members(
        candidates, embed, cooldowns=gateway.cooldowns, group=plan.is_group,
        before_next=moving_on(gateway, meter),
    )
    headers = served.prepared.headers()
    headers.update(routing_headers(plan, served.prepared, served.attempts))
    if meter.admission is not None:
        headers.update(meter.admission.headers)
    response = Response(orjson.dumps(served.result), media_type="application/json", headers=headers)
    meter.answered(served.result)
    gateway.usage.finish(meter, 200)  # last: nothing after it can raise and finish it twice
    return response
