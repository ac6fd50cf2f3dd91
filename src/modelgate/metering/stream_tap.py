"""The meter's view of a stream on its way to the client.

Every adapter streams OpenAI ``chat.completion.chunk`` events and is asked to
end with a usage chunk (the OpenAI-compatible upstreams through
``stream_options.include_usage``, the translating adapters by their own
translators). Here that usage is read into the meter, and the chunk is handed
on only when the client asked for it (OpenAI's rule): a client that did not ask
never sees a chunk it did not expect.

Other chunks pass untouched; a cheap byte search finds the one that carries a
usage object (``"usage":null`` on the others does not match).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import aclosing

import orjson

from modelgate.metering.meter import CallMeter
from modelgate.providers.sse import encode_event

_USAGE_OBJECT = re.compile(rb'"usage"\s*:\s*\{')


async def metered(
    chunks: AsyncIterator[bytes], meter: CallMeter, *, client_wants_usage: bool
) -> AsyncIterator[bytes]:
    async with aclosing(chunks):  # type: ignore[type-var]
        async for chunk in chunks:
            # The plain byte search first: most chunks hold no "usage" at all.
            if b'"usage"' in chunk and _USAGE_OBJECT.search(chunk) is not None:
                chunk = _take_usage(chunk, meter, client_wants_usage)
                if not chunk:
                    continue
            meter.relayed(chunk)
            yield chunk


def _take_usage(chunk: bytes, meter: CallMeter, client_wants_usage: bool) -> bytes:
    """``chunk`` with its usage read, and removed unless the client asked for it."""
    kept: list[bytes] = []
    for event in chunk.split(b"\n\n"):
        if not event.strip():
            continue
        data = event[5:].strip() if event.startswith(b"data:") else b""
        if _USAGE_OBJECT.search(data) is None:
            kept.append(event + b"\n\n")
            continue
        try:
            decoded = orjson.loads(data)
        except orjson.JSONDecodeError:
            kept.append(event + b"\n\n")
            continue
        if not isinstance(decoded, dict):
            kept.append(event + b"\n\n")
            continue
        meter.report(decoded.get("usage"))
        if client_wants_usage:
            kept.append(event + b"\n\n")
        elif decoded.get("choices"):  # content and usage in one event: keep the content
            decoded.pop("usage", None)
            kept.append(encode_event(decoded))
    return b"".join(kept)
