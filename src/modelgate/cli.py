"""The ``modelgate`` command: serve, db, tenant, token, keys.

Every command exits non-zero with one clear line on stderr on bad input; ids
and tokens go alone to stdout so scripts can capture them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from typer.models import OptionInfo
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from modelgate import migrate
from modelgate.audit import service as audit
from modelgate.catalog import CatalogError, load_catalog
from modelgate.cluster import Kind, announce_once
from modelgate.config import Settings, SettingsError, load_settings
from modelgate.db import create_engine, session_factory, utcnow
from modelgate.keys.keyring import KeyProvider
from modelgate.keys.service import RotationError, rotate_all
from modelgate.keys.startup import load_key_provider
from modelgate.limits import report as limits_report
from modelgate.limits import service as limits
from modelgate.limits.service import LimitsError
from modelgate.tenants import service as tenants
from modelgate.tenants.service import TenantError
from modelgate.tenants.tokens import parse_scopes, token_prefix

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
tenant_app = typer.Typer(no_args_is_help=True, help="Tenants.")
token_app = typer.Typer(no_args_is_help=True, help="Tenant API tokens.")
keys_app = typer.Typer(no_args_is_help=True, help="Stored provider keys.")
app.add_typer(db_app, name="db")
app.add_typer(tenant_app, name="tenant")
app.add_typer(token_app, name="token")
app.add_typer(keys_app, name="keys")

T = TypeVar("T")


def fail(message: str) -> typer.Exit:
    typer.echo(f"modelgate: {message}", err=True)
    return typer.Exit(code=1 if not message.startswith("usage") else 2)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise fail(str(exc)) from None


def run_in_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one committed transaction on a migrated database."""
    settings = settings_or_exit()

    async def runner() -> T:
        engine = create_engine(settings.database_url)
        try:
            async with session_factory(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    migrate_or_exit(settings)
    try:
        return asyncio.run(runner())
    except (TenantError, RotationError) as exc:
        raise fail(str(exc)) from None
    except (OSError, ConnectionError, SQLAlchemyError) as exc:
        raise fail(f"cannot reach the database: {type(exc).__name__}") from None


def announce(kind: Kind, key: str) -> None:
    """After a committed change: every serving process drops its cached copy (cluster/)."""
    if not asyncio.run(announce_once(settings_or_exit(), kind, key)):
        typer.echo(
            "modelgate: warning: the running gateways could not be notified; they drop "
            "their cached copy within the cache TTL",
            err=True,
        )


def migrate_or_exit(settings: Settings) -> None:
    try:
        migrate.upgrade(settings.database_url)
    except (OSError, ConnectionError, SQLAlchemyError) as exc:
        raise fail(f"cannot migrate the database: {type(exc).__name__}") from None


def keyring_or_exit(settings: Settings) -> KeyProvider:
    try:
        return load_key_provider(settings, announce=lambda line: typer.echo(line, err=True))
    except SettingsError as exc:
        raise fail(str(exc)) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.", min=1, max=65535)] = 8080,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 1,
) -> None:
    """Apply pending migrations, then serve the API."""
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    from modelgate.metering.multiprocess import shared_metrics_dir

    settings = settings_or_exit()
    # Fail before binding the port on a bad catalog or a missing or unreadable keyring.
    try:
        load_catalog(settings.catalog_path, settings.catalog_overlay)
    except CatalogError as exc:
        raise fail(str(exc)) from None
    keyring_or_exit(settings)
    migrate_or_exit(settings)
    typer.echo(f"modelgate: serving on http://{host}:{port}", err=True)
    config = uvicorn.Config(
        "modelgate.app:serve_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        server_header=False,
        # Per worker: beyond this many open connections (or requests in progress) a
        # request gets 503 at once instead of queueing without bound.
        limit_concurrency=settings.limit_concurrency,
        # Idle keep-alive connections close after this. uvicorn has no timeout for
        # reading a request: a reverse proxy in front bounds that (docs/reliability.md).
        timeout_keep_alive=settings.keepalive_timeout,
    )
    # --workers N: one metrics directory for all workers, so that a scrape of any
    # of them counts every worker once (metering/multiprocess.py).
    with shared_metrics_dir(workers):
        if workers == 1:
            server = uvicorn.Server(config)
            server.run()
            if not server.started:  # as uvicorn.run ends: the port was taken, say
                raise typer.Exit(code=STARTUP_FAILURE)
            return
        # uvicorn's supervisor: one shared listening socket, workers restarted when they
        # die. (One SO_REUSEPORT socket per worker was tried: no better balanced, no
        # faster; docs/performance.md, "Scaling".)
        Multiprocess(config, sockets=[config.bind_socket()]).run()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations and exit."""
    migrate_or_exit(settings_or_exit())


@tenant_app.command("create")
def tenant_create(name: str) -> None:
    """Create a tenant; prints its id."""

    async def work(session: AsyncSession) -> str:
        return (await tenants.create_tenant(session, name=name)).id

    typer.echo(run_in_session(work))


def figure_option(metavar: str, help: str) -> OptionInfo:
    # Text, not int: typer's own refusal of "abc" is a usage block of several
    # lines; limits/service.py parses the figure and says what is wrong in one.
    return typer.Option(metavar=metavar, help=f"{help}; 0: unlimited.")


@tenant_app.command("limits")
def tenant_limits(
    tenant: Annotated[str, typer.Argument(help="Tenant id or name.")],
    rpm: Annotated[str | None, figure_option("N", "Requests per minute")] = None,
    tpm: Annotated[str | None, figure_option("N", "Tokens per minute")] = None,
    concurrency: Annotated[str | None, figure_option("N", "Calls in flight at once")] = None,
    monthly_credits: Annotated[
        str | None, figure_option("X", "Hosted credits per UTC month, an exact decimal")
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="First reset every figure.")] = False,
) -> None:
    """Set a tenant's platform limits (only the figures given) and print them."""
    try:
        changes = limits.parse_changes(
            rpm=rpm, tpm=tpm, concurrency=concurrency, monthly_credits=monthly_credits
        )
    except LimitsError as exc:
        raise fail(str(exc)) from None
    changing = bool(changes) or clear

    async def work(session: AsyncSession) -> tuple[str, list[str]]:
        found = await tenants.find_tenant(session, id_or_name=tenant)
        if changing:
            stored = await limits.set_limits(
                session, found.id, clear=clear, **changes  # type: ignore[arg-type]
            )
        else:
            stored = await limits.get_limits(session, found.id)
        return found.id, limits_report.limit_lines(stored)

    tenant_id, lines = run_in_session(work)
    if changing:
        announce("limits", tenant_id)  # every replica applies them within 1 s
    for line in lines:
        typer.echo(line)


@tenant_app.command("show")
def tenant_show(tenant: Annotated[str, typer.Argument(help="Tenant id or name.")]) -> None:
    """Print a tenant: id, name, created, limits and this month's hosted credits used."""

    async def work(session: AsyncSession) -> list[str]:
        found = await tenants.find_tenant(session, id_or_name=tenant)
        now = utcnow()
        return limits_report.tenant_lines(
            tenant_id=found.id,
            name=found.name,
            created_at=found.created_at,
            limits=await limits.get_limits(session, found.id),
            credits_used_n=await limits.credits_used_this_month(session, found.id, now),
            period_start=limits.month_start(now),
        )

    for line in run_in_session(work):
        typer.echo(line)


@token_app.command("create")
def token_create(
    tenant: Annotated[str, typer.Option(help="Tenant id or name.")],
    scope: Annotated[list[str], typer.Option(help="runs:read, runs:write or admin; repeatable.")],
    name: Annotated[str | None, typer.Option(help="A label for the token.")] = None,
) -> None:
    """Create a token; prints it once, alone on stdout."""
    try:
        scopes = parse_scopes(scope)
    except ValueError as exc:
        raise fail(str(exc)) from None

    async def work(session: AsyncSession) -> str:
        found = await tenants.find_tenant(session, id_or_name=tenant)
        token = await tenants.create_token(session, tenant=found, scopes=scopes, name=name)
        await audit.record_token_event(
            session,
            tenant_id=found.id,
            action="token.create",
            target_token_prefix=token_prefix(token),
        )
        return token

    typer.echo(run_in_session(work))


@token_app.command("list")
def token_list(tenant: Annotated[str, typer.Option(help="Tenant id or name.")]) -> None:
    """List a tenant's tokens: prefix, name, scopes, created, last used, state."""

    async def work(session: AsyncSession) -> list[str]:
        found = await tenants.find_tenant(session, id_or_name=tenant)
        rows = await tenants.list_tokens(session, tenant=found)
        return [
            "\t".join(
                [
                    row.prefix,
                    row.name or "-",
                    ",".join(row.scopes.split()),
                    row.created_at.isoformat(timespec="seconds"),
                    row.last_used_at.isoformat(timespec="seconds") if row.last_used_at else "never",
                    "revoked" if row.revoked_at else "active",
                ]
            )
            for row in rows
        ]

    lines = run_in_session(work)
    typer.echo("prefix\tname\tscopes\tcreated\tlast_used\tstate")
    for line in lines:
        typer.echo(line)


@token_app.command("revoke")
def token_revoke(prefix: str) -> None:
    """Revoke a token by its prefix; it answers 401 from then on."""

    async def work(session: AsyncSession) -> tuple[str, str]:
        revocation = await tenants.revoke_token(session, prefix=prefix)
        if revocation.newly_revoked:  # revoking twice changes nothing and is not audited
            await audit.record_token_event(
                session,
                tenant_id=revocation.token.tenant_id,
                action="token.revoke",
                target_token_prefix=revocation.token.prefix,
            )
        return revocation.token.prefix, revocation.token.digest

    revoked, digest = run_in_session(work)
    # Announced even when it was already revoked: an earlier announcement may have failed.
    announce("token", digest)
    typer.echo(f"revoked {revoked}")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Rewrap every stored key under the keyring's first key; prints how many."""
    keyring = keyring_or_exit(settings_or_exit())

    async def work(session: AsyncSession) -> int:
        return await rotate_all(session, keyring=keyring)

    typer.echo(f"rewrapped {run_in_session(work)}")


if __name__ == "__main__":
    app()
