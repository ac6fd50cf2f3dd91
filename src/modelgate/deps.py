"""FastAPI dependencies, named for what they mean: ``SessionDep``, ``RequireScope(...)``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from modelgate.db import transactional_session
from modelgate.errors import InsufficientScope
from modelgate.logs import tenant_id_var
from modelgate.state import Gateway
from modelgate.tenants.auth import Principal, authenticate
from modelgate.tenants.tokens import Scope


async def get_gateway(request: Request) -> Gateway:
    # async so that FastAPI calls it inline: a plain def would cost a thread hop per request.
    return request.app.state.gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


async def get_session(gateway: GatewayDep) -> AsyncIterator[AsyncSession]:
    async for session in transactional_session(gateway.sessions):
        yield session


# scope="function": commit before the response is sent, so a failed commit is
# answered as an error instead of after a 200 the client already believed.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


# Declared as HTTP bearer so the OpenAPI document names the security scheme;
# auto_error=False because our own 401 (in the OpenAI shape) says what is wrong.
bearer_scheme = HTTPBearer(auto_error=False, description="A modelgate tenant token (mg_…).")


async def current_principal(
    request: Request,
    gateway: GatewayDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    header = f"Bearer {credentials.credentials}" if credentials else None
    return await authenticate_request(header, gateway, request.scope)


async def authenticate_request(
    authorization: str | None, gateway: Gateway, scope: dict[str, Any]
) -> Principal:
    """Who is calling, and what follows from it for the rest of the request (the
    tenant in the logs, the API version answered): one rule for FastAPI's routes and
    the lean ones (lean_routes.py)."""
    principal = await authenticate(authorization, cache=gateway.tokens, sessions=gateway.sessions)
    tenant_id_var.set(principal.tenant_id)
    state = scope.setdefault("state", {})
    # Absent header: the tenant's pinned version (the middleware validated a present one).
    state["api_version"] = state.get("requested_api_version") or principal.api_version
    return principal


def require_scope(principal: Principal, scope: Scope) -> Principal:
    if scope not in principal.scopes:
        raise InsufficientScope(f"This token lacks the '{scope.value}' scope.")
    return principal


def RequireScope(scope: Scope):
    async def require(
        principal: Annotated[Principal, Depends(current_principal)],
    ) -> Principal:
        return require_scope(principal, scope)

    return Depends(require)


ReadPrincipal = Annotated[Principal, RequireScope(Scope.RUNS_READ)]
WritePrincipal = Annotated[Principal, RequireScope(Scope.RUNS_WRITE)]
AdminPrincipal = Annotated[Principal, RequireScope(Scope.ADMIN)]
