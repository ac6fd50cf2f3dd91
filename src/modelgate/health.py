"""Liveness and readiness probes; no auth, no version."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from modelgate.deps import GatewayDep
from modelgate.errors import DatabaseUnavailable

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "The database is unreachable."}})
async def readyz(gateway: GatewayDep) -> dict[str, str]:
    try:
        async with gateway.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach the database means not ready
        raise DatabaseUnavailable("The database is unreachable.") from exc
    return {"status": "ready"}
