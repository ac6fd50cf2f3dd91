"""The transport for tenant-chosen endpoints (BYOK ``base_url``): every connection
is checked against SSRF at the moment it is made (see ``address_guard``).

It also gives custom endpoints their own connection pool, so a tenant's slow
endpoint cannot use up the connections that platform-key calls need, and
within that pool it bounds what one host can hold (``max_per_host``) and how
long a lookup may take (``lookup_timeout``, with no thread held meanwhile).
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from modelgate.providers.address_guard import AddressGuard, BlockedAddress, LookupTimedOut
from modelgate.providers.aiohttp_transport import AiohttpTransport

__all__ = ["BlockedAddress", "GuardedTransport", "LookupTimedOut"]


class GuardedTransport(AiohttpTransport):
    def __init__(
        self,
        *,
        allow_private: bool,
        limits: httpx.Limits,
        max_per_host: int = 0,
        lookup_timeout: float = 2.0,
        nameservers: Sequence[str] = (),
    ) -> None:
        guard = AddressGuard(
            allow_private=allow_private, lookup_timeout=lookup_timeout, nameservers=nameservers
        )
        super().__init__(limits=limits, guard=guard, limit_per_host=max_per_host)
