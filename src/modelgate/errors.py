"""Every error the gateway can answer with, and the one place that renders them.

The tree (each class fixes status, OpenAI ``type`` and ``code``):

    GatewayError
    ├── InvalidRequest (400)            ─ ApiVersionInvalid, InvalidJSON
    ├── ValidationFailed (422)          ─ ModelKeyMissing, BaseUrlInvalid,
    │                                     BaseUrlNotSupported, KeyUnavailable,
    │                                     ModelTypeMismatch
    ├── InvalidToken (401)
    ├── InsufficientScope (403)
    ├── NotFound (404)                  ─ ModelNotFound, ProviderNotFound
    ├── Conflict (409)                  ─ ModelNameTaken
    ├── ModelRetired (410)
    ├── PayloadTooLarge (413)
    ├── RateLimitExceeded (429, retry)  ─ rpm, tpm or concurrency (Retry-After)
    ├── InsufficientQuota (429)         ─ the month's hosted credits cannot cover a call
    ├── ClientClosedRequest (499, only logged: the client has gone)
    ├── UpstreamError (4xx passed on from a provider)
    ├── UpstreamUnavailable (502)
    ├── UpstreamTimeout (504)
    ├── LoopDetected (508)
    └── DatabaseUnavailable (503)

Services raise these and never import FastAPI; ``http_errors.install`` renders
them (and FastAPI's, Starlette's and the database driver's own) in the OpenAI
error shape ``{"error": {"type", "code", "message", "param"}}``.
"""

from __future__ import annotations

from typing import Any


class GatewayError(Exception):
    status_code: int = 500
    type: str = "server_error"
    code: str = "internal_error"
    # Deterministic errors tell SDKs not to retry (the openai SDK reads this header).
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        status_code: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if status_code is not None:
            self.status_code = status_code
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "type": self.type,
                "code": self.code,
                "message": self.message,
                "param": self.param,
            }
        }


class InvalidRequest(GatewayError):
    status_code = 400
    type = "invalid_request_error"
    code = "invalid_request"


class ApiVersionInvalid(InvalidRequest):
    code = "api_version_invalid"


class InvalidJSON(InvalidRequest):
    code = "invalid_json"


class ValidationFailed(GatewayError):
    status_code = 422
    type = "invalid_request_error"
    code = "validation_error"


class ModelKeyMissing(ValidationFailed):
    code = "model_key_missing"


class BaseUrlInvalid(ValidationFailed):
    code = "base_url_invalid"


class BaseUrlNotSupported(ValidationFailed):
    code = "base_url_not_supported"


class KeyUnavailable(ValidationFailed):
    """A stored key exists but cannot be decrypted (wrong binding or a missing keyring id)."""

    code = "key_unavailable"


class ModelTypeMismatch(ValidationFailed):
    """A chat call on a model that is not ``chat_completion``, or an embeddings
    call on one that is not ``embedding`` (CONTRACT-2, param ``model``)."""

    code = "model_type_mismatch"


class InvalidToken(GatewayError):
    status_code = 401
    type = "authentication_error"
    code = "invalid_token"


class InsufficientScope(GatewayError):
    status_code = 403
    type = "permission_error"
    code = "insufficient_scope"


class NotFound(GatewayError):
    status_code = 404
    type = "invalid_request_error"
    code = "not_found"


class ModelNotFound(NotFound):
    code = "model_not_found"


class ProviderNotFound(NotFound):
    code = "provider_not_found"


class MethodNotAllowed(GatewayError):
    status_code = 405
    type = "invalid_request_error"
    code = "method_not_allowed"


class Conflict(GatewayError):
    status_code = 409
    type = "invalid_request_error"
    code = "conflict"


class ModelNameTaken(Conflict):
    """A config or group name that the tenant already uses (configs and groups
    share one namespace, case-insensitive) or that is a catalog id or alias."""

    code = "model_name_taken"


class ModelRetired(GatewayError):
    status_code = 410
    type = "invalid_request_error"
    code = "model_retired"


class PayloadTooLarge(GatewayError):
    status_code = 413
    type = "invalid_request_error"
    code = "request_too_large"


class RateLimitExceeded(GatewayError):
    """CONTRACT-2's 429 for a tenant over a rate or concurrency limit (the upstream
    is not called); raisers set ``Retry-After`` in ``headers``."""

    status_code = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"
    retryable = True
    reason = "other"  # which limit, for modelgate_rate_limited_total{reason}


class InsufficientQuota(GatewayError):
    """CONTRACT-2's 429 for a hosted call whose worst-case credits do not fit in
    what is left of the month: retrying cannot help until the limit changes."""

    status_code = 429
    type = "insufficient_quota"
    code = "insufficient_quota"
    reason = "budget"


class ClientClosedRequest(GatewayError):
    """The client left before the answer; nobody reads this, but the log shows 499."""

    status_code = 499
    type = "invalid_request_error"
    code = "client_closed_request"


class UpstreamError(GatewayError):
    """A provider's own 4xx, passed on with its status and its message."""

    type = "invalid_request_error"
    code = "upstream_error"

    def __init__(self, message: str, *, status_code: int, **kwargs: Any) -> None:
        super().__init__(message, status_code=status_code, **kwargs)
        if status_code == 429:
            self.type = "rate_limit_error"
            self.retryable = True
        elif status_code == 401:
            self.type = "authentication_error"
        elif status_code == 403:
            self.type = "permission_error"


class UpstreamUnavailable(GatewayError):
    status_code = 502
    type = "api_error"
    code = "upstream_unavailable"
    retryable = True


class UpstreamTimeout(GatewayError):
    status_code = 504
    type = "api_error"
    code = "upstream_timeout"
    retryable = True


class LoopDetected(GatewayError):
    """The request came from a gateway (ours: it carries the hop header), so
    serving it would call the gateway again, and again."""

    status_code = 508
    type = "invalid_request_error"
    code = "loop_detected"


class DatabaseUnavailable(GatewayError):
    status_code = 503
    type = "api_error"
    code = "database_unavailable"
    retryable = True
