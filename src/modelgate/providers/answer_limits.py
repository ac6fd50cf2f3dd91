"""What an upstream answer may be before we read or parse it: uncompressed, no
larger than the answer limit, and cheap enough to parse. Both upstream clients
(``HTTPAdapter`` on httpx, ``DirectClient`` on aiohttp) apply these, so they
refuse the same answers with the same errors.

Encoding. Every upstream request asks for ``accept-encoding: identity``. An
answer that is compressed anyway is refused from its headers, before one byte of
its body is read: httpx would decode chained encodings (``gzip, gzip``) a whole
network chunk at a time, so a few hundred bytes can become gigabytes before any
size limit is checked.

Parse cost. A size limit does not bound what parsing costs: ``orjson.loads`` of
``[[],[],…]`` builds one list per 3 bytes of input, about 30 times its size.
``parse_cost`` estimates, at C speed and before parsing, the peak memory parsing
can take, from the body's structural bytes. The weights are the measured peak
resident growth (orjson 3.13, CPython 3.11: the Python objects, their slots and
orjson's own document tree) rounded up, so that the estimate is at least the real
cost for every shape tested (tests/providers/test_answer_limits.py)::

    {   96   an object        :   80   a key (its string, its entry in the dict)
    [   80   an array         ,   64   one more value (a float: ≈ 60 with its slot)
    "   48   half a string    + 6 per byte: strings (up to 4 bytes a character) and
                                 orjson's copy of the input

An answer may cost ``COST_PER_LIMIT_BYTE`` times its size limit: 64 MiB for the
default 8 MiB answer limit, 8 MiB for a 1 MiB event (at least 1 MiB). A text
answer estimates at ≈ 6-7 bytes per byte, so one of 8 MiB passes. The densest
real answers, logprobs, estimate at ≈ 24 bytes per byte (their real cost is about
a third of that), so they pass up to ≈ 2.7 MiB: ≈ 1,650 tokens with
``top_logprobs`` 20, ≈ 5,700 with 5, ≈ 35,000 without top logprobs; a larger
MODELGATE_MAX_RESPONSE_BYTES raises the budget with it. Nested empty arrays or
objects estimate at 50-60 per byte and are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx
import orjson

from modelgate.errors import UpstreamUnavailable
from modelgate.providers.upstream_errors import too_complex, unreadable

if TYPE_CHECKING:
    from modelgate.providers.base import UpstreamTarget

_WEIGHTS = ((b"{", 96), (b"[", 80), (b'"', 48), (b",", 64), (b":", 80))
_PER_BYTE = 6
# The largest estimated cost of one input byte (a "{"): a body this many times
# smaller than the budget cannot exceed it, so it is not even counted.
_MAX_COST_PER_BYTE = 96 + _PER_BYTE
COST_PER_LIMIT_BYTE = 8
_MIN_BUDGET = 1024 * 1024  # harmless whatever the limit (and tiny limits keep working)


def parse_budget(limit_bytes: int) -> int:
    """The estimated parse cost allowed for a body of at most ``limit_bytes``."""
    return max(COST_PER_LIMIT_BYTE * limit_bytes, _MIN_BUDGET)


def parse_cost(body: bytes | bytearray | memoryview) -> int:
    """The estimated bytes of Python objects ``orjson.loads(body)`` would build."""
    return _PER_BYTE * len(body) + sum(weight * body.count(char) for char, weight in _WEIGHTS)


def within_budget(body: bytes | bytearray | memoryview, budget: int) -> bool:
    if len(body) * _MAX_COST_PER_BYTE <= budget:  # every ordinary answer and event
        return True
    return parse_cost(body) <= budget


def parse_answer(
    body: bytes | bytearray, budget: int, target: UpstreamTarget
) -> dict[str, Any]:
    """One JSON object answer; refused (``too_complex``, ``unreadable``) when its parse
    would cost more than ``budget`` or it is not a JSON object."""
    if not within_budget(body, budget):
        raise too_complex(target, budget)
    return json_object(body, target)


def json_object(body: bytes | bytearray, target: UpstreamTarget) -> dict[str, Any]:
    """``body`` parsed; ``unreadable`` unless it is one JSON object."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise unreadable(target) from exc
    if not isinstance(data, dict):
        raise unreadable(target)
    return data


def declared_length(headers: Mapping[str, str], limit: int, target: UpstreamTarget) -> int | None:
    """The answer's ``Content-Length``, None if it declares none; an answer that
    declares more than ``limit`` bytes is refused before it is read."""
    declared = headers.get("content-length", "")
    if not declared.isdigit():
        return None
    length = int(declared)
    if length > limit:
        raise too_large(target, limit)
    return length


def too_large(target: UpstreamTarget, limit: int) -> UpstreamUnavailable:
    return UpstreamUnavailable(
        f"The provider '{target.provider_id}' sent an answer larger than {limit} bytes."
    )


def refused_encoding(response: httpx.Response) -> str | None:
    """The answer's ``Content-Encoding`` if it is anything but identity, else None."""
    values = response.headers.get_list("content-encoding")
    codings = [c.strip().lower() for value in values for c in value.split(",")]
    if all(coding in ("", "identity") for coding in codings):
        return None
    # Shown in an error message: keep it short and printable.
    shown = ", ".join(c for c in codings if c not in ("", "identity"))[:40]
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in " ,-") else "?" for ch in shown)
