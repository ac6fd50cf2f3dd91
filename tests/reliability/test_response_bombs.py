"""Answers built to cost the gateway memory, from a loopback upstream, against a real
``modelgate serve`` process whose peak resident size (VmHWM) is measured around each
call (issue 12, items 1 and 2).

Decompression bombs: 1, 2 and 3 layers of gzip and three of deflate (a few hundred
bytes that decode to 256 MiB), as plain answers, as streams and as error answers,
are refused from their headers: 502 ``upstream_unavailable``, and the process grows
by less than 64 MiB. Parse cost: an answer of nested empty arrays just under the
8 MiB answer limit, and one SSE event of them just under the 1 MiB event limit,
are refused before orjson sees them, under the same bound. Real answers that are
large or dense (a 1 MiB text, logprobs with 20 top logprobs) still pass.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from functools import cache

import httpx
import orjson
import pytest

from tests.fakes.upstream import FakeUpstream, Script, run_fake_upstream
from tests.reliability.served_gateway import MIB, ServedGateway, serve_gateway

BOUND_MIB = 64  # the most one hostile answer may grow the gateway's peak
DECODED = 256 * MIB  # what each bomb decodes to (modest: the unfixed gateway decodes it)
ANSWER_LIMIT = 8 * MIB  # the defaults under test: MODELGATE_MAX_RESPONSE_BYTES
EVENT_LIMIT = 1 * MIB  # and MODELGATE_MAX_EVENT_BYTES
SSE = "text/event-stream"
GZIP, ZLIB = 31, 15  # zlib wbits: a gzip member; a zlib stream (HTTP's "deflate")


# ── what the upstream sends ────────────────────────────────────────────────────
def _compressed_zeros(wbits: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = bytes(MIB)
    parts = [compressor.compress(block) for _ in range(DECODED // MIB)]
    return b"".join([*parts, compressor.flush()])


def _layer(data: bytes, wbits: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return compressor.compress(data) + compressor.flush()


@cache
def bomb(coding: str, layers: int) -> bytes:
    wbits = GZIP if coding == "gzip" else ZLIB
    body = _compressed_zeros(wbits)
    for _ in range(layers - 1):
        body = _layer(body, wbits)
    return body


BOMBS = [("gzip", 1), ("gzip", 2), ("gzip", 3), ("deflate", 3)]


def nested_empty_arrays(size: int, prefix: bytes = b"", suffix: bytes = b"") -> bytes:
    """``{"choices":[],"pad":[[],[],…]}`` of exactly ``size`` bytes with its affixes."""
    head, tail = prefix + b'{"choices":[],"pad":[', b"[]]}" + suffix
    count, rest = divmod(size - len(head) - len(tail), 3)
    return head + b"[]," * count + b" " * rest + tail


def chat_completion(message: dict, logprobs: dict | None = None) -> dict:
    return {
        "id": "chatcmpl-big",
        "object": "chat.completion",
        "created": 1_751_234_567,
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {"index": 0, "message": message, "logprobs": logprobs, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13},
    }


def logprob(token: str, top: int) -> dict:
    entry = {"token": token, "logprob": -0.0123456789, "bytes": list(token.encode())}
    if top:
        entry["top_logprobs"] = [logprob(f"{token}{i}", 0) for i in range(top)]
    return entry


# ── the gateway under test ─────────────────────────────────────────────────────
@pytest.fixture(scope="module")
def fake() -> Iterator[FakeUpstream]:
    with run_fake_upstream() as fake:
        yield fake


@pytest.fixture(scope="module")
def gateway(
    fake: FakeUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedGateway]:
    with serve_gateway(fake.url, tmp_path_factory.mktemp("bombs")) as served:
        for stream in (False, True, False):  # warm: pools, caches and lazy imports
            assert chat(served, stream=stream).status_code == 200
        yield served


def chat(gateway: ServedGateway, *, stream: bool) -> httpx.Response:
    return httpx.post(
        f"{gateway.url}/v1/chat/completions",
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}], "stream": stream},
        headers=gateway.tenant.headers("write"),
        timeout=60,
    )


def attack(gateway: ServedGateway, fake: FakeUpstream, script: Script, *, stream: bool):
    """The gateway's answer to one call the upstream answers with ``script``, and
    how much the call grew the gateway's peak resident size (MiB)."""
    fake.reset()
    fake.next(script)
    before = gateway.reset_peak()
    answer = chat(gateway, stream=stream)
    growth = gateway.peak_mib() - before
    print(f"peak growth {growth:.1f} MiB")
    return answer, growth


def assert_refused(answer: httpx.Response, says: str) -> None:
    assert answer.status_code == 502, answer.text[:500]
    error = answer.json()["error"]
    assert error["code"] == "upstream_unavailable"
    assert says in error["message"], error["message"]


# ── item 1: decompression bombs ────────────────────────────────────────────────
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize(("coding", "layers"), BOMBS, ids=[f"{c}x{n}" for c, n in BOMBS])
def test_a_decompression_bomb_is_refused_unread(
    gateway: ServedGateway, fake: FakeUpstream, coding: str, layers: int, stream: bool
) -> None:
    body = bomb(coding, layers)
    encoding = ", ".join([coding] * layers)
    headers = {"content-encoding": encoding}
    script = (
        Script(chunks=[body], content_type=SSE, headers=headers)
        if stream
        else Script(body=body, headers=headers)
    )
    answer, growth = attack(gateway, fake, script, stream=stream)
    assert growth < BOUND_MIB
    assert_refused(answer, f"compressed answer (Content-Encoding: {encoding})")


@pytest.mark.parametrize("status", [400, 429, 500])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_a_compressed_error_answer_is_refused_unread(
    gateway: ServedGateway, fake: FakeUpstream, status: int, stream: bool
) -> None:
    script = Script(status, bomb("gzip", 2), headers={"content-encoding": "gzip, gzip"})
    answer, growth = attack(gateway, fake, script, stream=stream)
    assert growth < BOUND_MIB
    assert_refused(answer, "compressed answer (Content-Encoding: gzip, gzip)")


def test_upstream_requests_ask_for_identity(gateway: ServedGateway, fake: FakeUpstream) -> None:
    fake.reset()
    assert chat(gateway, stream=False).status_code == 200
    assert fake.last.headers["accept-encoding"] == "identity"


# ── item 2: parse cost ─────────────────────────────────────────────────────────
def test_an_answer_of_nested_empty_arrays_under_the_size_limit_is_refused(
    gateway: ServedGateway, fake: FakeUpstream
) -> None:
    body = nested_empty_arrays(ANSWER_LIMIT - 16)
    answer, growth = attack(gateway, fake, Script(body=body), stream=False)
    assert growth < BOUND_MIB
    assert_refused(answer, "too complex to parse")


def test_an_event_of_nested_empty_arrays_under_the_event_limit_is_refused(
    gateway: ServedGateway, fake: FakeUpstream
) -> None:
    # The event's size counts its "data: " field, not its terminator.
    event = nested_empty_arrays(EVENT_LIMIT - 16, prefix=b"data: ", suffix=b"\n\n")
    assert len(event) - 2 < EVENT_LIMIT
    answer, growth = attack(gateway, fake, Script(chunks=[event], content_type=SSE), stream=True)
    assert growth < BOUND_MIB
    assert_refused(answer, "too complex to parse")


def test_an_event_over_the_event_limit_is_refused_before_it_is_parsed(
    gateway: ServedGateway, fake: FakeUpstream
) -> None:
    # Under the answer limit, as one event: the event limit is what refuses it.
    event = nested_empty_arrays(4 * MIB, prefix=b"data: ", suffix=b"\n\n")
    answer, growth = attack(gateway, fake, Script(chunks=[event], content_type=SSE), stream=True)
    assert growth < BOUND_MIB
    assert_refused(answer, f"larger than {EVENT_LIMIT} bytes")


def test_a_one_mib_text_answer_passes(gateway: ServedGateway, fake: FakeUpstream) -> None:
    text = "All work and no play makes Jack a dull boy. " * (MIB // 44)
    body = orjson.dumps(chat_completion({"role": "assistant", "content": text}))
    answer, _ = attack(gateway, fake, Script(body=body), stream=False)
    assert answer.status_code == 200, answer.text[:500]
    assert answer.json()["choices"][0]["message"]["content"] == text


def test_a_logprobs_answer_with_twenty_top_logprobs_passes(
    gateway: ServedGateway, fake: FakeUpstream
) -> None:
    # 1,500 tokens × (1 + 20) entries: 2.4 MiB of small objects, the densest real answer.
    content = [logprob(f"tok{i}", 20) for i in range(1500)]
    message = {"role": "assistant", "content": "".join(e["token"] for e in content)}
    body = orjson.dumps(chat_completion(message, {"content": content, "refusal": None}))
    assert len(body) > 2 * MIB
    answer, _ = attack(gateway, fake, Script(body=body), stream=False)
    assert answer.status_code == 200, answer.text[:500]
    assert answer.json()["choices"][0]["logprobs"]["content"] == content


def test_a_logprobs_stream_passes(gateway: ServedGateway, fake: FakeUpstream) -> None:
    def event(i: int) -> bytes:
        chunk = {
            "id": "chatcmpl-big", "object": "chat.completion.chunk", "created": 1,
            "model": "gpt-4o-2024-08-06",
            "choices": [{"index": 0, "delta": {"content": f"tok{i}"},
                         "logprobs": {"content": [logprob(f"tok{i}", 20)]},
                         "finish_reason": None}],
        }
        return b"data: " + orjson.dumps(chunk) + b"\n\n"

    chunks = [event(i) for i in range(300)] + [b"data: [DONE]\n\n"]
    answer, _ = attack(gateway, fake, Script(chunks=chunks, content_type=SSE), stream=True)
    assert answer.status_code == 200
    events = [part for part in answer.content.split(b"\n\n") if part.strip()]
    assert len(events) == 301 and events[-1] == b"data: [DONE]"
    last = orjson.loads(events[-2][len(b"data: "):])
    assert last["choices"][0]["logprobs"]["content"][0]["token"] == "tok299"
