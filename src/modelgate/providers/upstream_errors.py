"""How an upstream's failures become our errors (used by ``HTTPAdapter`` and the
adapters, re-exported by ``providers.base``)::

    httpx.TimeoutException, the overall deadline   → UpstreamTimeout (504)
    any other httpx error, 5xx, unreadable body,
    a compressed or too complex answer             → UpstreamUnavailable (502)
    a provider's 4xx                               → UpstreamError (its status)
    an error reported inside a stream              → UpstreamUnavailable (502)

A provider's own message is passed on, with the call's key redacted and, on a
hosted call, the platform's ids, masked keys and usage figures too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import orjson

from modelgate.errors import (
    BaseUrlInvalid,
    GatewayError,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from modelgate.providers.guarded_transport import BlockedAddress
from modelgate.providers.hosted_redaction import redact_platform_details

if TYPE_CHECKING:
    from modelgate.providers.base import UpstreamTarget

_MESSAGE_LIMIT = 2000
_ERROR_BODY_PARSED = 64 * 1024  # a larger error body is not read for its message
_PASSED_ON_HEADERS = ("retry-after", "retry-after-ms")


def redact(text: str, target: UpstreamTarget) -> str:
    """The call's own key out of ``text``; on a hosted call, also the platform's
    ids, masked keys and usage figures (see ``hosted_redaction``)."""
    secret = target.api_key.get_secret_value()
    if secret:
        text = text.replace(secret, "[redacted]")
    return redact_platform_details(text) if target.hosted else text


def provider_message(body: bytes | bytearray, target: UpstreamTarget) -> str | None:
    """The message of an error body in OpenAI's, Anthropic's or Google's shape."""
    if len(body) > _ERROR_BODY_PARSED:  # real error bodies are a few KiB: bound the parse
        return None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if isinstance(data, list) and data:  # Google sometimes wraps its error in a list
        data = data[0]
    if not isinstance(data, dict):
        return None
    return message_of(data, target)


def message_of(data: dict[str, Any], target: UpstreamTarget) -> str | None:
    error = data.get("error", data)
    message = error.get("message") if isinstance(error, dict) else error
    if not isinstance(message, str) or not message.strip():
        return None
    return redact(message.strip(), target)[:_MESSAGE_LIMIT]


def status_error(
    response: httpx.Response, body: bytes | bytearray, target: UpstreamTarget
) -> GatewayError:
    status = response.status_code
    if 400 <= status < 500:
        message = provider_message(body, target)
        headers = {
            name: value[:64]
            for name in _PASSED_ON_HEADERS
            if status == 429 and (value := response.headers.get(name))
        }
        return UpstreamError(
            message or f"The provider rejected the request (HTTP {status}).",
            status_code=status,
            headers=headers,
        )
    return UpstreamUnavailable(f"The provider '{target.provider_id}' failed (HTTP {status}).")


def transport_error(exc: Exception, target: UpstreamTarget) -> GatewayError:
    if isinstance(exc.__cause__, BlockedAddress):
        return BaseUrlInvalid(
            f"The base_url stored for provider '{target.provider_id}' resolves to an address "
            "that is not allowed; set the key again with a public base_url.",
            param="model",
        )
    if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
        return UpstreamTimeout(f"The provider '{target.provider_id}' did not answer in time.")
    return UpstreamUnavailable(
        f"The provider '{target.provider_id}' could not be reached or dropped the connection."
    )


def unreadable(target: UpstreamTarget) -> UpstreamUnavailable:
    return UpstreamUnavailable(f"The provider '{target.provider_id}' sent an unreadable answer.")


def compressed(target: UpstreamTarget, encoding: str) -> UpstreamUnavailable:
    return UpstreamUnavailable(
        f"The provider '{target.provider_id}' sent a compressed answer (Content-Encoding: "
        f"{encoding}); the gateway asks for and accepts uncompressed answers only."
    )


def too_complex(target: UpstreamTarget, budget: int) -> UpstreamUnavailable:
    return UpstreamUnavailable(
        f"The provider '{target.provider_id}' sent an unreadable answer: too complex to "
        f"parse within {budget} bytes of memory."
    )


def stream_cut(target: UpstreamTarget) -> UpstreamUnavailable:
    return UpstreamUnavailable(
        f"The provider '{target.provider_id}' ended its stream before it was complete."
    )


def stream_error(data: dict[str, Any], target: UpstreamTarget) -> UpstreamUnavailable:
    """An error the provider reported inside a stream (after a 200)."""
    message = message_of(data, target) or "no message"
    return UpstreamUnavailable(f"The provider '{target.provider_id}' reported an error: {message}")
