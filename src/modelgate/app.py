"""The application: ``create_app()`` wires routers, middleware and error rendering;
the lifespan owns everything that lives as long as the process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TextIO

from fastapi import FastAPI

from modelgate import http_errors
from modelgate.config import Settings, load_settings
from modelgate.db import create_engine, session_factory
from modelgate.audit.router import router as audit_router
from modelgate.health import router as health_router
from modelgate.logs import configure_logging
from modelgate.middleware import GatewayMiddleware
from modelgate.state import Gateway
from modelgate.tenants.auth import TokenCache
from modelgate.tenants.router import router as tenant_router


def build_gateway(settings: Settings) -> Gateway:
    engine = create_engine(settings.database_url)
    return Gateway(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        tokens=TokenCache(settings.token_cache_ttl),
    )


def create_app(settings: Settings | None = None, *, log_stream: TextIO | None = None) -> FastAPI:
    settings = settings or load_settings()
    configure_logging(
        settings.log_level,
        secrets=[key.get_secret_value() for key in settings.hosted_api_keys.values()],
        stream=log_stream,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        gateway = build_gateway(settings)
        app.state.gateway = gateway
        try:
            yield
        finally:
            await gateway.engine.dispose()

    app = FastAPI(
        title="modelgate",
        version="2026-05-01",
        description="One OpenAI-style API in front of many model providers.",
        lifespan=lifespan,
    )
    http_errors.install(app)
    app.add_middleware(GatewayMiddleware, max_body_bytes=settings.max_body_bytes)
    for router in (health_router, tenant_router, audit_router):
        app.include_router(router)
    return app
