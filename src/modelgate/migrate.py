"""Apply Alembic migrations from code (`modelgate db upgrade`, `serve`, tests)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

import modelgate


def migrations_dir() -> Path:
    # An installed wheel carries the migrations inside the package; a source
    # checkout (editable install) keeps them at the top of the repository.
    packaged = Path(modelgate.__file__).parent / "migrations"
    if packaged.is_dir():
        return packaged
    return Path(modelgate.__file__).resolve().parents[2] / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    # ConfigParser treats % as interpolation; a password may contain one.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


async def _run(database_url: str, action: str, revision: str) -> None:
    config = alembic_config(database_url)
    engine = create_async_engine(database_url, poolclass=NullPool)

    def apply(connection: Connection) -> None:
        # env.py uses this connection instead of opening its own event loop.
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)

    try:
        async with engine.begin() as connection:
            await connection.run_sync(apply)
    finally:
        await engine.dispose()


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    await _run(database_url, "upgrade", revision)


async def downgrade_async(database_url: str, revision: str = "base") -> None:
    await _run(database_url, "downgrade", revision)


def upgrade(database_url: str, revision: str = "head") -> None:
    asyncio.run(upgrade_async(database_url, revision))
