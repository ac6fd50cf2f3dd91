"""``modelgate serve`` as a real process for the multi-process tests: its own
session on a free loopback port, settings from the environment, a clean-up that
reaches every worker (tests/metering/test_usage_processes.py, tests/limits/)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.reliability.served_gateway import wait_ready
from tests.support import TEST_KEYRING, free_port

HOSTED_KEY = "sk-hosted-openai-processes-0123456789"
CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Say hello."}]}


@dataclass
class Served:
    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    tmpdir: Path  # the server's TMPDIR: where a --workers N metrics directory is made

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM to the server process only (as an orchestrator sends it); its exit status."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)


@contextmanager
def serve(
    database_url: str, upstream: str, workdir: Path, *, workers: int = 1, **settings: object
) -> Iterator[Served]:
    """``modelgate serve`` in its own session on a free loopback port until the block ends."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELGATE_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    options = {
        "database_url": database_url,
        "encryption_keys": TEST_KEYRING,
        "openai_base_url": f"{upstream}/v1",
        "openai_api_key": HOSTED_KEY,
        **settings,
    }
    env.update({f"MODELGATE_{name.upper()}": str(value) for name, value in options.items()})
    tmpdir = workdir / "tmp"
    tmpdir.mkdir()
    env["TMPDIR"] = str(tmpdir)
    port = free_port()
    log_path = workdir / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "modelgate.cli", "serve", "--host", "127.0.0.1",
             "--port", str(port), "--workers", str(workers)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True,  # its own group: the clean-up reaches every worker
        )
    served = Served(f"http://127.0.0.1:{port}", proc, log_path, tmpdir)
    try:
        wait_ready(served)
        yield served
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # workers that outlived their supervisor
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)
