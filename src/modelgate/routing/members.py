"""The steps the chat and embeddings entry points share around the members:
prepare each one, admit the call once, and the headers of the answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from modelgate.errors import GatewayError
from modelgate.metering.meter import CallMeter
from modelgate.metering.sink import attempt_outcome
from modelgate.routing.failover import ATTEMPTS_HEADER, Candidate
from modelgate.routing.names import Member, Plan
from modelgate.routing.prepared import PreparedMember
from modelgate.state import Gateway


# What the steps read of a member: its target, model, key source and names.
Prepared = PreparedMember[Any, Any]
P = TypeVar("P", bound=Prepared)


async def prepare_all(
    plan: Plan, prepare: Callable[[Member], Awaitable[P]], *, tenant_id: str
) -> list[Candidate[P]]:
    """Every member prepared, in the plan's order. A single model's error raises
    here, as it always has; a group keeps each member's error for its turn."""
    candidates: list[Candidate[P]] = []
    for member in plan.members:
        try:
            prepared = await prepare(member)
        except GatewayError as exc:
            if not plan.is_group:
                raise
            candidates.append(Candidate(member, error=exc))
            continue
        key = (tenant_id, prepared.target.provider_id, prepared.target.model)
        candidates.append(Candidate(member, prepared, cool_key=key))
    return candidates


def ready(candidates: Iterable[Candidate[P]]) -> list[P]:
    return [c.prepared for c in candidates if c.prepared is not None]


def settle_meter(meter: CallMeter, plan: Plan, prepared: Prepared) -> None:
    meter.settle(
        spec=prepared.model,
        provider=prepared.target.provider_id,
        source=prepared.key_source,
        called_as=plan.tenant_name,
    )


def moving_on(gateway: Gateway, meter: CallMeter) -> Callable[[Candidate[P], GatewayError], None]:
    """What a group does with its meter when it moves past a failed member: count
    that attempt in ``modelgate_upstream_attempts_total`` if it reached the
    provider (the last attempt is counted when the call's event is), and start
    the meter afresh for the next one."""

    def before_next(_: Candidate[P], error: GatewayError) -> None:
        if meter.went_upstream:
            outcome = attempt_outcome(error.status_code)
            gateway.usage.metrics.upstream_attempt(meter.provider, outcome)
        meter.next_attempt()

    return before_next


def routing_headers(plan: Plan, prepared: Prepared, attempts: int) -> dict[str, str]:
    """``IC-Base-Model`` when a tenant name was called; ``IC-Model`` and
    ``IC-Attempts`` for a group."""
    if plan.tenant_name is None:
        return {}
    headers = {"IC-Base-Model": _latin1(prepared.model.id)}
    if plan.is_group:
        headers["IC-Model"] = _latin1(prepared.shown_model)
        headers[ATTEMPTS_HEADER] = str(attempts)
    return headers


def _latin1(text: str) -> str:
    # A config name is tenant text, possibly beyond Latin-1: header values are not.
    return text.encode("latin-1", "backslashreplace").decode("latin-1")
