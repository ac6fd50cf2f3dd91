"""Liveness and readiness probes; no auth, no version."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from modelgate.deps import GatewayDep
from modelgate.errors import DatabaseUnavailable

router = APIRouter(tags=["health"])

# A probe must answer within its caller's patience (Kubernetes' default is 1 s).
# Without a bound, a database that hangs rather than refuses (a frozen host, a
# black-holed network) would hold /readyz for the 30 s statement timeout.
READINESS_TIMEOUT = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "The database is unreachable."}})
async def readyz(gateway: GatewayDep) -> dict[str, str]:
    # The check runs as its own task so that the answer does not wait for the
    # cleanup of a cancelled connection either (a rollback sent to a hung server).
    check = asyncio.ensure_future(_select_one(gateway.engine))
    check.add_done_callback(_consume_outcome)
    done, _ = await asyncio.wait({check}, timeout=READINESS_TIMEOUT)
    if not done:
        check.cancel()
        raise DatabaseUnavailable("The database did not answer in time.")
    if (exc := check.exception()) is not None:  # any failure to reach it: not ready
        raise DatabaseUnavailable("The database is unreachable.") from exc
    return {"status": "ready"}


async def _select_one(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


def _consume_outcome(task: asyncio.Future[None]) -> None:
    # A check given up on still ends some time later; its error is expected, not news.
    if not task.cancelled():
        task.exception()
