"""Secret canaries over the whole test run (reported by conftest.py at the end).

Every gateway a test starts logs at DEBUG, the most verbose level. Every secret
the run handles is registered here as it appears: each token minted by
``seed_tenant``, each hosted key and keyring a gateway is started with, each
bearer token and each ``api_key`` a test sends to a gateway (whatever it is:
canaries that match no secret-looking pattern included, so only the code's
discipline keeps them out, not the log redactor's patterns).

Then everything the gateways put out is scanned for them:

- every log line each gateway wrote (``LogStream``);
- every response each gateway sent, headers and body, streams included (an
  observing ASGI wrapper, outside the app, that copies what goes to the socket);
- every row of every table, before each test's clean-up deletes it;
- the raw bytes of the SQLite files, at the end (deleted rows linger in pages).

At the end of the session any hit fails the run, with where it was found.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
import pytest

MIN_LENGTH = 12  # shorter values (e.g. "sk-a") would match by chance

_lock = threading.Lock()
_secrets: set[str] = set()
_texts: list[tuple[str, str]] = []  # (where, text) still to scan
_hits: list[tuple[str, str]] = []  # (where, which secret: its first 8 characters)
_sqlite_files: set[Path] = set()
counts = {"log_streams": 0, "responses": 0, "rows": 0, "sqlite_bytes": 0}


def register(*values: str | None) -> None:
    with _lock:
        _secrets.update(v for v in values if v and len(v) >= MIN_LENGTH)


def register_keyring(spec: str) -> None:
    """``ID:BASE64`` entries: the key material is the secret."""
    register(*(entry.partition(":")[2] for entry in spec.split(",")))


def register_sqlite(url: str) -> None:
    path = url.partition(":///")[2]
    if path:
        _sqlite_files.add(Path(path))


def scan(where: str, text: str) -> None:
    """Scan now; a secret registered later is still caught in ``text`` at the end."""
    with _lock:
        _texts.append((where, text))


_TOKEN_SHAPE = re.compile(r"mg_[A-Za-z0-9_-]{43}")


def _find(where: str, text: str, tokens: set[str], others: list[str]) -> None:
    # Tokens are most of the secrets and all look alike: find the shape, then look
    # it up, rather than searching each text for thousands of strings.
    for match in _TOKEN_SHAPE.finditer(text):
        if match.group() in tokens:
            _hits.append((where, match.group()[:8] + "…"))
    for secret in others:
        if secret in text:
            _hits.append((where, secret[:8] + "…"))


class ResponseTee:
    """An ASGI wrapper around the app: it records each request's bearer token and
    key body as secrets, and each response's headers and body for the scan. It
    changes nothing that passes through."""

    def __init__(self, app: Any, *, register_sent: bool = True) -> None:
        self.app = app
        # Off where what is sent is generated garbage rather than secrets (the schema
        # fuzzer sends the same strings as keys and as model ids, which are echoed).
        self.register_sent = register_sent

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []) if self.register_sent else ():
            if name == b"authorization":
                register(value.decode("latin-1").removeprefix("Bearer ").strip())
        path = scope.get("path", "")
        sent: list[bytes] = []

        async def watched_receive() -> dict:
            message = await receive()
            if self.register_sent and "/model_keys/" in path and message.get("type") == "http.request":
                _register_key_body(message.get("body", b""))
            return message

        async def watched_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                sent.extend(b"%s: %s" % pair for pair in message.get("headers", []))
            elif message["type"] == "http.response.body":
                sent.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, watched_receive, watched_send)
        finally:
            counts["responses"] += 1
            scan(f"response to {scope.get('method')} {path}", b"\n".join(sent).decode("utf-8", "replace"))


def _register_key_body(body: bytes) -> None:
    try:
        value = orjson.loads(body).get("api_key")
    except (orjson.JSONDecodeError, AttributeError):
        return
    if isinstance(value, str):
        register(value.strip())


async def scan_rows(engine: Any, tables: Iterable[Any]) -> None:
    """Every stored value of every table, as a dump would show it."""
    async with engine.connect() as connection:
        for table in tables:
            for row in (await connection.execute(table.select())).all():
                counts["rows"] += 1
                scan(f"table {table.name}", repr(tuple(row)))


def finish(log_streams: Iterable[Any]) -> list[tuple[str, str]]:
    # Every secret is registered by now: the logs and files are read and searched one
    # at a time, never all held at once (the logs of a whole run are gigabytes).
    with _lock:
        tokens = {s for s in _secrets if _TOKEN_SHAPE.fullmatch(s)}
        others = sorted(_secrets - tokens)
        for where, text in _texts:
            _find(where, text, tokens, others)
        _texts.clear()
    for stream in log_streams:
        counts["log_streams"] += 1
        _find("gateway log", stream.text(), tokens, others)
    for path in _sqlite_files:
        for file in (path, Path(f"{path}-wal")):
            if file.exists():
                data = file.read_bytes()
                counts["sqlite_bytes"] += len(data)
                _find(f"sqlite file {file.name}", data.decode("latin-1"), tokens, others)
    return _hits


def hits_in(text: str) -> list[str]:
    """The registered secrets found in ``text`` now (for a test's own checks)."""
    with _lock:
        return [secret[:8] + "…" for secret in _secrets if secret in text]


def report(session: pytest.Session, log_streams: Iterable[Any]) -> None:
    """At the end of the session: scan, print the figures, fail the run on a hit."""
    hits = finish(log_streams)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    summary = (
        f"secret canaries: {len(_secrets)} secrets; scanned {counts['log_streams']} gateway logs, "
        f"{counts['responses']} responses, {counts['rows']} rows, "
        f"{counts['sqlite_bytes']} bytes of SQLite files: {len(hits)} hits"
    )
    if reporter is not None:
        reporter.write_line(summary)
        for where, which in sorted(set(hits))[:50]:
            reporter.write_line(f"  secret {which} found in {where}", red=True)
    if hits:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
