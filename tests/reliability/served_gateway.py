"""A real ``modelgate serve`` in its own process, for tests that measure the
gateway's memory: its peak resident size (VmHWM) is its own, not a long-lived
pytest process's, and can be reset before each attack (``/proc/<pid>/clear_refs``).

Its database is a private SQLite file with one tenant; every provider style
points at ``upstream`` with the hosted canary keys of ``upstream_harness``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.reliability.upstream_harness import seeded_tenant, upstream_settings
from tests.support import TEST_KEYRING, SeededTenant, free_port

MIB = 1024 * 1024


@dataclass
class ServedGateway:
    url: str
    proc: subprocess.Popen[bytes]
    tenant: SeededTenant
    log_path: Path

    def _status_kib(self, field: str) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise LookupError(field)

    def reset_peak(self) -> float:
        """Make the peak resident size the current one; returns it, in MiB."""
        Path(f"/proc/{self.proc.pid}/clear_refs").write_text("5")
        return self._status_kib("VmHWM") / 1024

    def peak_mib(self) -> float:
        return self._status_kib("VmHWM") / 1024

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def serve_gateway(upstream: str, workdir: Path, **settings: object) -> Iterator[ServedGateway]:
    """``modelgate serve`` on a free loopback port until the block ends."""
    database_url, tenant = seeded_tenant(workdir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELGATE_")}
    options = {
        "database_url": database_url,
        "encryption_keys": TEST_KEYRING,
        **upstream_settings(upstream),
        **settings,
    }
    env.update({f"MODELGATE_{name.upper()}": str(value) for name, value in options.items()})
    port = free_port()
    log_path = workdir / "gateway.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "modelgate.cli", "serve", "--host", "127.0.0.1",
             "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
        )
    served = ServedGateway(f"http://127.0.0.1:{port}", proc, tenant, log_path)
    try:
        wait_ready(served)
        yield served
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def wait_ready(served: ServedGateway | Any, timeout: float = 60.0) -> None:
    """Until ``served`` (anything with ``proc``, ``url`` and ``log_tail()``) answers
    /readyz with 200; its log's tail in the error when it exits or never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if served.proc.poll() is not None:
            raise RuntimeError(f"modelgate serve exited:\n{served.log_tail()}")
        try:
            if httpx.get(f"{served.url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"modelgate serve did not become ready:\n{served.log_tail()}")
