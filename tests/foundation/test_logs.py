"""The redaction filter, on the shapes of secret that could reach a log line."""

from __future__ import annotations

import io
import logging

import orjson
import pytest

from modelgate.logs import REDACTED, Redactor, configure_logging

SECRETS = [
    "Authorization: Bearer gsk_abcdefghijklmnop",
    "authorization=Basic dXNlcjpwYXNzd29yZA==",
    '{"x-api-key": "raw-key-without-a-known-shape"}',
    "x-goog-api-key: AIzaSyA-1234567890abcdefghijkl",
    "api_key=whatever123",
    "token mg_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG was used",
    "sk-proj-abcdefghijklmnop",
    "sk-ant-api03-abcdefghijkl",
    "xai-abcdefghijklmnop",
    "bearer abc.def.ghi",
]


@pytest.mark.parametrize("text", SECRETS)
def test_secret_shapes_are_masked(text: str) -> None:
    redacted = Redactor().redact(text)
    assert REDACTED in redacted
    for fragment in ("gsk_abcdefghijklmnop", "dXNlcjpwYXNzd29yZA", "raw-key-without", "AIzaSyA",
                     "whatever123", "mg_abcdefgh", "sk-proj-abc", "sk-ant-api03", "xai-abcdef", "abc.def.ghi"):
        assert fragment not in redacted


def test_registered_values_and_exceptions_are_masked() -> None:
    stream = io.StringIO()
    handler = configure_logging("DEBUG", secrets=["plain-platform-key-value"], stream=stream)
    try:
        log = logging.getLogger("modelgate.test")
        log.info("calling with %s", "plain-platform-key-value", extra={"detail": "Bearer zzz-secret"})
        try:
            raise ValueError("failed with sk-live-0123456789abcdef")
        except ValueError:
            log.exception("boom")
    finally:
        logging.getLogger().removeHandler(handler)
    text = stream.getvalue()
    assert "plain-platform-key-value" not in text and "zzz-secret" not in text
    assert "sk-live-0123456789abcdef" not in text
    lines = [orjson.loads(line) for line in text.splitlines()]
    assert lines[0]["message"] == f"calling with {REDACTED}" and "exc" in lines[1]


def test_ordinary_text_is_left_alone() -> None:
    text = "GET /v1/tenant/models 200 model=gpt-4o provider=openai skill-level=3"
    assert Redactor().redact(text) == text
