"""POST /v1/embeddings: OpenAI's embeddings request in, OpenAI's list answer out.

Same auth (scope ``runs:write``), resolution (the tenant's configs and groups of
type ``embedding`` first, then the catalog), keys, limits (the input estimated,
no output reserved) and metering (one usage event, ``endpoint: embeddings``) as
chat. The body is parsed once with orjson; the OpenAI-compatible passthrough
forwards that dict, Google's embedder translates the validated model.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response
from starlette.types import Receive

from modelgate.deps import GatewayDep, WritePrincipal
from modelgate.embeddings.schemas import EmbeddingsRequest
from modelgate.embeddings.service import EMBEDDING, PreparedEmbedding, prepare_embedding
from modelgate.routing.call import BodyReader, CallEndpoint, route_docs, serve_call
from modelgate.state import Gateway
from modelgate.tenants.auth import Principal

router = APIRouter(tags=["embeddings"])

_REQUEST_SCHEMA = EmbeddingsRequest.model_json_schema(ref_template="#/components/schemas/{model}")
# The request model's nested schemas; ``app.py`` may add them to the OpenAPI components.
SCHEMA_COMPONENTS: dict[str, Any] = _REQUEST_SCHEMA.pop("$defs", {})


@router.post(
    "/v1/embeddings",
    **route_docs(
        _REQUEST_SCHEMA,
        'An embeddings list: {"object": "list", "data", "model", "usage"}.',
    ),
)
async def embeddings(request: Request, principal: WritePrincipal, gateway: GatewayDep) -> Response:
    # Served by lean_routes.py in the running app; this route describes it in the
    # OpenAPI document and serves it when the app is used without that layer.
    return await serve_embeddings(request.body, request.receive, principal, gateway)


async def serve_embeddings(
    read_body: BodyReader, receive: Receive, principal: Principal, gateway: Gateway
) -> Response:
    """The whole call, after authentication and the scope check: one usage event."""
    return await serve_call(_EMBEDDINGS, read_body, receive, principal, gateway)


_EMBEDDINGS: CallEndpoint[EmbeddingsRequest, PreparedEmbedding] = CallEndpoint(
    name="embeddings",
    model_type=EMBEDDING,
    schema=EmbeddingsRequest,
    prepare=prepare_embedding,
)
