"""Redis when it answers, this process's counters when it does not: never a 500.

``FallbackLimits`` sends every operation to ``RedisLimits``. When Redis fails
(refused, reset, or slower than ``redis_timeout``) it logs one warning, serves
from a ``LocalLimits`` (status ``"local (redis unreachable)"``: each process then
enforces the limits on its own) and tries Redis again at most every
``retry_interval`` seconds, on the next call after it. A 429 from Redis is an
answer, not a failure: it passes through.

What catches up when Redis is back (before Redis serves again):

* the settles and releases of calls Redis admitted that finished while it was
  away are replayed (they are idempotent per request id, so a replay that had in
  fact reached Redis does nothing);
* an admit whose reply was lost may have taken its reservation: its release is
  replayed too (a release of an id Redis never saw only marks it done);
* credits settled by the calls admitted here meanwhile are added to the Redis
  month's ``used`` (``RedisLimits.add_used``; a month Redis has not seeded is
  seeded from the database, which has them).

What does not: the rate windows (they refill within a minute anyway) and the
concurrency of the calls admitted here (they settle here). Each outage starts
the local months afresh from the database seed, since what this process knew
from before is stale.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from redis.exceptions import RedisError

from modelgate.errors import GatewayError
from modelgate.limits.local import LocalLimits
from modelgate.limits.redis_engine import RedisLimits
from modelgate.limits.types import Admission, TenantLimits, month_key

log = logging.getLogger("modelgate.limits")

# What a failing Redis raises: its own errors (ConnectionError, TimeoutError,
# NOSCRIPT after a failed load…), a socket's, and a pool wait that timed out.
REDIS_FAILURES = (RedisError, OSError, TimeoutError)

UNREACHABLE = "local (redis unreachable)"


class FallbackLimits:
    """``LimitsEngine`` on Redis, falling back to this process (module docstring)."""

    def __init__(
        self, redis: RedisLimits, local: LocalLimits, *, retry_interval: float = 1.0
    ) -> None:
        self.redis = redis
        self.local = local
        self._retry_interval = retry_interval
        self._up = True
        self._retry_at = 0.0
        self._recovering = False
        # Catch-up, kept while Redis is away: finishes to replay, credits to add.
        self._replay: list[Callable[[], Awaitable[bool]]] = []
        self._owed: defaultdict[tuple[str, str], int] = defaultdict(int)

    @property
    def status(self) -> str:
        return "redis" if self._up else UNREACHABLE

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
        kwargs = dict(
            request_id=request_id, tokens=tokens, credits_n=credits_n, hosted=hosted, now=now
        )
        if not limits.unlimited and await self._redis_usable():
            try:
                return await self.redis.admit(tenant_id, limits, **kwargs)  # type: ignore[arg-type]
            except GatewayError:
                raise  # a 429: Redis answered
            except REDIS_FAILURES as exc:
                self._went_down(exc)
                # The reply was lost, not necessarily the admit: give back what it took.
                month = month_key(now or datetime.now(UTC))
                lost = Admission(request_id, tenant_id, 0, 0, month, hosted, "redis")
                self._replay.append(lambda: self.redis.release(lost))
        return await self.local.admit(tenant_id, limits, **kwargs)  # type: ignore[arg-type]

    async def settle(self, admission: Admission, *, tokens: int, credits_n: int) -> bool:
        if admission.engine == "local":
            settled = await self.local.settle(admission, tokens=tokens, credits_n=credits_n)
            if settled and admission.hosted and credits_n:
                self._owed[(admission.tenant_id, admission.month)] += credits_n
                if self._up:
                    try:
                        await self._pay_owed()
                    except REDIS_FAILURES as exc:
                        self._went_down(exc)
            return settled
        if admission.engine == "none":
            return False
        return await self._on_redis(
            lambda: self.redis.settle(admission, tokens=tokens, credits_n=credits_n)
        )

    async def release(self, admission: Admission) -> bool:
        if admission.engine == "local":
            return await self.local.release(admission)
        if admission.engine == "none":
            return False
        return await self._on_redis(lambda: self.redis.release(admission))

    async def usage(self, tenant_id: str, now: datetime | None = None) -> tuple[int, int]:
        if await self._redis_usable():
            try:
                return await self.redis.usage(tenant_id, now)
            except REDIS_FAILURES as exc:
                self._went_down(exc)
        return await self.local.usage(tenant_id, now)

    async def seed_month(self, tenant_id: str, month: str, used_n: int) -> None:
        await self.local.seed_month(tenant_id, month, used_n)
        if await self._redis_usable():
            try:
                await self.redis.seed_month(tenant_id, month, used_n)
            except REDIS_FAILURES as exc:
                self._went_down(exc)

    async def aclose(self) -> None:
        await self.redis.aclose()

    async def _on_redis(self, operation: Callable[[], Awaitable[bool]]) -> bool:
        """Run a finish on Redis, or keep it for the catch-up if Redis is away."""
        if await self._redis_usable():
            try:
                return await operation()
            except REDIS_FAILURES as exc:
                self._went_down(exc)
        self._replay.append(operation)
        return True  # done, as far as the caller goes: Redis will have it

    def _went_down(self, exc: BaseException) -> None:
        if self._up:
            # The type only: a message could carry the URL (and its password).
            log.warning(
                "redis unreachable (%s): limits are per process until it is back",
                type(exc).__name__,
            )
            self.local.forget_months()
        self._up = False
        self._retry_at = time.monotonic() + self._retry_interval

    async def _redis_usable(self) -> bool:
        if self._up:
            return True
        if self._recovering or time.monotonic() < self._retry_at:
            return False
        self._recovering = True  # one caller tries; the others stay local meanwhile
        try:
            await self.redis.ping()
            await self._catch_up()
        except REDIS_FAILURES:
            self._retry_at = time.monotonic() + self._retry_interval
            return False
        finally:
            self._recovering = False
        self._up = True
        log.warning("redis is back: limits are shared again")
        return True

    async def _catch_up(self) -> None:
        while self._replay or self._owed:
            while self._replay:
                await self._replay[0]()
                self._replay.pop(0)  # only once it has reached Redis
            await self._pay_owed()

    async def _pay_owed(self) -> None:
        """Add the credits settled here to the Redis months (a failure keeps them)."""
        for key in list(self._owed):
            credits_n = self._owed.pop(key)
            try:
                await self.redis.add_used(*key, credits_n)
            except BaseException:
                self._owed[key] += credits_n
                raise
