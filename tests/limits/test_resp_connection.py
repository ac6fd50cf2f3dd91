"""``LeanPool``'s own connection (limits/resp_connection.py) on real, throwaway Redis
servers: the handshake (AUTH, SELECT, CLIENT SETNAME), replies and error replies
as redis-py gives them, a refused connection, and where redis-py's is kept."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError, NoScriptError, ResponseError

from modelgate.limits.fallback import REDIS_FAILURES
from modelgate.limits.redis_calls import LeanPool, RedisPyConnection
from modelgate.limits.resp_connection import RespConnection
from tests.limits.redis_server import RedisServer, free_port

REDIS_SERVER = shutil.which("redis-server") or "redis-server"
PASSWORD = "s3cret-pass"
USER, USER_PASSWORD = "limits", "limits-pass"


def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def secured_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """A redis-server with a password for the default user, a second ACL user, and a
    unix socket too: (port, socket path). ``RedisServer`` checks readiness with an
    unauthenticated PING, so this one is started here."""
    port = free_port()
    socket_path = tmp_path_factory.mktemp("redis") / "redis.sock"
    process = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--requirepass", PASSWORD,
         "--user", USER, "on", f">{USER_PASSWORD}", "~*", "&*", "+@all",
         "--unixsocket", str(socket_path), "--unixsocketperm", "700"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not (_reachable(port) and socket_path.exists()):
            assert process.poll() is None, "redis-server exited"
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.02)
        yield port, socket_path
    finally:
        process.kill()
        process.wait()


@pytest.fixture
async def plain(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url, socket_timeout=5.0)
    yield client
    await client.aclose()


async def _pool_and_client(url: str) -> tuple[LeanPool, Redis]:
    client = Redis.from_url(url, socket_timeout=5.0)
    return LeanPool(client, size=2, timeout=5.0), client


async def test_password_select_and_client_name_before_the_first_command(
    secured_redis: tuple[int, Path],
) -> None:
    port, _ = secured_redis
    pool, client = await _pool_and_client(
        f"redis://:{PASSWORD}@127.0.0.1:{port}/3?client_name=mg-limits")
    try:
        assert await pool.command(b"SET", b"where", b"db3") == b"OK"
        assert await pool.command(b"CLIENT", b"GETNAME") == b"mg-limits"
        assert isinstance(next(iter(pool._all)), RespConnection)
        # The key went to database 3, as redis-py's client (same URL) sees it.
        assert await client.get("where") == b"db3"
        assert await client.execute_command("SELECT", 0) is True
        assert await client.get("where") is None
    finally:
        await pool.aclose()
        await client.aclose()


async def test_an_acl_user_and_its_password(secured_redis: tuple[int, Path]) -> None:
    port, _ = secured_redis
    pool, client = await _pool_and_client(
        f"redis://{USER}:{USER_PASSWORD}@127.0.0.1:{port}/0")
    try:
        assert await pool.command(b"ACL", b"WHOAMI") == USER.encode()
    finally:
        await pool.aclose()
        await client.aclose()


async def test_a_wrong_password_fails_as_redis_py_does_and_is_a_redis_failure(
    secured_redis: tuple[int, Path],
) -> None:
    port, _ = secured_redis
    pool, client = await _pool_and_client(f"redis://:wrong@127.0.0.1:{port}/0")
    try:
        with pytest.raises(AuthenticationError) as ours:
            await pool.command(b"PING")
        with pytest.raises(AuthenticationError) as theirs:
            await client.ping()
        assert str(ours.value) == str(theirs.value)
        assert isinstance(ours.value, REDIS_FAILURES)
    finally:
        await pool.aclose()
        await client.aclose()


async def test_a_unix_socket(secured_redis: tuple[int, Path]) -> None:
    _, socket_path = secured_redis
    pool, client = await _pool_and_client(f"unix://{socket_path}?db=2&password={PASSWORD}")
    try:
        assert await pool.command(b"SET", b"where", b"unix-db2") == b"OK"
        assert await client.get("where") == b"unix-db2"  # redis-py, same URL: database 2
        assert isinstance(next(iter(pool._all)), RespConnection)
    finally:
        await pool.aclose()
        await client.aclose()


@pytest.mark.parametrize("script", [
    "return {1, -2, 'three', {4}}",  # an array of ints, a bulk string, a nested array
    "return 7",
    "return nil",
    "return false",
    "return redis.status_reply('FINE')",
    "return ''",
])
async def test_replies_are_the_values_redis_py_gives(plain: Redis, redis_server: RedisServer,
                                                     script: str) -> None:
    pool, client = await _pool_and_client(redis_server.url)
    try:
        ours = await pool.command(b"EVAL", script.encode(), b"0")
        assert ours == await plain.execute_command("EVAL", script, 0)
        assert type(ours) is type(await plain.execute_command("EVAL", script, 0))
    finally:
        await pool.aclose()
        await client.aclose()


@pytest.mark.parametrize("command, error", [
    ((b"EVALSHA", b"0" * 40, b"0"), NoScriptError),
    ((b"NO-SUCH-COMMAND",), ResponseError),
    ((b"EVAL", b"return redis.error_reply('OOPS it failed')", b"0"), ResponseError),
])
async def test_error_replies_raise_what_redis_py_raises(
    plain: Redis, redis_server: RedisServer, command: tuple[bytes, ...], error: type
) -> None:
    pool, client = await _pool_and_client(redis_server.url)
    try:
        with pytest.raises(error) as ours:
            await pool.command(*command)
        with pytest.raises(error) as theirs:
            await plain.execute_command(*command)
        assert type(ours.value) is type(theirs.value)
        assert str(ours.value) == str(theirs.value)
        # An error reply is an answer: the connection goes on serving.
        assert await pool.command(b"ECHO", b"still") == b"still"
    finally:
        await pool.aclose()
        await client.aclose()


async def test_a_refused_connection_is_a_redis_failure_and_the_pool_recovers() -> None:
    server = RedisServer()  # a free port, nothing listening yet
    pool, client = await _pool_and_client(server.url)
    try:
        with pytest.raises(REDIS_FAILURES):
            await pool.command(b"PING")
        assert len(pool._all) == 1  # the failed connection is still counted, not leaked
        server.start()
        assert await pool.command(b"PING") == b"PONG"
        assert len(pool._all) == 1
    finally:
        await pool.aclose()
        await client.aclose()
        server.kill()


async def test_a_server_that_closed_an_idle_connection_is_connected_again(
    plain: Redis, redis_server: RedisServer,
) -> None:
    pool, client = await _pool_and_client(redis_server.url)
    try:
        connection_id = await pool.command(b"CLIENT", b"ID")
        assert await plain.execute_command("CLIENT", "KILL", "ID", connection_id) == 1
        await asyncio.sleep(0.05)
        # Either the loss is already seen (reconnect) or the command fails as a Redis
        # failure; never a wrong reply. The next one is served.
        try:
            assert await pool.command(b"ECHO", b"a") == b"a"
        except REDIS_FAILURES:
            pass
        assert await pool.command(b"ECHO", b"b") == b"b"
    finally:
        await pool.aclose()
        await client.aclose()


def test_tls_and_other_connections_keep_redis_py() -> None:
    tls = Redis.from_url("rediss://127.0.0.1:6390/0")
    tcp = Redis.from_url("redis://127.0.0.1:6390/0")
    resp3 = Redis.from_url("redis://127.0.0.1:6390/0", protocol=3)
    assert isinstance(LeanPool(tls, size=1, timeout=1.0)._new_connection(), RedisPyConnection)
    assert isinstance(LeanPool(resp3, size=1, timeout=1.0)._new_connection(), RedisPyConnection)
    assert isinstance(LeanPool(tcp, size=1, timeout=1.0)._new_connection(), RespConnection)
