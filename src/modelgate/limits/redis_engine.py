"""The limits engine on Redis: every process and replica shares one set of counters.

Each operation is one Lua script (``lua/*.lua``, with ``lua/common.lua``
prepended), so each is one atomic round trip: Redis runs a script to the end
before any other command, so no two admits can both see the last free unit.
Scripts are sent by EVALSHA, pre-packed, over ``redis_calls.LeanPool`` (redis-py's
general command path cost too much CPU per call: see that module); a NOSCRIPT
answer (after a restart, say) loads the script and sends it again.

Keys are ``<ns>:{<tenant>}:…`` (the braces are a cluster hash tag: a tenant's
keys share one slot): ``rate``, ``inflight``, ``res``, ``done`` and
``credits:<YYYY-MM>``; ``lua/common.lua`` says what each holds.

The pool is bounded (``redis_pool_size`` connections; a caller waits at most
``redis_timeout`` for one) and short timeouts, and never retries by itself:
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
from modelgate.limits.redis_calls import LeanPool, Script
from modelgate.limits.resp_connection import bulk
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


def _ints(*values: int) -> bytes:
    return b"".join(bulk(b"%d" % value) for value in values)


KEY_NAMES = ("rate", "inflight", "res", "done")
KEYS_CACHED = 4096  # (tenant, month) pairs; past that the cache starts afresh


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
        pool = client.connection_pool
        self._pool = LeanPool(
            client, size=pool.max_connections, timeout=getattr(pool, "timeout", None) or 1.0
        )
        self._admit = self._script("admit", 11)
        self._finish = self._script("finish", 6)
        self._usage = self._script("usage", 1)
        self._add_used = self._script("add_used", 2)
        self._seed_script = self._script("seed", 2)
        self._packed_keys: dict[tuple[str, str], bytes] = {}

    def _script(self, name: str, numargs: int) -> Script:
        source = script_source(name)
        return Script(source, self.client.register_script(source).sha, len(KEY_NAMES) + 1,
                      numargs)

    @classmethod
    def from_settings(cls, settings: Settings, *, seed: MonthSeed | None = None) -> RedisLimits:
        return cls(connect(settings), reservation_ttl=settings.reservation_ttl, seed=seed)

    def _keys(self, tenant_id: str, month: str) -> bytes:
        """The five keys, then ARGV[1] (the month prefix), packed: cached, since
        every call of a tenant in a month sends the same ones."""
        packed = self._packed_keys.get((tenant_id, month))
        if packed is None:
            base = f"{self._namespace}:{{{tenant_id}}}:"
            prefix = f"{base}credits:"
            keys = [base + name for name in KEY_NAMES] + [prefix + month, prefix]
            packed = b"".join(bulk(key.encode()) for key in keys)
            if len(self._packed_keys) >= KEYS_CACHED:
                self._packed_keys.clear()
            self._packed_keys[(tenant_id, month)] = packed
        return packed

    async def _run(self, script: Script, tenant_id: str, month: str, args: bytes):
        packed = script.head + self._keys(tenant_id, month) + args
        return await self._pool.evalsha(script, packed)

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
        # ARGV 2-11 (ARGV[1], the month prefix, goes with the keys).
        args = (
            bulk(request_id.encode())
            + _ints(
                _limit(limits.rpm),
                _limit(limits.tpm),
                _limit(limits.concurrency),
                _limit(limits.monthly_credits_n),
                tokens,
                credits_n,
                1 if hosted else 0,
                self._ttl_ms,
            )
            + bulk(month.encode())
        )
        reply = await self._run(self._admit, tenant_id, month, args)
        if reply[0] == UNSEEDED:
            await self._seed_from_source(tenant_id, month)
            reply = await self._run(self._admit, tenant_id, month, args)
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
        args = bulk(admission.request_id.encode()) + _ints(
            tokens, credits_n, 1 if admission.hosted else 0, self._ttl_ms
        )
        return bool(await self._run(self._finish, admission.tenant_id, admission.month, args))

    async def usage(self, tenant_id: str, now: datetime | None = None) -> tuple[int, int]:
        month = month_key(now or datetime.now(UTC))
        used, reserved = await self._run(self._usage, tenant_id, month, b"")
        if int(used) < 0:
            await self._seed_from_source(tenant_id, month)
            used, reserved = await self._run(self._usage, tenant_id, month, b"")
        return int(used), int(reserved)

    async def seed_month(self, tenant_id: str, month: str, used_n: int) -> None:
        await self._run(self._seed_script, tenant_id, month, _ints(used_n))

    async def add_used(self, tenant_id: str, month: str, credits_n: int) -> bool:
        """Add credits spent elsewhere (the fallback's catch-up) to a seeded month."""
        return bool(await self._run(self._add_used, tenant_id, month, _ints(credits_n)))

    async def ping(self) -> None:
        await self._pool.command(b"PING")

    async def aclose(self) -> None:
        await self._pool.aclose()
        await self.client.aclose()

    async def _seed_from_source(self, tenant_id: str, month: str) -> None:
        used_n = await self._seed(tenant_id, month) if self._seed is not None else 0
        await self.seed_month(tenant_id, month, used_n)
