"""What the upstream-fault and disconnect tests share: a gateway whose three provider
styles all point at the loopback fake, a tenant on a private SQLite file, and ways
to look at the gateway from outside (its event loop's tasks, its open sockets).

The database is not what these tests are about, so they use one private SQLite
file (the database suites run both backends); nothing here mocks gateway code.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from pathlib import Path

from modelgate import migrate
from modelgate.db import create_engine
from tests.support import RunningGateway, SeededTenant, seed_tenant

MODELS = {"openai": "gpt-4o", "anthropic": "claude-haiku-4-5", "google": "gemini-2.5-flash"}
PROVIDERS = sorted(MODELS)
HOSTED = {
    "openai": "sk-hosted-openai-reliability-0123456789",
    "anthropic": "sk-ant-hosted-reliability-0123456789",
    "google": "AIzaHostedGoogleReliability0123456789ab",
}


def upstream_settings(base: str) -> dict[str, object]:
    """Every provider style at ``base`` (the fake, or a port where nothing listens)."""
    return {
        "openai_base_url": f"{base}/v1",
        "anthropic_base_url": base,
        "google_base_url": base,
        **{f"{provider}_api_key": key for provider, key in HOSTED.items()},
    }


def seeded_tenant(db_dir: Path) -> tuple[str, SeededTenant]:
    """A migrated SQLite file of our own and a tenant in it (its URL, the tenant)."""
    url = f"sqlite+aiosqlite:///{db_dir / 'modelgate.db'}"
    migrate.upgrade(url)

    async def seed() -> SeededTenant:
        engine = create_engine(url)
        try:
            return await seed_tenant(engine)
        finally:
            await engine.dispose()

    return url, asyncio.run(seed())


def gateway_task_count(gw: RunningGateway) -> int:
    """Tasks alive on the gateway server's event loop, counted on that loop.

    A callback (not a coroutine) does the counting, so the probe adds no task."""
    loop = gw.server.servers[0].get_loop()
    result: concurrent.futures.Future[int] = concurrent.futures.Future()
    loop.call_soon_threadsafe(lambda: result.set_result(len(asyncio.all_tasks(loop))))
    return result.result(timeout=5)


# /proc/net/tcp states that still hold a socket open on our side.
_OPEN_STATES = {"01": "ESTABLISHED", "08": "CLOSE_WAIT"}


def open_connections(*, remote_port: int | None = None, local_port: int | None = None) -> int:
    """Loopback TCP connections of this process's network namespace that are still
    open, by port. Transport-agnostic: whatever HTTP stack the gateway uses, a
    socket it has not closed shows here (the kernel's view, not a pool's)."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state = fields[1], fields[2], fields[3]
        if state not in _OPEN_STATES:
            continue
        if remote_port is not None and int(remote.split(":")[1], 16) != remote_port:
            continue
        if local_port is not None and int(local.split(":")[1], 16) != local_port:
            continue
        count += 1
    return count


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])
