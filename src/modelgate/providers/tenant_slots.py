"""A per-tenant cap on concurrent upstream calls through custom endpoints.

Every tenant's own ``base_url`` shares one connection pool. A tenant whose
endpoint is slow (or trickles a byte a minute) would otherwise fill it with its
own calls, and every other tenant's calls would queue behind them. So each
tenant may have at most ``limit`` such calls at once; the next one is refused
at once (429 ``rate_limit_exceeded``), not queued behind its own slow endpoint.

A slot is held for the whole call, a whole stream included, and released on
every way out: an answer, an error, a client that leaves, a cancellation::

    slot = slots.take(tenant_id)              # raises RateLimitExceeded when full
    with slot:                                # a plain answer
        answer = await adapter.complete(...)
    chunks = slot.held_through(adapter.stream(...))   # a stream: released when it closes

The count lives in one dict, in the event loop's thread (no lock needed); a
tenant's entry goes when its last call ends, so idle tenants cost nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from types import TracebackType

from modelgate.errors import RateLimitExceeded

__all__ = ["RETRY_AFTER_SECONDS", "RateLimitExceeded", "Slot", "TenantSlots"]

RETRY_AFTER_SECONDS = 1  # a slot frees when one of the tenant's own calls ends


class Slot:
    """One admitted call; ``release`` is idempotent, so every exit path may call it."""

    __slots__ = ("_slots", "_tenant_id", "_held")

    def __init__(self, slots: TenantSlots, tenant_id: str) -> None:
        self._slots = slots
        self._tenant_id = tenant_id
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._slots._give_back(self._tenant_id)

    def __enter__(self) -> Slot:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()

    async def held_through(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """Relay ``chunks`` and release the slot when the stream ends or is closed.

        ``chunks`` must be an async generator: closing this one closes it."""
        try:
            async with aclosing(chunks):  # type: ignore[type-var]
                async for chunk in chunks:
                    yield chunk
        finally:
            self.release()


class TenantSlots:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._in_use: dict[str, int] = {}

    def take(self, tenant_id: str) -> Slot:
        held = self._in_use.get(tenant_id, 0)
        if held >= self.limit:
            refused = RateLimitExceeded(
                f"Too many concurrent calls to your own endpoints (base_url): at most "
                f"{self.limit} at once. Retry when one of them has finished.",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
            refused.reason = "concurrency"
            raise refused
        self._in_use[tenant_id] = held + 1
        return Slot(self, tenant_id)

    def in_use(self, tenant_id: str) -> int:
        return self._in_use.get(tenant_id, 0)

    def tenants(self) -> int:
        """Tenants with a call in flight (the dict holds no one else)."""
        return len(self._in_use)

    def _give_back(self, tenant_id: str) -> None:
        held = self._in_use[tenant_id] - 1
        if held:
            self._in_use[tenant_id] = held
        else:
            del self._in_use[tenant_id]
