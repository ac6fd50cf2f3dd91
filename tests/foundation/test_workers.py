"""serve --workers N: the sockets each worker listens on (src/modelgate/workers.py)."""

from __future__ import annotations

import socket

import pytest

from modelgate.workers import reuse_port_sockets


def test_every_worker_socket_is_bound_to_the_same_port() -> None:
    sockets = reuse_port_sockets("127.0.0.1", 0, 3)
    try:
        ports = {sock.getsockname()[1] for sock in sockets}
        assert len(sockets) == 3 and len(ports) == 1 and ports != {0}
        for sock in sockets:
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
            assert sock.get_inheritable()
        # Each worker listens on its own; a connection reaches one of them.
        for sock in sockets:
            sock.listen()
        with socket.create_connection(("127.0.0.1", ports.pop()), timeout=5):
            pass
    finally:
        for sock in sockets:
            sock.close()


@pytest.mark.parametrize("reuse_port", [False, True])
def test_a_port_already_listened_on_is_refused(reuse_port: bool) -> None:
    """Another server there, started with SO_REUSEPORT or not (another gateway's
    workers, say): refused, never shared."""
    other = socket.socket()
    try:
        if reuse_port:
            other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", 0))
        other.listen()
        with pytest.raises(OSError):
            reuse_port_sockets("127.0.0.1", other.getsockname()[1], 2)
    finally:
        other.close()
