"""The limits on the call path: what one chat call asks of the engine before its
upstream call, and gives back after it.

Before the call (``admit``): one request, its tokens (the input, estimated from
the body's size at 4 bytes a token, plus the output it may produce: its
``max_tokens``, else the model's output limit) and, for a hosted call under a
monthly budget, its worst-case credits. After it, from the usage event: the real
tokens and credits are settled, or, when nothing was generated (an error answer,
a failure before the upstream), everything is given back.

A tenant with no limits costs one dict look-up (its cached limits) and nothing
else: the engine is not called.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from decimal import Decimal

from modelgate.catalog import ModelSpec
from modelgate.limits.engine import LimitsEngine
from modelgate.limits.types import Admission, TenantLimits
from modelgate.metering.events import UsageEvent
from modelgate.metering.pricing import worst_case_credits

log = logging.getLogger(__name__)

BYTES_PER_TOKEN = 4  # a cheap, deliberately generous input estimate (no tokenizer here)
DEFAULT_OUTPUT_RESERVATION = 4096  # a model without a published output limit


def reserved_output(requested: int | None, model: ModelSpec) -> int:
    """The output a call may produce: what it asked for (0 for an embedding, which
    generates none), else the model's output limit, else the default."""
    if requested is not None:
        return requested
    return model.max_output_tokens or DEFAULT_OUTPUT_RESERVATION


async def admit(
    engine: LimitsEngine,
    limits: TenantLimits,
    *,
    tenant_id: str,
    request_id: str,
    body_bytes: int,
    requested_output: int | None,
    model: ModelSpec,
    hosted: bool,
    margin: Decimal,
) -> Admission | None:
    """The call's admission, or None for a tenant without limits; raises the 429s."""
    if limits.unlimited:
        return None
    input_tokens = -(-body_bytes // BYTES_PER_TOKEN)
    output = reserved_output(requested_output, model)
    credits = worst_case_credits(model, input_tokens, output, margin) if hosted else 0
    return await engine.admit(
        tenant_id, limits, request_id=request_id, tokens=input_tokens + output,
        credits_n=credits, hosted=hosted, now=datetime.now(UTC),
    )


class Settlements:
    """Settles admissions off the request path (a Redis round trip each), keeping
    the tasks so that shutdown waits for them."""

    def __init__(self, engine: LimitsEngine) -> None:
        self.engine = engine
        self._tasks: set[asyncio.Task[None]] = set()

    def settle(self, admission: Admission, event: UsageEvent) -> None:
        task = asyncio.get_running_loop().create_task(self._settle(admission, event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _settle(self, admission: Admission, event: UsageEvent) -> None:
        try:
            if event.usage_source == "none":
                await self.engine.release(admission)
            else:
                await self.engine.settle(
                    admission,
                    tokens=event.input_tokens + event.output_tokens,
                    credits_n=event.credits_n,
                )
        except Exception:  # the engine's own fallback failed too: expiry frees it
            log.exception("settling request %s failed; its reservation will expire",
                          admission.request_id)

    async def wait(self, timeout: float = 5.0) -> None:
        """Until the settles under way have finished (or ``timeout``)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def close(self) -> None:
        await self.wait()
        await self.engine.aclose()
