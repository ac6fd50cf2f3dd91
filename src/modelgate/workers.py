"""``serve --workers N``: each worker process listens on a socket of its own.

uvicorn's supervisor gives every worker one shared listening socket. A burst of
new connections then wakes every worker, and the first one to run accepts a
whole batch of them (asyncio accepts up to its backlog per wake-up). With
keep-alive clients, as a gateway's callers are, that first split lasts for the
connections' life: in the benchmark one of two workers often held 12 of 16
connections, and two workers did little more than one (docs/performance.md).

Here the supervisor binds N sockets to the same address with ``SO_REUSEPORT``
and hands worker *i* socket *i*; the kernel spreads new connections across the
listening sockets by a hash of their addresses, so each worker gets its share
whatever the others are doing. The supervision itself (health pings, restarts of
a dead or hung worker, signals, SIGHUP's rolling restart) is uvicorn's
``Multiprocess``; only where a worker's socket comes from differs. A replacement
worker takes over its predecessor's socket, so connections that arrived in the
meantime wait in that socket's backlog rather than being refused.
"""

from __future__ import annotations

import socket

from uvicorn import Config
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess, Process


def reuse_port_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` sockets bound to (host, port) with SO_REUSEPORT, not yet listening
    (each worker's server listens on its own). Port 0: the first picks the port.

    Raises OSError (EADDRINUSE) when anything listens there already, another
    gateway started the same way included: SO_REUSEPORT alone would let the two
    share the port and split the traffic, so the port is first bound without it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if port:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            port = sock.getsockname()[1]
            sock.set_inheritable(True)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


class ReusePortSupervisor(Multiprocess):
    """uvicorn's ``Multiprocess``, with worker *i* always on socket *i*."""

    def __init__(self, config: Config, sockets: list[socket.socket]) -> None:
        super().__init__(config, sockets=[])
        self.worker_sockets = sockets
        self.processes_num = len(sockets)

    def _worker(self, index: int) -> Process:
        return Process(self.config, [self.worker_sockets[index]])

    def init_processes(self) -> None:
        for index in range(self.processes_num):
            process = self._worker(index)
            process.start()
            self.processes.append(process)

    def restart_all(self) -> None:
        # SIGHUP: replace every worker, one at a time, on the same sockets.
        for index in range(len(self.processes)):
            self._replace(index, rolling=True)
            if self.should_exit.is_set():
                return

    def keep_subprocess_alive(self) -> None:
        for index, process in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            if not process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                self._replace(index, rolling=False)

    def _replace(self, index: int, *, rolling: bool) -> None:
        """A new worker on socket ``index``. Rolling (SIGHUP): the old one serves until
        the new one is ready. Otherwise the old one is dead or hung: killed first;
        if it never started (the app or the socket is broken), the parent stops, as
        uvicorn's own supervisor does."""
        old = self.processes[index]
        if not rolling:
            old.kill()
            old.join()
            if old.exitcode == STARTUP_FAILURE:
                self.should_exit.set()
                return
        new = self._worker(index)
        new.start()
        if rolling:
            if not new.wait_until_ready(self.config.timeout_worker_healthcheck, self.should_exit):
                new.kill()
                new.join()
                return
            old.terminate()
            old.join()
        self.processes[index] = new
