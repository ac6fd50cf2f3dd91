"""Where a closed call's meter goes: priced into an event, counted in the
metrics, queued in the recorder. Nothing here awaits the database.

An event that needs an estimate (the provider reported no usage for a call it
may have served) is counted in a worker thread: tokenizing a long prompt costs
milliseconds of CPU, which must not stall the event loop. Those few tasks are
tracked, so that a clean shutdown writes their events too.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

from modelgate.limits.gate import Settlements
from modelgate.metering.events import UsageEvent
from modelgate.metering.meter import CallMeter
from modelgate.metering.metrics import UsageMetrics, count_rate_limited
from modelgate.metering.recorder import UsageRecorder

log = logging.getLogger(__name__)


class UsageSink:
    def __init__(
        self,
        recorder: UsageRecorder,
        metrics: UsageMetrics,
        margin: Decimal,
        settlements: Settlements | None = None,
    ) -> None:
        self.recorder = recorder
        self.metrics = metrics
        self.margin = margin
        self.settlements = settlements  # the limits: a call's admission settles with its event
        self._estimating: set[asyncio.Task[None]] = set()

    def submit(self, event: UsageEvent) -> None:
        self.metrics.observe(event)
        self.recorder.record(event)

    def finish(self, meter: CallMeter, status: int, *, refusal: str | None = None) -> None:
        """Close ``meter`` with the status the client got; exactly one event follows.
        ``refusal``: which of the gateway's own limits refused it (a 429's ``reason``)."""
        if meter.went_upstream:
            self.metrics.upstream_attempt(meter.provider, attempt_outcome(status))
        if status == 429:  # the provider's, or the gateway's own before the upstream
            count_rate_limited("upstream" if meter.went_upstream else refusal or "other")
        if not meter.needs_estimate:
            self._submit_for(meter, meter.close(status, margin=self.margin))
            return
        pending = meter.estimate_later()
        task = asyncio.get_running_loop().create_task(self._estimate(meter, status, pending))
        self._estimating.add(task)
        task.add_done_callback(self._estimating.discard)

    async def _estimate(self, meter: CallMeter, status: int, pending: object) -> None:
        try:
            event = await asyncio.to_thread(
                meter.close_estimated, status, pending, margin=self.margin  # type: ignore[arg-type]
            )
        except Exception:  # an estimate must never cost the event: record zero counts
            log.exception("usage estimate failed; the event is recorded without counts")
            event = meter.close(status, margin=self.margin)
        self._submit_for(meter, event)

    def _submit_for(self, meter: CallMeter, event: UsageEvent) -> None:
        self.submit(event)
        if meter.admission is not None and self.settlements is not None:
            self.settlements.settle(meter.admission, event)

    def start(self) -> None:
        self.recorder.start()

    async def close(self) -> None:
        """Finish the estimates in flight, then write everything left."""
        if self._estimating:
            await asyncio.wait(set(self._estimating), timeout=5.0)
        await self.recorder.close()
        if self.settlements is not None:
            await self.settlements.close()


def attempt_outcome(status: int) -> str:
    """The outcome label of a call that reached a provider, from the status the
    client got (``modelgate_upstream_attempts_total{outcome}``)."""
    if status < 400:
        return "ok"
    return _OUTCOMES.get(status, "error")


_OUTCOMES = {429: "rate_limited", 499: "cancelled", 502: "unavailable", 504: "timeout"}
