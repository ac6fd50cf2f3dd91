"""What an answer may be before it is read or parsed, for every adapter: compressed
answers are refused from their headers (their body is never read), and an answer
or event whose parse would cost too much is refused before orjson sees it.

The gateway-level proof (a real ``modelgate serve``, its peak memory measured
around real bombs) is tests/reliability/test_response_bombs.py.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import httpx
import orjson
import pytest

from modelgate.errors import UpstreamUnavailable
from modelgate.providers.answer_limits import (
    parse_budget,
    parse_cost,
    refused_encoding,
    within_budget,
)
from modelgate.providers.sse import SSEDecoder, SSEEvent
from tests.providers.helpers import ScriptedStream, assert_no_secret, chat, collect, target
from tests.providers.test_faults import url

STYLES = ["openai", "anthropic", "google"]
MIB = 1024 * 1024


# ── encodings ──────────────────────────────────────────────────────────────────
def _response(*values: str) -> httpx.Response:
    return httpx.Response(200, headers=[(b"content-encoding", v.encode("latin-1")) for v in values])


@pytest.mark.parametrize(
    ("values", "refused"),
    [
        ((), None),
        (("",), None),
        (("identity",), None),
        (("Identity , identity",), None),
        (("gzip",), "gzip"),
        (("gzip, gzip",), "gzip, gzip"),
        (("identity", "deflate"), "deflate"),
        (("br",), "br"),
        (("x-made-up\u00e9<script>",), "x-made-up??script?"),
    ],
)
def test_only_identity_passes(values: tuple[str, ...], refused: str | None) -> None:
    assert refused_encoding(_response(*values)) == refused


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("status", [200, 429])
@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
async def test_a_compressed_answer_is_refused_before_its_body_is_read(
    upstream, make_adapter, style: str, status: int, stream: bool
) -> None:
    body = ScriptedStream([gzip.compress(gzip.compress(bytes(MIB)))])
    headers = {"content-encoding": "gzip, gzip", "content-type": "application/json"}
    upstream.post(url(style, stream=stream)).mock(
        return_value=httpx.Response(status, headers=headers, stream=body)
    )
    adapter = make_adapter(style)
    refused = r"compressed answer \(Content-Encoding: gzip, gzip\)"
    with pytest.raises(UpstreamUnavailable, match=refused):
        if stream:
            await collect(adapter.stream(*chat(stream=True), target(style)))
        else:
            await adapter.complete(*chat(), target(style))
    assert body.sent == 0  # not one byte of it was read, let alone decoded


# ── parse cost ─────────────────────────────────────────────────────────────────
# Parses the file named by argv[1] in a fresh process and prints how much that
# grew the process's peak resident size: the real cost, orjson's own buffers
# included (tracemalloc would count memory orjson reserves but never touches).
_MEASURE = """
import gc, sys, orjson
from pathlib import Path
def peak():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
body = Path(sys.argv[1]).read_bytes()
gc.collect()
Path("/proc/self/clear_refs").write_text("5")
before = peak()
parsed = orjson.loads(body)
print(peak() - before)
"""


def _real_cost(body: bytes, tmp_path: Path) -> int:
    path = tmp_path / "body.json"
    path.write_bytes(body)
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True, check=True
    )
    return int(out.stdout)


N = 300_000  # values: bodies of 0.5-3 MiB, well above the allocator's granularity
HOSTILE = {
    "empty-arrays": b"[" + b"[]," * N + b"[]]",
    "nested-arrays": b"[" + b"[[]]," * N + b"[]]",
    "empty-objects": b"[" + b"{}," * N + b"{}]",
    "one-key-objects": b"[" + b'{"a":1},' * N + b"{}]",
    "six-key-objects": b"[" + b'{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6},' * (N // 6) + b"{}]",
    "short-strings": b"[" + b'"ab",' * N + b'""]',
    "wide-strings": b"[" + '"\u0100",'.encode() * N + b'""]',
    "floats": b"[" + b"0.5," * N + b"1]",
    "small-ints": b"[" + b"1," * N + b"1]",
    "unique-keys": orjson.dumps({f"k{i}": i for i in range(N // 2)}),
    "one-long-wide-string": orjson.dumps(["\U0001f600" + "x" * 10 * N]),
}


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
def test_the_estimate_is_at_least_what_parsing_costs(body: bytes, tmp_path: Path) -> None:
    assert parse_cost(body) >= _real_cost(body, tmp_path)


def logprobs_answer(tokens: int, top: int) -> bytes:
    def entry(token: str, top: int) -> dict:
        item = {"token": token, "logprob": -0.0123456789, "bytes": list(token.encode())}
        if top:
            item["top_logprobs"] = [entry(f"{token}{i}", 0) for i in range(top)]
        return item

    content = [entry(f"tok{i}", top) for i in range(tokens)]
    choice = {"index": 0, "message": {"role": "assistant", "content": "x"},
              "logprobs": {"content": content}, "finish_reason": "stop"}
    return orjson.dumps({"id": "c", "object": "chat.completion", "choices": [choice]})


def test_nested_arrays_under_the_answer_limit_are_over_its_budget() -> None:
    body = b"[" + b"[]," * (8 * MIB // 3 - 1) + b"[]]"
    assert len(body) <= 8 * MIB
    assert not within_budget(body, parse_budget(8 * MIB))


@pytest.mark.parametrize(("tokens", "top"), [(1, 20), (1500, 20), (5000, 5), (30_000, 0)])
def test_real_logprobs_answers_are_within_the_answer_budget(tokens: int, top: int) -> None:
    assert within_budget(logprobs_answer(tokens, top), parse_budget(8 * MIB))


def test_a_text_answer_at_the_answer_limit_is_within_its_budget() -> None:
    text = "All work and no play makes Jack a dull boy. " * (8 * MIB // 45)
    body = orjson.dumps({"choices": [{"message": {"content": text}}]})
    assert 7 * MIB < len(body) <= 8 * MIB
    assert within_budget(body, parse_budget(8 * MIB))


def test_a_tiny_limit_still_parses_ordinary_events() -> None:
    assert within_budget(b'{"choices":[{"delta":{"content":"hi"}}]}', parse_budget(16))


def test_a_too_complex_event_is_refused_after_the_events_before_it() -> None:
    decoder = SSEDecoder(64 * 1024)  # its parse budget: 1 MiB
    hostile = b"data: [" + b"[]," * 20_000 + b"[]]\n\n"  # 60 KB, under the event limit
    assert decoder.feed(b'data: {"a":1}\n\n' + hostile) == [SSEEvent(b'{"a":1}')]
    with pytest.raises(UpstreamUnavailable, match="too complex to parse") as raised:
        decoder.feed(b'data: {"b":2}\n\n')
    assert_no_secret(raised.value)
    with pytest.raises(UpstreamUnavailable, match="too complex to parse"):
        decoder.finish()
