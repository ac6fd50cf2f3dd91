"""The OpenAI-compatible passthrough's upstream call on aiohttp directly, without
httpx's client layer (issue 17: on a loopback proxy that layer cost about as much
CPU as aiohttp's own send and parse).

``DirectClient`` does exactly what ``HTTPAdapter._post_json`` and
``HTTPAdapter._sse_events`` do, on the same pool:

- the same aiohttp session and connector as the httpx client's transport
  (``AiohttpTransport.session()``), so the custom-endpoint client keeps its SSRF
  guard, its per-host bound and its own pool, and nothing is pooled twice;
- the same headers: the client's own (``user-agent``, ``accept-encoding:
  identity``, the hop header, …, see ``registry.UPSTREAM_HEADERS``), then the
  adapter's;
- the same timeouts (the transport's translation of httpx's) and the same
  overall deadline of ``Timeouts.total``;
- the same limits (answer and event size, parse budget, compressed answers
  refused from the headers, see ``answer_limits``);
- the same error mapping: an aiohttp error becomes the httpx error the transport
  would have raised (``httpx_error_for``), then ours (``upstream_errors``).

When it is used. Only for a client whose requests httpx would send through our
``AiohttpTransport`` unchanged: its transport is one, it has no mounted transport,
and httpx's own routing is in place. A library that re-routes httpx (respx, in
the provider tests) replaces ``AsyncClient._transport_for_url``; while it does,
the adapter goes through httpx so that the replacement sees every request.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import aiohttp
import httpx
import orjson
from yarl import URL

from modelgate.providers.aiohttp_transport import AiohttpTransport, httpx_error_for
from modelgate.providers.answer_limits import (
    declared_length,
    parse_answer,
    parse_budget,
    refused_encoding,
    too_large,
)
from modelgate.providers.sse import SSEDecoder, SSEEvent
from modelgate.providers.upstream_errors import (
    compressed,
    status_error,
    stream_cut,
    transport_error,
)

if TYPE_CHECKING:
    from modelgate.providers.base import Timeouts, UpstreamTarget

_HTTPX_ROUTING = "httpx._client"  # where httpx's own AsyncClient._transport_for_url lives
_URL_CACHE_SIZE = 512  # distinct upstream URLs parsed once (providers and BYOK hosts)


class DirectClient:
    """POST a JSON body and read one JSON answer or an event stream, on aiohttp."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        transport: AiohttpTransport,
        timeouts: Timeouts,
        *,
        max_response_bytes: int,
        max_event_bytes: int,
    ) -> None:
        self._client_type = type(client)
        self._transport = transport
        # The client's default headers, as httpx would merge them (lower-case names).
        self._headers = dict(client.headers.multi_items())
        self._timeout = transport.client_timeout(timeouts.for_httpx().as_dict())
        self._total = timeouts.total
        self._read = timeouts.read
        self._max_response_bytes = max_response_bytes
        self._max_event_bytes = max_event_bytes
        self._parse_budget = parse_budget(max_response_bytes)
        self._urls: dict[str, URL] = {}

    @classmethod
    def over(
        cls,
        client: httpx.AsyncClient,
        timeouts: Timeouts,
        *,
        max_response_bytes: int,
        max_event_bytes: int,
    ) -> DirectClient | None:
        """A direct client on ``client``'s pool, or None if its requests do not all
        go through one ``AiohttpTransport`` (another transport, or mounts)."""
        # httpx keeps these private; the provider clients are built in registry.py.
        transport = getattr(client, "_transport", None)
        if not isinstance(transport, AiohttpTransport) or getattr(client, "_mounts", None):
            return None
        return cls(
            client,
            transport,
            timeouts,
            max_response_bytes=max_response_bytes,
            max_event_bytes=max_event_bytes,
        )

    def usable(self) -> bool:
        """False while something has re-routed httpx (see the module's docstring)."""
        return self._client_type._transport_for_url.__module__ == _HTTPX_ROUTING

    # ── one JSON answer ────────────────────────────────────────────────────────
    async def post_json(
        self, url: str, headers: dict[str, str], payload: dict[str, Any], target: UpstreamTarget
    ) -> dict[str, Any]:
        """What ``HTTPAdapter._post_json`` returns and raises, for the same answer."""
        content = orjson.dumps(payload)
        upstream_url = self._url(url, target)
        try:
            async with asyncio.timeout(self._total):
                response = await self._send(upstream_url, headers, content)
                try:
                    if encoding := _refused_encoding(response):
                        raise compressed(target, encoding)  # closed unread
                    body = await self._read_limited(response, target)
                finally:
                    _let_go(response)
        except aiohttp.ClientError as exc:
            as_httpx = httpx_error_for(exc)
            raise transport_error(as_httpx, target) from as_httpx
        except TimeoutError as exc:
            raise transport_error(exc, target) from exc
        if not 200 <= response.status < 300:
            raise status_error(_as_httpx(response), body, target)
        return parse_answer(body, self._parse_budget, target)

    # ── an event stream ────────────────────────────────────────────────────────
    async def sse_events(
        self, url: str, headers: dict[str, str], payload: dict[str, Any], target: UpstreamTarget
    ) -> AsyncIterator[SSEEvent]:
        """What ``HTTPAdapter._sse_events`` yields and raises, for the same stream.

        Each wait is bounded by the overall deadline. While more than the read
        timeout is left of it, aiohttp's read timeout (reset by every byte) ends a
        silent wait before the deadline could, so no deadline timer is set then.
        Closing this generator closes the upstream response at once."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._total
        upstream_url = self._url(url, target)
        content = orjson.dumps(payload)
        try:
            async with asyncio.timeout_at(deadline):
                response = await self._send(upstream_url, headers, content)
        except aiohttp.ClientError as exc:
            as_httpx = httpx_error_for(exc)
            raise transport_error(as_httpx, target) from as_httpx
        except TimeoutError as exc:
            raise transport_error(exc, target) from exc
        try:
            if encoding := _refused_encoding(response):
                raise compressed(target, encoding)
            if not 200 <= response.status < 300:
                try:
                    async with asyncio.timeout_at(deadline):
                        body = await self._read_limited(response, target)
                except aiohttp.ClientError as exc:
                    as_httpx = httpx_error_for(exc)
                    raise transport_error(as_httpx, target) from as_httpx
                except TimeoutError as exc:
                    raise transport_error(exc, target) from exc
                raise status_error(_as_httpx(response), body, target)
            decoder = SSEDecoder(self._max_event_bytes)
            stream = response.content
            read = self._read
            while True:
                try:
                    if read is not None and deadline - loop.time() > read:
                        chunk = await stream.readany()
                    else:
                        async with asyncio.timeout_at(deadline):
                            chunk = await stream.readany()
                except aiohttp.ClientError as exc:
                    as_httpx = httpx_error_for(exc)
                    raise transport_error(as_httpx, target) from as_httpx
                except TimeoutError as exc:
                    raise transport_error(exc, target) from exc
                if not chunk:
                    break
                for event in decoder.feed(chunk):
                    yield event
            for event in decoder.finish():
                yield event
            if decoder.partial:
                raise stream_cut(target)
        finally:
            _let_go(response)

    # ── the pieces ─────────────────────────────────────────────────────────────
    def _url(self, url: str, target: UpstreamTarget) -> URL:
        parsed = self._urls.get(url)
        if parsed is None:
            try:
                parsed = URL(url)
            except (ValueError, TypeError) as exc:  # httpx.InvalidURL on the httpx path
                raise transport_error(exc, target) from exc
            if len(self._urls) >= _URL_CACHE_SIZE:
                self._urls.clear()
            self._urls[url] = parsed
        return parsed

    async def _send(
        self, url: URL, headers: dict[str, str], content: bytes
    ) -> aiohttp.ClientResponse:
        return await self._transport.session().request(
            "POST",
            url,
            headers={**self._headers, **headers},
            data=content,
            allow_redirects=False,
            timeout=self._timeout,
        )

    async def _read_limited(
        self, response: aiohttp.ClientResponse, target: UpstreamTarget
    ) -> bytes | bytearray:
        """The body, refused past ``max_response_bytes`` (as ``HTTPAdapter._read_limited``)."""
        limit = self._max_response_bytes
        if declared_length(response.headers, limit, target) is not None:
            # aiohttp's parser reads no more than the declared length: bounded.
            return await response.read()
        body = bytearray()
        stream = response.content
        while chunk := await stream.readany():
            body += chunk
            if len(body) > limit:
                raise too_large(target, limit)
        return body


def _refused_encoding(response: aiohttp.ClientResponse) -> str | None:
    if "content-encoding" not in response.headers:  # every ordinary answer
        return None
    return refused_encoding(_as_httpx(response))


def _as_httpx(response: aiohttp.ClientResponse) -> httpx.Response:
    """Status and headers as httpx's (for the shared checks; error paths only)."""
    return httpx.Response(response.status, headers=response.raw_headers)


def _let_go(response: aiohttp.ClientResponse) -> None:
    if response.content.is_eof():
        response.release()  # read whole: the connection goes back to the pool
    else:
        response.close()  # abandoned mid-body: the upstream connection is closed
