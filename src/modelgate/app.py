"""The application: ``create_app()`` wires routers, middleware and error rendering;
the lifespan owns everything that lives as long as the process."""

from __future__ import annotations

import gc
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TextIO

import httpx
from fastapi import FastAPI

from modelgate import http_errors, openapi_doc
from modelgate.audit.router import router as audit_router
from modelgate.catalog import Catalog, load_catalog
from modelgate.catalog.router import router as catalog_router
from modelgate.chat.router import router as chat_router
from modelgate.console.router import router as console_router
from modelgate.embeddings.router import router as embeddings_router
from modelgate.cluster import build_invalidations
from modelgate.config import Settings, load_settings
from modelgate.db import create_engine, session_factory
from modelgate.health import router as health_router
from modelgate.keys.keyring import KeyProvider
from modelgate.keys.resolver import KeyResolver
from modelgate.keys.router import router as keys_router
from modelgate.keys.startup import load_key_provider
from modelgate.lean_routes import GatewayAPI
from modelgate.limits.router import router as limits_router
from modelgate.logs import configure_logging
from modelgate.metering.metrics import UsageMetrics
from modelgate.metering.metrics_router import router as metrics_router
from modelgate.metering.recorder import UsageRecorder
from modelgate.metering.router import router as usage_router
from modelgate.metering.sink import UsageSink
from modelgate.middleware import GatewayMiddleware
from modelgate.providers.base import Timeouts
from modelgate.providers.guarded_transport import GuardedTransport
from modelgate.providers.registry import ProviderRegistry
from modelgate.providers.tenant_slots import TenantSlots
from modelgate.state import Gateway
from modelgate.limits.cache import LimitsCache
from modelgate.limits.engine import build_limits
from modelgate.limits.gate import Settlements
from modelgate.limits.service import month_seed
from modelgate.tenants.auth import TokenCache
from modelgate.tenant_cache import TenantCache
from modelgate.tenant_models.router import router as tenant_models_router
from modelgate.tenant_models.service import load_tenant_models
from modelgate.tenants.router import router as tenant_router


def build_gateway(settings: Settings, catalog: Catalog, keyring: KeyProvider) -> Gateway:
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    # Limits: Redis when configured (falling back to this process's counts), else local.
    limits = build_limits(settings, seed=month_seed(sessions))
    gateway = Gateway(
        settings=settings,
        engine=engine,
        sessions=sessions,
        invalidations=build_invalidations(settings, engine),
        tokens=TokenCache(
            settings.token_cache_ttl,
            unknown_rate=settings.unknown_token_rate,
            unknown_burst=settings.unknown_token_burst,
        ),
        catalog=catalog,
        keyring=keyring,
        keys=KeyResolver(
            sessions=sessions,
            keyring=keyring,
            hosted_keys=settings.hosted_api_keys,
            hosted_enabled=settings.hosted_keys,
            ttl=settings.key_cache_ttl,
        ),
        providers=ProviderRegistry.build(
            {spec.id: spec.api_style for spec in catalog.providers},
            Timeouts(
                connect=settings.upstream_connect_timeout,
                read=settings.upstream_read_timeout,
                total=settings.upstream_total_timeout,
            ),
            max_connections=settings.upstream_max_connections,
            max_response_bytes=settings.max_response_bytes,
            max_event_bytes=settings.max_event_bytes,
            custom_endpoint_transport=GuardedTransport(
                allow_private=settings.allow_private_base_urls,
                limits=httpx.Limits(
                    max_connections=settings.upstream_max_connections,
                    max_keepalive_connections=50,
                    keepalive_expiry=30.0,
                ),
                # Fair shares of the pool that every tenant's base_url uses (docs/reliability.md).
                max_per_host=settings.custom_endpoint_max_per_host,
                lookup_timeout=settings.dns_timeout,
                nameservers=[
                    server.strip()
                    for server in settings.custom_endpoint_nameservers.split(",")
                    if server.strip()
                ],
            ),
        ),
        custom_endpoint_slots=TenantSlots(settings.custom_endpoint_tenant_concurrency),
        usage=UsageSink(
            UsageRecorder.from_settings(engine, settings),
            UsageMetrics.for_catalog(catalog),
            settings.credit_margin,
            Settlements(limits),
        ),
        limits=limits,
        tenant_limits=LimitsCache(sessions, ttl=settings.key_cache_ttl),
        tenant_models=TenantCache(sessions, load_tenant_models, ttl=settings.key_cache_ttl),
        upstream_base_urls={
            spec.id: settings.base_url_overrides.get(spec.id, spec.base_url)
            for spec in catalog.providers
        },
    )
    register_caches(gateway)
    return gateway


def register_caches(gateway: Gateway) -> None:
    """What each announced change drops (cluster/invalidation.py)."""
    invalidations, tokens, keys = gateway.invalidations, gateway.tokens, gateway.keys
    invalidations.register("token", drop=tokens.drop_token, clear=tokens.expire_all)
    invalidations.register("settings", drop=tokens.drop_tenant)
    invalidations.register("keys", drop=keys.invalidate, clear=keys.clear)
    limits = gateway.tenant_limits
    invalidations.register("limits", drop=limits.drop, clear=limits.clear)
    # Configs and groups live in one snapshot per tenant: a change to either drops it.
    tenant_models = gateway.tenant_models
    invalidations.register("configs", drop=tenant_models.drop, clear=tenant_models.clear)
    invalidations.register("groups", drop=tenant_models.drop)


def serve_app() -> FastAPI:
    """The app ``modelgate serve`` runs (uvicorn's factory): ``create_app`` with the
    collector tuned for a server process."""
    return create_app(tune_gc=True)


def tune_collector() -> None:
    """For a server process, once it has started (docs/performance.md measures it).

    Everything built by then (modules, the catalog, FastAPI's routes, the caches)
    lives as long as the process: frozen, the collector's full passes stop walking
    it. And a call makes many short-lived objects, nearly all freed by their
    reference counts, yet by default every 700 allocations start a young pass and
    every 100 of those a full one over everything the process holds: CPU, and the
    tail of the latency (p99). Ten times the young threshold, with the older passes
    as often relative to it, keeps cycles bounded at a fraction of the cost.
    Not in tests' processes, which start many apps (``create_app`` leaves it off).
    """
    gc.freeze()
    gc.set_threshold(7000, 10, 10)


def create_app(
    settings: Settings | None = None,
    *,
    log_stream: TextIO | None = None,
    lean_routes: bool = True,
    tune_gc: bool = False,
) -> FastAPI:
    """``lean_routes=False`` leaves the calls to FastAPI's own routes (lean_routes.py):
    the reference that the lean layer is tested against. ``tune_gc``: see
    ``tune_collector`` (``serve_app`` sets it)."""
    settings = settings or load_settings()
    configure_logging(
        settings.log_level,
        # The Redis URL may hold a password: masked wherever it would appear.
        secrets=[key.get_secret_value() for key in settings.hosted_api_keys.values()]
        + ([settings.redis_url.get_secret_value()] if settings.redis_url else []),
        stream=log_stream,
    )

    # Both fail fast, before the first request: a bad catalog or keyring stops start-up.
    catalog = load_catalog(settings.catalog_path, settings.catalog_overlay)
    keyring = load_key_provider(settings, announce=lambda line: print(line, file=sys.stderr))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        gateway = build_gateway(settings, catalog, keyring)
        app.state.gateway = gateway
        gateway.usage.start()
        gateway.invalidations.start()
        if tune_gc:
            tune_collector()
        try:
            yield
        finally:
            try:
                # Usage first: uvicorn runs this on SIGTERM, so no event is lost.
                await gateway.usage.close()
            finally:
                await gateway.invalidations.close()
                await gateway.providers.close_all()
                await gateway.engine.dispose()

    app = GatewayAPI(
        title="modelgate",
        version="2026-05-01",
        description="One OpenAI-style API in front of many model providers.",
        lifespan=lifespan,
        # Off: we write our own access log, and with it on FastAPI asks OpenTelemetry
        # on every request whether a provider is configured (~8% of a chat call's CPU).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    http_errors.install(app)
    if lean_routes:
        # In front of the whole stack, with a GatewayMiddleware of its own.
        app.lean_max_body_bytes = settings.max_body_bytes
    app.add_middleware(GatewayMiddleware, max_body_bytes=settings.max_body_bytes)
    for router in (
        health_router, chat_router, catalog_router, keys_router, tenant_router, audit_router,
        usage_router, limits_router, tenant_models_router, embeddings_router,
    ):
        app.include_router(router)
    app.include_router(metrics_router)  # the operator's scrape; not in the OpenAPI document
    app.include_router(console_router)  # static pages at /console; not in the OpenAPI document
    openapi_doc.install(app)
    return app
