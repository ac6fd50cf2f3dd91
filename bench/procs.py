"""Processes the benchmark starts: each in its own process group on a loopback port,
waited for until it accepts connections, and stopped with its whole group.

CPU and memory are read from ``/proc`` for a server and all its descendants, so a
multi-worker server (uvicorn's supervisor and its workers) is counted whole.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    name: str
    proc: subprocess.Popen
    port: int
    log_path: Path
    _log: IO[bytes] = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the group (graceful shutdown), SIGKILL what is left after ``grace``."""
        if self.proc.poll() is None:
            _signal_group(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        # Workers may outlive their supervisor: the group is killed in any case.
        _signal_group(self.proc.pid, signal.SIGKILL)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def start(
    name: str,
    argv: list[str],
    *,
    port: int,
    log_dir: Path,
    env: dict[str, str | None] | None = None,
    cwd: Path | None = None,
    ready_path: str | None = None,
    timeout: float = 60.0,
) -> Server:
    """Start ``argv`` in a new session and wait until ``port`` accepts a connection
    (and, with ``ready_path``, until a GET of it answers 200)."""
    log_path = log_dir / f"{name}.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        argv,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=_environment(env or {}),
        cwd=cwd,
        start_new_session=True,  # its own process group, so stop() reaches every worker
    )
    server = Server(name=name, proc=proc, port=port, log_path=log_path, _log=log)
    try:
        _wait_ready(server, ready_path, timeout)
    except BaseException:
        server.stop(grace=2)
        raise
    return server


def _environment(changes: dict[str, str | None]) -> dict[str, str]:
    """This process's environment with ``changes`` applied (None removes a variable)."""
    merged = {**os.environ, **changes}
    return {name: value for name, value in merged.items() if value is not None}


class StartError(RuntimeError):
    pass


def _wait_ready(server: Server, ready_path: str | None, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise StartError(
                f"{server.name} exited with {server.proc.returncode}:\n{server.log_tail()}"
            )
        if _answers(server.port, ready_path):
            return
        time.sleep(0.2)
    raise StartError(f"{server.name} did not listen within {timeout:.0f} s:\n{server.log_tail()}")


def _answers(port: int, path: str | None) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            if path is None:
                return True
            request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            sock.sendall(request.encode())
            return sock.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def tree(pid: int) -> list[int]:
    """``pid`` and every live descendant."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its live descendants (all threads), in seconds."""
    return sum(cpu_by_process(pid).values())


def cpu_by_process(pid: int) -> dict[int, float]:
    """User + system CPU seconds of ``pid`` and of each live descendant, by pid (how a
    multi-worker server's load is shared between its workers)."""
    found = {}
    for member in tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[member] = (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (14, 15)
    return found


def wait_idle(pid: int, *, window: float = 0.25, busy: float = 0.05, limit: float = 5.0) -> float:
    """Until ``pid``'s tree uses under ``busy`` cores over ``window`` seconds (at most
    ``limit`` seconds); the seconds waited. After a warm-up: the calls its end cut off
    are finished, and the work they left (a one-time load, say) is not measured."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        before = cpu_seconds(pid)
        time.sleep(window)
        if cpu_seconds(pid) - before < busy * window:
            break
    return round(time.monotonic() - started, 2)


def rss_mb(pid: int) -> float:
    """Resident memory (VmRSS) of ``pid`` and its live descendants, in MiB."""
    total_kb = 0
    for member in tree(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
                    break
        except OSError:
            continue
    return total_kb / 1024
