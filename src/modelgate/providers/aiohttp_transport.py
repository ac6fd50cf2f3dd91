"""httpx's API on aiohttp's connection pool and C HTTP parser.

The provider clients stay ``httpx.AsyncClient`` (the adapters, respx and the
tests speak httpx), but the bytes move through aiohttp: on a loopback proxy
httpcore's pure-Python pool and parser cost several times the CPU of all the
rest of a call (encode/httpx#3215). ``httpx-aiohttp`` does the same, but maps a
refused connection and a dropped one to ``httpx.ConnectTimeout`` (a 504 instead
of a 502 here), keeps cookies across calls, and reads the environment, so this
is our own, small, transport.

aiohttp errors become httpx errors here, once, with ``raise … from exc``::

    ConnectionTimeoutError (pool wait or connect)     → httpx.ConnectTimeout
    SocketTimeoutError (a read took too long)         → httpx.ReadTimeout
    ClientConnectorError (refused, DNS, TLS, blocked) → httpx.ConnectError
      … caused by a lookup that timed out              → httpx.ConnectTimeout
    ServerDisconnectedError, ClientPayloadError       → httpx.RemoteProtocolError
    ClientOSError (reset while reading or writing)    → httpx.ReadError
    InvalidURL, NonHttpUrlClientError                 → httpx.UnsupportedProtocol
    any other aiohttp.ClientError                     → httpx.RemoteProtocolError

What httpcore did and aiohttp does differently: ``max_keepalive_connections``
has no counterpart (idle connections are bounded by ``max_connections`` and
closed after ``keepalive_expiry``), and there is no write timeout (the call's
overall deadline still bounds a stuck write).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver
from yarl import URL

from modelgate.providers.address_guard import AddressGuard, BlockedAddress, LookupTimedOut

E = TypeVar("E", bound=BaseException)

# Most specific first: the first entry the exception is an instance of wins.
_ERROR_MAP: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),
    (aiohttp.ClientOSError, httpx.ReadError),
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.NonHttpUrlClientError, httpx.UnsupportedProtocol),
    (aiohttp.ClientError, httpx.RemoteProtocolError),
)


def _cause(exc: BaseException, kind: type[E]) -> E | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def httpx_error_for(
    exc: aiohttp.ClientError, request: httpx.Request | None = None
) -> httpx.TransportError:
    """The httpx error that stands for ``exc``, its ``__cause__`` set: the table above.

    Also used by ``direct_client``, which calls aiohttp without httpx, so that both
    paths map every failure the same way (``upstream_errors.transport_error``)."""
    # The SSRF guard's refusal stays visible as the direct cause, which is what
    # the adapters look for to answer base_url_invalid rather than a 502.
    blocked = _cause(exc, BlockedAddress)
    if blocked is not None:
        error: httpx.TransportError = httpx.ConnectError(str(blocked), request=request)
        error.__cause__ = blocked
        return error
    lookup = _cause(exc, LookupTimedOut)
    if lookup is not None:
        error = httpx.ConnectTimeout(str(lookup), request=request)
        error.__cause__ = lookup
        return error
    kind = next(httpx_error for aiohttp_error, httpx_error in _ERROR_MAP
                if isinstance(exc, aiohttp_error))  # the last entry is the base class
    error = kind(str(exc) or type(exc).__name__, request=request)
    error.__cause__ = exc
    return error


@contextmanager
def _mapped_errors(request: httpx.Request) -> Iterator[None]:
    try:
        yield
    except aiohttp.ClientError as exc:
        error = httpx_error_for(exc, request)
        raise error from error.__cause__


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        # iter_any yields whatever has arrived: a stream is relayed as it comes.
        with _mapped_errors(self._request):
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        if self._response.content.is_eof():
            self._response.release()  # read whole: the connection goes back to the pool
        else:
            self._response.close()  # abandoned mid-body: the upstream connection is closed


class AiohttpTransport(httpx.AsyncBaseTransport):
    """A pooled HTTP/1.1 transport that follows no redirect, keeps no cookie and
    reads no environment (proxies, .netrc): the key goes to the URL we chose, only.

    With a ``guard``, every address is checked as the connection is made (see
    ``address_guard``). ``limit_per_host`` (0: none) bounds the connections to
    one host (and port), so that one slow host cannot hold the whole pool. The
    aiohttp session is made on first use, inside the event loop that will run it.
    """

    def __init__(
        self,
        *,
        limits: httpx.Limits,
        guard: AddressGuard | None = None,
        ssl_context: ssl.SSLContext | None = None,
        limit_per_host: int = 0,
    ) -> None:
        self.limits = limits
        self.limit_per_host = limit_per_host
        self._guard = guard
        self._ssl = ssl_context or httpx.create_ssl_context(trust_env=False)
        self._session: aiohttp.ClientSession | None = None
        self._resolver: AbstractResolver | None = None  # the guard's: ours to close
        self._timeouts: dict[tuple[Any, ...], aiohttp.ClientTimeout] = {}

    @property
    def connector(self) -> aiohttp.BaseConnector | None:
        """The connection pool, once the first request has made it."""
        return self._session.connector if self._session is not None else None

    def session(self) -> aiohttp.ClientSession:
        """The aiohttp session (and pool) behind this transport, made on first use.

        ``direct_client`` sends through it too: one pool, one guard, whichever API."""
        if self._session is None:
            self._session = self._new_session()
        return self._session

    def _new_session(self) -> aiohttp.ClientSession:
        guard_options: dict[str, Any] = {}
        if self._guard is not None:
            self._resolver = self._guard.resolver()
            guard_options = {
                "resolver": self._resolver,
                "socket_factory": self._guard.socket_factory,
                # Every new connection resolves (and is checked) again.
                "use_dns_cache": False,
            }
        connector = aiohttp.TCPConnector(
            limit=self.limits.max_connections or 0,
            limit_per_host=self.limit_per_host,
            keepalive_timeout=self.limits.keepalive_expiry,
            ssl=self._ssl,
            **guard_options,
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
            auto_decompress=False,  # httpx decodes, as it would over httpcore
            requote_redirect_url=False,
        )

    def client_timeout(self, timeouts: dict[str, float | None]) -> aiohttp.ClientTimeout:
        """httpx's four timeouts in aiohttp's terms, built once per distinct set."""
        key = (timeouts.get("connect"), timeouts.get("read"), timeouts.get("pool"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            connect, read, pool = key
            # aiohttp's `connect` spans the wait for a pooled connection and the connect.
            total_connect = None if connect is None or pool is None else connect + pool
            timeout = aiohttp.ClientTimeout(
                total=None, connect=total_connect, sock_connect=connect, sock_read=read
            )
            self._timeouts[key] = timeout
        return timeout

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session or self.session()
        try:
            data: bytes | httpx.AsyncByteStream | None = request.content or None
        except httpx.RequestNotRead:
            data = request.stream  # type: ignore[assignment]
        headers = [
            (name, value)
            for name, value in request.headers.multi_items()
            if name != "transfer-encoding"  # aiohttp frames a streamed body itself
        ]
        with _mapped_errors(request):
            response = await session.request(
                request.method,
                URL(str(request.url), encoded=True),
                headers=headers,
                data=data,
                allow_redirects=False,
                timeout=self.client_timeout(request.extensions.get("timeout", {})),
                server_hostname=request.extensions.get("sni_hostname"),
            )
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode("latin-1", "replace")
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_ResponseStream(response, request),
            request=request,
            extensions=extensions,
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._resolver is not None:
            await self._resolver.close()  # a connector closes only a resolver it made

