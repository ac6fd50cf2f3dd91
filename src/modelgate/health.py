"""Liveness and readiness probes; no auth, no version.

``/readyz`` is unauthenticated, so its cost must not scale with its callers: one
database check at a time, whose answer (ready or not) every caller shares for
``readyz_cache_ttl`` seconds.
"""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from modelgate.deps import GatewayDep
from modelgate.errors import DatabaseUnavailable

router = APIRouter(tags=["health"])

# A probe must answer within its caller's patience (Kubernetes' default is 1 s).
# Without a bound, a database that hangs rather than refuses (a frozen host, a
# black-holed network) would hold /readyz for the 30 s statement timeout.
READINESS_TIMEOUT = 2.0


class ReadinessProbe:
    """The database check behind ``/readyz``: shared while in flight, reused for ``ttl``."""

    def __init__(self, engine: AsyncEngine, *, ttl: float, timeout: float = READINESS_TIMEOUT):
        self.engine = engine
        self.ttl = ttl
        self.timeout = timeout
        self._answer: DatabaseUnavailable | None = None
        self._expires = 0.0
        self._in_flight: asyncio.Future[DatabaseUnavailable | None] | None = None

    async def check(self) -> None:
        """Return if the database answers, else raise DatabaseUnavailable."""
        if time.monotonic() >= self._expires:
            if self._in_flight is None:
                self._in_flight = asyncio.ensure_future(self._run())
            # Shielded: a caller that goes away must not cancel the others' check.
            await asyncio.shield(self._in_flight)
        if self._answer is not None:
            raise DatabaseUnavailable(str(self._answer)) from self._answer.__cause__

    async def _run(self) -> DatabaseUnavailable | None:
        try:
            self._answer = await self._select_one_in_time()
            # A failure is cached too: a database that is down must not get a
            # connection attempt per caller either.
            self._expires = time.monotonic() + self.ttl
            return self._answer
        finally:
            self._in_flight = None

    async def _select_one_in_time(self) -> DatabaseUnavailable | None:
        # The check runs as its own task so that the answer does not wait for the
        # cleanup of a cancelled connection either (a rollback sent to a hung server).
        check = asyncio.ensure_future(_select_one(self.engine))
        check.add_done_callback(_consume_outcome)
        done, _ = await asyncio.wait({check}, timeout=self.timeout)
        if not done:
            check.cancel()
            return DatabaseUnavailable("The database did not answer in time.")
        if (exc := check.exception()) is not None:  # any failure to reach it: not ready
            unavailable = DatabaseUnavailable("The database is unreachable.")
            unavailable.__cause__ = exc
            return unavailable
        return None


def readiness_probe(request: Request, gateway: GatewayDep) -> ReadinessProbe:
    # Kept on the app, built on first use for the engine of the current lifespan.
    probe: ReadinessProbe | None = getattr(request.app.state, "readiness_probe", None)
    if probe is None or probe.engine is not gateway.engine:
        probe = ReadinessProbe(gateway.engine, ttl=gateway.settings.readyz_cache_ttl)
        request.app.state.readiness_probe = probe
    return probe


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "The database is unreachable."}})
async def readyz(request: Request, gateway: GatewayDep) -> dict[str, str]:
    await readiness_probe(request, gateway).check()
    # CONTRACT-2: "limits": "local" while Redis is configured but unreachable (or not
    # configured at all); the gateway still serves, with per-process limits.
    limits = "redis" if gateway.limits.status == "redis" else "local"
    return {"status": "ready", "limits": limits}


async def _select_one(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


def _consume_outcome(task: asyncio.Future[None]) -> None:
    # A check given up on still ends some time later; its error is expected, not news.
    if not task.cancelled():
        task.exception()
