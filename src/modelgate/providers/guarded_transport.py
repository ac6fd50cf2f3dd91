"""The transport for tenant-chosen endpoints (BYOK ``base_url``): every connection
is checked against SSRF at the moment it is made (see ``address_guard``).

It also gives custom endpoints their own connection pool, so a tenant's slow
endpoint cannot use up the connections that platform-key calls need.
"""

from __future__ import annotations

import httpx

from modelgate.providers.address_guard import AddressGuard, BlockedAddress
from modelgate.providers.aiohttp_transport import AiohttpTransport

__all__ = ["BlockedAddress", "GuardedTransport"]


class GuardedTransport(AiohttpTransport):
    def __init__(self, *, allow_private: bool, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, guard=AddressGuard(allow_private=allow_private))
