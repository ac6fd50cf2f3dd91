"""Structured logs: one JSON object per line, request-scoped fields, redaction.

Every record carries the request id and tenant id of the request it belongs to
(through context variables). A redaction filter rewrites anything shaped like a
bearer token, a provider key or an Authorization header before it is written,
and every known platform key is masked by value, so that no secret can reach a
log line even by mistake.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO

import orjson

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
tenant_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "tenant_id", default=None
)

REDACTED = "[redacted]"
# Shapes of secrets: our tokens, common provider key formats, and auth headers.
_SECRET_PATTERNS = re.compile(
    # A labelled credential, with its scheme word if it has one: the value goes.
    r"(?i:(?:x-api-key|x-goog-api-key|proxy-authorization|authorization|api[_-]?key)"
    r"[\"']?\s*[:=]\s*[\"']?(?:(?:bearer|basic|token)\s+)?)[^\s\"',}]+"
    r"|(?i:bearer|basic)\s+[^\s\"',]+"
    # Key shapes: ours, OpenAI/Anthropic/DeepSeek, Groq, xAI, Google.
    r"|mg_[A-Za-z0-9_-]{8,}"
    r"|sk-[A-Za-z0-9_-]{8,}"
    r"|gsk_[A-Za-z0-9]{8,}"
    r"|xai-[A-Za-z0-9_-]{8,}"
    r"|AIza[0-9A-Za-z_-]{20,}"
)
# uvicorn adds a colourised copy of its message; it says nothing new.
_STANDARD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


class Redactor(logging.Filter):
    """Masks secret-shaped text and any registered secret value in every record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if len(s) >= 6)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return _SECRET_PATTERNS.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = self.redact(message)
        record.args = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        record.exc_info = None
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, self.redact(value))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id_var.get(),
            "tenant_id": tenant_id_var.get(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_text:
            entry["exc"] = record.exc_text
        return orjson.dumps(entry, default=str).decode()


def configure_logging(
    level: str, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> logging.Handler:
    """Route every logger (ours, uvicorn's, SQLAlchemy's) through one redacting JSON handler."""
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(Redactor(secrets))
    root = logging.getLogger()
    # Configuring twice for the same stream replaces, never duplicates, our handler.
    for old in list(root.handlers):
        if getattr(old, "_modelgate_stream", None) is stream:
            root.removeHandler(old)
    handler._modelgate_stream = stream  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
    # Our lines never show the thread, the process or the caller's file and line, and
    # each costs a look-up on every record, the access line of every call included
    # (the logging HOWTO's "Optimization": these four switches).
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None  # type: ignore[attr-defined]
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # Our middleware writes the access line (with request id and duration).
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every upstream URL at INFO (a tenant's base_url among them): not ours to publish.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
