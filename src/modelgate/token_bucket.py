"""A token bucket: at most ``burst`` events at once, refilled at ``rate`` per second.

Per process and not thread-safe: it is only touched from the event loop, between
two awaits, so no lock is needed.
"""

from __future__ import annotations

import time


class TokenBucket:
    def __init__(self, rate: float, burst: int) -> None:
        if rate <= 0 or burst <= 0:
            raise ValueError("rate and burst must be positive")
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._updated = time.monotonic()

    def try_take(self) -> bool:
        """Take one token if there is one; never waits."""
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True
