"""Members that just failed sit out for a few seconds (per process).

A member that failed with 429, 5xx, a dropped or refused connection or a
timeout is *cooling down*: for 5 s after its first failure, doubling on each
consecutive one up to 60 s; a success forgets it. While it cools, a group tries
it only after every other member (``order``): the others first, in the plan's
order, then the cooling ones, the least recently failed first. So when every
member is cooling the call is still tried, never refused at once (LiteLLM
3646), and a request's own fault (400/404/422) never cools anything (LiteLLM
40130): ``failover.py`` only reports the failures listed above.

Keys are (tenant, provider, resolved model): one tenant's BYOK key failing never
cools another tenant's calls. Memory is bounded: past ``max_entries`` the
oldest entries are dropped (a dict keeps insertion order; a failure moves its
key to the end).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

BASE_SECONDS = 5.0
MAX_SECONDS = 60.0
MAX_ENTRIES = 10_000

Key = tuple[str, str, str]  # tenant id, provider id, upstream model
T = TypeVar("T")


@dataclass(slots=True)
class _Failing:
    failures: int
    failed_at: float
    until: float


class Cooldowns:
    def __init__(
        self,
        *,
        base: float = BASE_SECONDS,
        ceiling: float = MAX_SECONDS,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._base = base
        self._ceiling = ceiling
        self._max = max_entries
        self._clock = clock
        self._failing: dict[Key, _Failing] = {}

    def failed(self, key: Key) -> float:
        """Record a failure; returns the seconds the member now cools down."""
        now = self._clock()
        previous = self._failing.pop(key, None)
        failures = 1 if previous is None else previous.failures + 1
        seconds = min(self._base * 2 ** min(failures - 1, 16), self._ceiling)
        self._failing[key] = _Failing(failures, now, now + seconds)
        while len(self._failing) > self._max:
            del self._failing[next(iter(self._failing))]
        return seconds

    def succeeded(self, key: Key) -> None:
        if self._failing:
            self._failing.pop(key, None)

    def cooling(self, key: Key) -> bool:
        entry = self._failing.get(key)
        return entry is not None and entry.until > self._clock()

    def order(self, items: Sequence[T], key_of: Callable[[T], Key | None]) -> list[T]:
        """``items`` with the cooling ones moved last, least recently failed first.
        ``key_of`` None: the item cannot cool (it will not reach a provider)."""
        if not self._failing:
            return list(items)
        now = self._clock()
        ready: list[T] = []
        cooling: list[tuple[float, int, T]] = []
        for index, item in enumerate(items):
            key = key_of(item)
            entry = self._failing.get(key) if key is not None else None
            if entry is not None and entry.until > now:
                cooling.append((entry.failed_at, index, item))
            else:
                ready.append(item)
        cooling.sort(key=lambda c: (c[0], c[1]))
        return ready + [item for _, _, item in cooling]

    def __len__(self) -> int:
        return len(self._failing)
