"""One call of a call endpoint (chat, embeddings), from its body to its answer.

The endpoints differ in their request, in how a member is prepared and in how
its provider is called (``CallEndpoint``, ``PreparedMember``); around that,
every call takes the same steps:

    the body read and parsed     inside the meter's call: one usage event, whatever happens
    plan_for, prepare_all        the tenant's names first, then the catalog
    settle_meter, admit_plan     on the first member that prepared; the limits once
    call_members                 each attempt settles the meter, takes a capped slot
                                 for a tenant's own endpoint, and is cancelled when
                                 the client leaves before the answer
    the answer                   the member's, the routing's and the limits' headers

Chat's call is the gateway's hot path: an endpoint is a module constant, and a
call makes no more closures than it uses (the prepare step's, one member caller,
the group's ``before_next`` and a stream's ``on_close``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.responses import Response
from starlette.types import Receive

from modelgate.chat.streaming import EventStreamResponse, unless_disconnected
from modelgate.errors import (
    GatewayError,
    InvalidJSON,
    UpstreamError,
    UpstreamUnavailable,
    ValidationFailed,
)
from modelgate.metering.events import Endpoint
from modelgate.metering.meter import CallMeter
from modelgate.providers.base import PrimedStream
from modelgate.providers.tenant_slots import Slot
from modelgate.routing.admission import Reservable, admit_plan
from modelgate.routing.failover import Served, call_members
from modelgate.routing.members import moving_on, prepare_all, ready, routing_headers, settle_meter
from modelgate.routing.names import Member, Plan, plan_for
from modelgate.routing.prepared import PreparedMember
from modelgate.routing.rename import rename_answer
from modelgate.state import Gateway
from modelgate.tenants.auth import Principal

# How a call reads its request body: Starlette's ``Request.body``, or lean_routes.py's.
BodyReader = Callable[[], Awaitable[bytes]]

R = TypeVar("R", bound=BaseModel)
P = TypeVar("P", bound=PreparedMember[Any, Any])

# Given the call (gateway, principal, receive, meter, plan, request): the function
# that opens one member's stream, primed (see providers/holdback.py).
StreamOpener = Callable[
    [Gateway, Principal, Receive, CallMeter, Plan, Any], Callable[[Any], Awaitable[PrimedStream]]
]


@dataclass(frozen=True, slots=True)
class Streams(Generic[R]):
    """An endpoint that streams (chat): whether a request asks for a stream, and
    what opens one member's stream."""

    asked: Callable[[R], bool | None]
    opener: StreamOpener


@dataclass(frozen=True, slots=True)
class CallEndpoint(Generic[R, P]):
    """What makes one endpoint's call its own."""

    name: Endpoint  # the usage event's ``endpoint``
    model_type: str  # the catalog type its models must be of
    schema: type[R]  # the request body's model
    # One member, prepared for this request: resolved, its key chosen (a GatewayError
    # when it cannot be; a group keeps it for the member's turn).
    prepare: Callable[[Gateway, Principal, R, dict[str, Any], Member], Awaitable[P]]
    streams: Streams[R] | None = None  # None: every answer is one JSON object


_ERROR = {"description": "An error in the OpenAI shape."}
_ERROR_STATUSES = (400, 401, 403, 404, 410, 413, 422, 429, 502, 504)


def route_docs(request_schema: dict[str, Any], answer: str) -> dict[str, Any]:
    """A call route's ``openapi_extra`` and ``responses``: the body is read raw (so
    FastAPI does not know its schema), ``answer`` describes the 200."""
    return {
        "openapi_extra": {
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": request_schema}},
            }
        },
        "responses": {
            200: {"description": answer},
            **{status: _ERROR for status in _ERROR_STATUSES},
        },
    }


def parse_body(raw: bytes, schema: type[R]) -> tuple[R, dict[str, Any]]:
    """The validated request and the parsed body (the passthrough forwards the dict)."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        # orjson's reason names the problem (a lone surrogate, say), never the content.
        raise InvalidJSON(
            f"The request body is not valid JSON: {exc.msg} (at byte {exc.pos})."
        ) from None
    if not isinstance(body, dict):
        raise ValidationFailed("The request body must be a JSON object.")
    try:
        return schema.model_validate(body), body
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_input=False)) from None


async def serve_call(
    endpoint: CallEndpoint[R, P],
    read_body: BodyReader,
    receive: Receive,
    principal: Principal,
    gateway: Gateway,
) -> Response:
    """The whole call, after authentication and the scope check: one usage event."""
    # Authenticated: from here on, exactly one usage event, whatever happens.
    meter = CallMeter.open(principal, endpoint=endpoint.name)
    try:
        # Read inside the meter's call: a body over the limit or a client gone while
        # sending it is one usage event too.
        raw = await read_body()
        request, body = parse_body(raw, endpoint.schema)
        streams = endpoint.streams
        stream = streams is not None and streams.asked(request)
        meter.requested(body, stream=stream)
        # The tenant's names first (one dict look-up when it has none), then the catalog.
        plan = plan_for(
            request.model,  # type: ignore[attr-defined]  # every call request names one
            await gateway.tenant_models.get(principal.tenant_id),
            model_type=endpoint.model_type,
        )
        candidates = await prepare_all(
            plan,
            lambda member: endpoint.prepare(gateway, principal, request, body, member),
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
            body_bytes=len(raw),
            members=[Reservable(m.model, m.requested_output, m.target.hosted) for m in members],
        )
        if stream and streams is not None:
            opener = streams.opener(gateway, principal, receive, meter, plan, request)
            streamed = await call_members(
                candidates, opener, cooldowns=gateway.cooldowns, group=plan.is_group,
                before_next=moving_on(gateway, meter),
            )

            def stream_over(client_left: bool) -> None:
                gateway.usage.finish(meter, 499 if client_left else 200)

            return EventStreamResponse(
                streamed.result, _headers(plan, streamed, meter), on_close=stream_over
            )

        async def answer(prepared: P) -> dict[str, Any]:
            slot = start_attempt(gateway, principal, meter, plan, prepared)
            with slot or nullcontext():
                # Until the answer starts, a client that leaves cancels the upstream call too.
                result = await unless_disconnected(receive, prepared.answer())
            if prepared.member.config is not None:
                rename_answer(result, prepared.member.name)
            return result

        served = await call_members(
            candidates, answer, cooldowns=gateway.cooldowns, group=plan.is_group,
            before_next=moving_on(gateway, meter),
        )
        response = Response(
            orjson.dumps(served.result), media_type="application/json",
            headers=_headers(plan, served, meter),
        )
        meter.answered(served.result)
        gateway.usage.finish(meter, 200)  # last: nothing after it can raise and finish it twice
        return response
    except BaseException as exc:
        if isinstance(exc, (UpstreamError, UpstreamUnavailable)):
            meter.refused()  # an error answer or no answer: the provider generated nothing
        gateway.usage.finish(meter, status_of(exc), refusal=getattr(exc, "reason", None))
        raise


def start_attempt(
    gateway: Gateway, principal: Principal, meter: CallMeter, plan: Plan, prepared: P
) -> Slot | None:
    """The meter settled on ``prepared`` and marked sent; for a tenant's own endpoint,
    one of its capped slots for the whole call (429 when none), the caller's to release."""
    settle_meter(meter, plan, prepared)
    slot = (
        gateway.custom_endpoint_slots.take(principal.tenant_id)
        if prepared.custom_endpoint
        else None
    )
    meter.sent()
    return slot


def _headers(plan: Plan, served: Served[Any, Any], meter: CallMeter) -> dict[str, str]:
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
