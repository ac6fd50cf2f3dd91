"""The limits of one call, whichever member serves it: admitted once.

A group call is one request of the client's, so it takes one request of the
rpm, one concurrency slot and one reservation of the tpm, however many members
it tries. Its reservation is the worst case over the members that may be
called (those that prepared: resolved, callable, with a key):

- tokens: the input estimate plus the largest output any of them may produce;
- credits (hosted members under a monthly budget): the largest worst case of
  the hosted members, so the reservation holds for the member actually called.

It is settled once, from the usage event, to the real tokens and credits of the
member that answered (0 credits when that one was BYOK), or given back whole
when nothing was generated: the failed attempts' share comes back with it. The
cost of this simplicity is a conservative reservation: a call whose cheapest
member would fit in what is left of the month, but whose dearest would not, is
refused (429 ``insufficient_quota``). A single model is a plan of one member:
exactly ``limits.gate.admit``'s figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from modelgate.catalog import ModelSpec
from modelgate.limits.gate import BYTES_PER_TOKEN, reserved_output
from modelgate.limits.types import Admission
from modelgate.metering.pricing import worst_case_credits
from modelgate.state import Gateway


@dataclass(frozen=True, slots=True)
class Reservable:
    """What one member may cost: its model, its output cap (None: the model's
    limit; 0: no output, as for embeddings) and whether the platform's key pays."""

    model: ModelSpec
    requested_output: int | None
    hosted: bool


async def admit_plan(
    gateway: Gateway,
    *,
    tenant_id: str,
    request_id: str,
    body_bytes: int,
    members: Sequence[Reservable],
) -> Admission | None:
    """The call's admission (None for a tenant without limits); raises the 429s."""
    limits = await gateway.tenant_limits.get(tenant_id)
    if limits.unlimited or not members:
        return None
    margin = gateway.settings.credit_margin
    input_tokens = -(-body_bytes // BYTES_PER_TOKEN)
    output = 0
    credits = 0
    for member in members:
        out = reserved_output(member.requested_output, member.model)
        output = max(output, out)
        if member.hosted:
            credits = max(credits, worst_case_credits(member.model, input_tokens, out, margin))
    return await gateway.limits.admit(
        tenant_id, limits, request_id=request_id, tokens=input_tokens + output,
        credits_n=credits, hosted=any(m.hosted for m in members), now=datetime.now(UTC),
    )
