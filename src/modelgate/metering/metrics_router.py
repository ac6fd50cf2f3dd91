"""``GET /metrics``: the Prometheus scrape, for the operator, not for tenants.

Access, as the contract says: with ``MODELGATE_METRICS_TOKEN`` set, only a
request carrying ``Authorization: Bearer <it>`` (compared in constant time),
from anywhere; unset, only loopback clients (127.0.0.0/8, ::1), and every
other client gets 404 as if there were no such path. Behind a reverse proxy on
the same host, set the token: uvicorn takes the client's address from the
proxy's ``X-Forwarded-For`` only when the proxy sends one.

Not in the OpenAPI document: it is no part of the tenant API, takes no tenant
token, and answers in Prometheus text rather than JSON.
"""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import APIRouter, Request, Response
from pydantic import SecretStr

from modelgate.deps import GatewayDep
from modelgate.errors import InvalidToken, NotFound
from modelgate.metering import metrics

router = APIRouter(include_in_schema=False)


# A plain def: FastAPI runs it in its thread pool, so that rendering a large
# scrape (every worker's files, in multiprocess mode) never blocks the event loop.
@router.get("/metrics")
def get_metrics(request: Request, gateway: GatewayDep) -> Response:
    authorize(request, gateway.settings.metrics_token)
    body, content_type = metrics.render(request.headers.get("accept"))
    return Response(content=body, media_type=content_type)


def authorize(request: Request, token: SecretStr | None) -> None:
    """Raise unless this client may scrape (see the module doc)."""
    if token is not None:
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        expected = token.get_secret_value().encode()
        # compare_digest on bytes: constant time whatever the input (str needs ASCII).
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode(), expected
        ):
            raise InvalidToken(
                "GET /metrics needs the metrics token: "
                "Authorization: Bearer <MODELGATE_METRICS_TOKEN>.",
                headers={"www-authenticate": "Bearer"},
            )
        return
    if not is_loopback(request.client.host if request.client else None):
        raise NotFound(
            "Unknown path. (GET /metrics answers only to loopback clients while "
            "MODELGATE_METRICS_TOKEN is unset.)"
        )


def is_loopback(host: str | None) -> bool:
    """127.0.0.0/8, ::1, or an IPv4-mapped loopback address; a name is not."""
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:  # a hostname, a unix socket path: not an address we can trust
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback
