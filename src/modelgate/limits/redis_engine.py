"""The limits engine on Redis: every process and replica shares one set of counters.

Each operation is one Lua script (``lua/*.lua``, with ``lua/common.lua``
prepended), so each is one atomic round trip: Redis runs a script to the end
before any other command, so no two admits can both see the last free unit.
Scripts are sent by EVALSHA; redis-py loads one again by itself when Redis
answers NOSCRIPT (after a restart, say).

Keys are ``<ns>:{<tenant>}:…`` (the braces are a cluster hash tag: a tenant's
keys share one slot): ``rate``, ``inflight``, ``res``, ``done`` and
``credits:<YYYY-MM>``; ``lua/common.lua`` says what each holds.

The client has a bounded pool (``redis_pool_size`` connections; a caller waits at
most ``redis_timeout`` for one) and short timeouts, and never retries by itself:
a slow or absent Redis must fail fast so that ``FallbackLimits`` can serve the
call from this process instead.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from importlib import resources

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from modelgate.config import Settings
from modelgate.limits import window
from modelgate.limits.types import Admission, MonthSeed, TenantLimits, month_key
from modelgate.limits.window import UNSEEDED, Verdict

NAMESPACE = "mg"


@cache
def script_source(name: str) -> str:
    """A script as loaded: the shared helpers, then the script itself."""
    folder = resources.files("modelgate.limits") / "lua"
    return (folder / "common.lua").read_text() + "\n" + (folder / f"{name}.lua").read_text()


def connect(settings: Settings) -> Redis:
    """The client for ``settings.redis_url``: bounded pool, short timeouts, no retries."""
    assert settings.redis_url is not None
    pool = BlockingConnectionPool.from_url(
        settings.redis_url.get_secret_value(),
        max_connections=settings.redis_pool_size,
        timeout=settings.redis_timeout,
        socket_timeout=settings.redis_timeout,
        socket_connect_timeout=settings.redis_timeout,
        retry=Retry(NoBackoff(), 0),
    )
    return Redis(connection_pool=pool)


def _limit(value: int | None) -> int:
    return -1 if value is None else value


class RedisLimits:
    """``LimitsEngine`` on Redis (see the module docstring)."""

    status = "redis"

    def __init__(
        self,
        client: Redis,
        *,
        reservation_ttl: float,
        seed: MonthSeed | None = None,
        namespace: str = NAMESPACE,
    ) -> None:
        self.client = client
        self._ttl_ms = max(1, int(reservation_ttl * 1000))
        self._seed = seed
        self._namespace = namespace
        self._admit = client.register_script(script_source("admit"))
        self._finish = client.register_script(script_source("finish"))
        self._usage = client.register_script(script_source("usage"))
        self._add_used = client.register_script(script_source("add_used"))
        self._seed_script = client.register_script(script_source("seed"))

    @classmethod
    def from_settings(cls, settings: Settings, *, seed: MonthSeed | None = None) -> RedisLimits:
        return cls(connect(settings), reservation_ttl=settings.reservation_ttl, seed=seed)

    def _keys(self, tenant_id: str, month: str) -> tuple[list[str], str]:
        base = f"{self._namespace}:{{{tenant_id}}}:"
        prefix = f"{base}credits:"
        names = ("rate", "inflight", "res", "done")
        return [base + name for name in names] + [prefix + month], prefix

    async def admit(
        self,
        tenant_id: str,
        limits: TenantLimits,
        *,
        request_id: str,
        tokens: int,
        credits_n: int,
        hosted: bool,
        now: datetime | None = None,
    ) -> Admission:
        month = month_key(now or datetime.now(UTC))
        if limits.unlimited:
            return Admission(request_id, tenant_id, 0, 0, month, hosted, "none")
        keys, prefix = self._keys(tenant_id, month)
        args = [
            prefix,
            request_id,
            _limit(limits.rpm),
            _limit(limits.tpm),
            _limit(limits.concurrency),
            _limit(limits.monthly_credits_n),
            tokens,
            credits_n,
            1 if hosted else 0,
            self._ttl_ms,
            month,
        ]
        reply = await self._admit(keys=keys, args=args)
        if reply[0] == UNSEEDED:
            await self._seed_from_source(tenant_id, month)
            reply = await self._admit(keys=keys, args=args)
        verdict = Verdict(*(int(x) for x in reply))
        headers = window.render(limits, verdict, tokens=tokens, credits_n=credits_n)
        budgeted = hosted and limits.monthly_credits_n is not None
        held = credits_n if budgeted else 0
        return Admission(request_id, tenant_id, tokens, held, month, hosted, "redis", headers)

    async def settle(self, admission: Admission, *, tokens: int, credits_n: int) -> bool:
        """Settle to the real figures; True if this call did it (False: already done)."""
        return await self._finish_one(admission, tokens, credits_n)

    async def release(self, admission: Admission) -> bool:
        """Give everything back (the call failed or the client left): no credits, and
        the tokens returned to the minute; the request still counts."""
        return await self._finish_one(admission, 0, 0)

    async def _finish_one(self, admission: Admission, tokens: int, credits_n: int) -> bool:
        if admission.engine == "none":
            return False
        keys, prefix = self._keys(admission.tenant_id, admission.month)
        hosted = 1 if admission.hosted else 0
        args = [prefix, admission.request_id, tokens, credits_n, hosted, self._ttl_ms]
        return bool(await self._finish(keys=keys, args=args))

    async def usage(self, tenant_id: str, now: datetime | None = None) -> tuple[int, int]:
        month = month_key(now or datetime.now(UTC))
        keys, prefix = self._keys(tenant_id, month)
        used, reserved = await self._usage(keys=keys, args=[prefix])
        if int(used) < 0:
            await self._seed_from_source(tenant_id, month)
            used, reserved = await self._usage(keys=keys, args=[prefix])
        return int(used), int(reserved)

    async def seed_month(self, tenant_id: str, month: str, used_n: int) -> None:
        keys, prefix = self._keys(tenant_id, month)
        await self._seed_script(keys=keys, args=[prefix, used_n])

    async def add_used(self, tenant_id: str, month: str, credits_n: int) -> bool:
        """Add credits spent elsewhere (the fallback's catch-up) to a seeded month."""
        keys, prefix = self._keys(tenant_id, month)
        return bool(await self._add_used(keys=keys, args=[prefix, credits_n]))

    async def ping(self) -> None:
        await self.client.ping()

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _seed_from_source(self, tenant_id: str, month: str) -> None:
        used_n = await self._seed(tenant_id, month) if self._seed is not None else 0
        await self.seed_month(tenant_id, month, used_n)
