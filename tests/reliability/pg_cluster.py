"""A private PostgreSQL cluster that a test may stop and start at will.

The shared test server at 127.0.0.1:5432 must stay up for everyone else, so an
outage test makes its own: ``initdb`` and ``pg_ctl`` from the installed server,
run as the ``postgres`` OS user (the server refuses to run as root), with its data
and its unix socket in a temporary directory and TCP on a free loopback port.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support import free_port

OS_USER = "postgres"


def server_bin_dir() -> Path | None:
    """The newest installed server's bin directory (Debian layout), if any."""
    def version(pg_ctl: str) -> int:
        name = Path(pg_ctl).parent.parent.name
        return int(name) if name.isdigit() else 0

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=version)
    if not found or shutil.which("runuser") is None:
        return None
    return Path(found[-1]).parent


@dataclass
class PrivateCluster:
    bin_dir: Path
    root: Path
    port: int

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://{OS_USER}@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        command = ["runuser", "-u", OS_USER, "--", str(self.bin_dir / tool), *args]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=self.root
        )
        if result.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{tool} {args[0]} failed: {result.stderr.strip()}\n{tail}")

    def init(self) -> None:
        # --no-sync: only initdb's own files; the running server still syncs its commits.
        self._run("initdb", "-D", str(self.data_dir), "-U", OS_USER, "-A", "trust",
                  "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._run("pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.root / "server.log"),
                  "-w", "-t", "60", "-o", options)

    def stop(self, mode: str = "fast") -> None:
        """``fast``: the server rolls back open transactions, ends every session and
        shuts down cleanly, as in a planned restart or a failover."""
        self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "60")

    def _processes(self) -> list[int]:
        """The postmaster and every process it started (its backends included)."""
        postmaster = int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:  # the process ended while we looked
                continue
            if int(fields[1]) == postmaster:  # fields[1] is the parent pid
                children.append(int(stat.parent.name))
        return [postmaster, *children]

    def freeze(self) -> None:
        """SIGSTOP the whole server: it keeps its sockets open but answers nothing,
        as a hung host or a black-holed network would look to a client."""
        for pid in self._processes():
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self._processes():
            os.kill(pid, signal.SIGCONT)

    def is_running(self) -> bool:
        command = ["runuser", "-u", OS_USER, "--", str(self.bin_dir / "pg_ctl"), "status",
                   "-D", str(self.data_dir)]
        return subprocess.run(command, capture_output=True, timeout=30).returncode == 0

    def remove(self) -> None:
        """Stop it if it runs, whatever state it is in, and delete its files."""
        try:
            if (self.data_dir / "postmaster.pid").exists():
                self.thaw()  # a frozen server cannot be stopped
            if self.data_dir.exists() and self.is_running():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def create_cluster(bin_dir: Path) -> PrivateCluster:
    """A new, initialised cluster (not started) in a temporary directory that the
    ``postgres`` user owns; the caller must ``remove()`` it."""
    root = Path(tempfile.mkdtemp(prefix="modelgate-pg-"))
    pw = pwd.getpwnam(OS_USER)
    os.chown(root, pw.pw_uid, pw.pw_gid)
    cluster = PrivateCluster(bin_dir=bin_dir, root=root, port=free_port())
    try:
        cluster.init()
    except BaseException:
        cluster.remove()
        raise
    return cluster


IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def migrated_cluster() -> Iterator[PrivateCluster]:
    """A started private cluster migrated to head, removed afterwards: the body of
    the outage tests' ``cluster`` fixtures. No server install: skip, but fail in CI."""
    import pytest  # only the tests use this module's fixture body

    from modelgate import migrate

    bin_dir = server_bin_dir()
    if bin_dir is None:
        message = "no PostgreSQL server install (/usr/lib/postgresql/*/bin) or no runuser"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    cluster = create_cluster(bin_dir)
    try:
        cluster.start()
        migrate.upgrade(cluster.url)
        yield cluster
    finally:
        cluster.remove()
