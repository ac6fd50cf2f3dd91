"""The one place where every exception becomes an answer in the OpenAI error shape.

Domain errors render as themselves; FastAPI's validation errors, Starlette's
404/405/413 and the database driver's connection failures are translated here,
once. Anything else is caught by the middleware: a 500 that says nothing about its
cause, with the details in the (redacted) log, never sent to the client.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from modelgate.errors import (
    DatabaseUnavailable,
    GatewayError,
    InvalidJSON,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ValidationFailed,
)

log = logging.getLogger("modelgate.errors")


def error_response(error: GatewayError) -> Response:
    headers = {"x-should-retry": "true" if error.retryable else "false", **error.headers}
    return Response(
        orjson.dumps(error.body()),
        status_code=error.status_code,
        media_type="application/json",
        headers=headers,
    )


def _gateway_error(exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    return error_response(exc)


def _param(loc: tuple) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or None


def _validation_error(exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "Invalid request.", "type": ""}
    if first.get("type") == "json_invalid":
        return error_response(InvalidJSON("The request body is not valid JSON."))
    param = _param(tuple(first.get("loc", ())))
    message = str(first.get("msg", "Invalid request."))
    if param:
        message = f"{param}: {message}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more)"
    return error_response(ValidationFailed(message, param=param))


_STATUS_ERRORS = {404: NotFound, 405: MethodNotAllowed, 413: PayloadTooLarge}


def _http_exception(exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    cls = _STATUS_ERRORS.get(exc.status_code)
    if cls is NotFound:
        error: GatewayError = NotFound("Unknown path.")
    elif cls is not None:
        error = cls(str(exc.detail))
    else:
        error = InvalidRequest(str(exc.detail), status_code=exc.status_code)
    error.headers.update(exc.headers or {})
    return error_response(error)


# SQLSTATE classes that mean "the database cannot serve us now", not "our query is
# wrong": connection exceptions, operator intervention (shutdown, starting up),
# too many connections, a missing database, refused authorisation.
_UNAVAILABLE_SQLSTATES = ("08", "57P", "53300", "3D000", "28")


def _lost_database(exc: Exception) -> bool:
    if not isinstance(exc, DBAPIError):
        return True  # a refused or unresolvable host, a pool or connect timeout
    if isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated:
        return True
    # asyncpg's own error (with its SQLSTATE) is the cause of the adapted one.
    for error in (exc.orig, getattr(exc.orig, "__cause__", None)):
        sqlstate = getattr(error, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
            return True
    return False


def _database_error(exc: Exception) -> Response:
    if not _lost_database(exc):  # e.g. an IntegrityError a service failed to translate: a bug
        return _unexpected(exc)
    log.warning("database unavailable: %s", type(exc).__name__)
    return error_response(DatabaseUnavailable("The database is unavailable; try again shortly."))


def _unexpected(exc: Exception) -> Response:
    log.error("unhandled error: %s", type(exc).__name__, exc_info=exc)
    return error_response(GatewayError("The gateway failed to handle this request."))


# Which exceptions get an answer here, and how. Anything else propagates to the
# middleware's last-resort 500. OSError covers a refused connection and a host name
# that does not resolve.
_RENDERERS: dict[type[Exception], Callable[[Exception], Response]] = {
    GatewayError: _gateway_error,
    RequestValidationError: _validation_error,
    HTTPException: _http_exception,
    DBAPIError: _database_error,
    PoolTimeoutError: _database_error,
    OSError: _database_error,
    TimeoutError: _database_error,
}


def render(exc: Exception) -> Response | None:
    """The answer for ``exc``, or None when it is not ours to answer (a bug: the
    middleware's 500). Looked up along the exception's MRO, as Starlette does, so the
    lean routes (lean_routes.py) and FastAPI's routes answer every error alike."""
    for cls in type(exc).__mro__:
        renderer = _RENDERERS.get(cls)
        if renderer is not None:
            return renderer(exc)
    return None


def install(app: FastAPI) -> None:
    for exc_class, renderer in _RENDERERS.items():
        app.add_exception_handler(exc_class, _handler(renderer))


def _handler(renderer: Callable[[Exception], Response]):
    # async, so that Starlette calls it inline rather than in a thread.
    async def handle(_: Request, exc: Exception) -> Response:
        return renderer(exc)

    return handle
