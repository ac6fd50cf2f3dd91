"""The OpenAPI document, completed: every operation declares the errors it can give.

FastAPI only knows the errors a route names, and describes its own 422 with a
shape we never send. Clients generate code from this document and our schema
fuzzing checks every answer against it, so it must be exact. One rule table, kept
beside the rules that produce the errors, decides which statuses each operation
declares; all of them share one schema, the OpenAI error shape.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from modelgate.chat.router import SCHEMA_COMPONENTS
from modelgate.providers.registry import HOP_HEADER

ERROR_SCHEMA_NAME = "Error"
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "param", "code"],
            "additionalProperties": False,
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
        }
    },
}

# What each status means, wherever it is declared.
DESCRIPTIONS = {
    400: "Malformed request: an unknown or malformed IC-Api-Version, a body that is not JSON.",
    401: "Missing, unknown or revoked bearer token (invalid_token).",
    403: "The token lacks the scope this operation needs (insufficient_scope).",
    404: "No such model, provider or route.",
    410: "The model has reached its end of life (model_retired).",
    413: "The request body is over the configured limit (request_too_large).",
    422: "The request is well-formed but invalid (validation_error and the codes it names).",
    429: "The provider is rate limiting; retry-after is passed on.",
    502: "The provider failed or answered something unreadable (upstream_unavailable).",
    503: "The database is unavailable (database_unavailable); retry shortly.",
    504: "The provider did not answer in time (upstream_timeout).",
    508: f"The request came from a gateway ({HOP_HEADER} header): a loop (loop_detected).",
}


def _statuses(path: str, operation: dict[str, Any]) -> set[int]:
    """The errors that the middleware, auth and validation can give this operation,
    on top of those its route declares itself."""
    if not path.startswith("/v1/"):
        return {508}  # the middleware refuses a gateway's own hop on every path
    statuses = {400, 401, 403, 503, 508}  # version, auth, scope, database, loop
    parameters = operation.get("parameters", [])
    if "requestBody" in operation:
        statuses |= {413, 422}
    if parameters:
        statuses.add(422)
    # An unknown model or provider, named in the path or as the provider filter.
    if any(p.get("in") == "path" or p.get("name") == "provider" for p in parameters):
        statuses.add(404)
    return statuses


def _complete(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(SCHEMA_COMPONENTS)  # the chat request's hand-declared parts
    # FastAPI's own validation-error shape is never sent: our 422 is an Error too.
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components[ERROR_SCHEMA_NAME] = ERROR_SCHEMA
    error_content = {
        "application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA_NAME}"}}
    }
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            declared = {int(status) for status in responses if status.isdigit()}
            for status in sorted((declared - {200, 201, 204}) | _statuses(path, operation)):
                responses[str(status)] = {
                    "description": DESCRIPTIONS.get(status, "An error in the OpenAI shape."),
                    "content": error_content,
                }
    return schema


def install(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _complete(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
