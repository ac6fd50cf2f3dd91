"""``modelgate serve`` applies MODELGATE_LIMIT_CONCURRENCY and MODELGATE_KEEPALIVE_TIMEOUT
to uvicorn (issue 12, item 9): checked on the real command, a subprocess on loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import free_port

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[int]:
    """The port of ``modelgate serve`` with a limit of 3 connections and 1 s keep-alive."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELGATE_")}
    env |= {
        "MODELGATE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/serve.db",
        "MODELGATE_LIMIT_CONCURRENCY": "3",
        "MODELGATE_KEEPALIVE_TIMEOUT": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelgate.cli", "serve", "--port", str(port)],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while status_of(port) != 200:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "modelgate serve did not start"
            time.sleep(0.1)
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        proc.stderr.close()


def status_of(port: int, sock: socket.socket | None = None) -> int | None:
    """The status of GET /healthz on ``sock`` (a new connection if None)."""
    try:
        own = sock or socket.create_connection(("127.0.0.1", port), timeout=5)
        own.sendall(REQUEST)
        answer = read_response(own)
        if own is not sock:
            own.close()
        return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None
    except OSError:
        return None


def read_response(sock: socket.socket) -> bytes:
    """One whole response (head and Content-Length body), so that nothing is left unread."""
    data = b""
    while b"\r\n\r\n" not in data:
        if not (chunk := sock.recv(4096)):
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length and (chunk := sock.recv(4096)):
        body += chunk
    return head + b"\r\n\r\n" + body


def test_serve_applies_the_connection_limit_and_keepalive_timeout(served: int) -> None:
    used = socket.create_connection(("127.0.0.1", served), timeout=5)
    assert status_of(served, used) == 200  # now an idle keep-alive connection
    idle = socket.create_connection(("127.0.0.1", served), timeout=5)  # sends nothing
    try:
        # Three connections open at once: the third one's request is turned away.
        assert status_of(served) == 503

        # After the 1 s keep-alive timeout (uvicorn's default is 5 s) the server has
        # closed the idle keep-alive connection: reading it gives end-of-file.
        time.sleep(1.6)
        used.settimeout(2)
        assert used.recv(1) == b""
        # One fewer open connection: a new one is served again.
        assert status_of(served) == 200
    finally:
        used.close()
        idle.close()
