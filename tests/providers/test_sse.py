"""SSE decoding (however the bytes are cut) and OpenAI chunk encoding."""

from __future__ import annotations

import orjson
import pytest

from modelgate.errors import UpstreamTimeout, UpstreamUnavailable
from modelgate.providers.sse import DONE, ChunkWriter, SSEDecoder, SSEEvent, error_event
from tests.providers.helpers import fixture

STREAM = (
    b": comment\n"
    b'event: message_start\ndata: {"a":1}\n\n'
    b"data: line one\ndata: line two\n\n"
    b"id: 7\nretry: 10\n\n"  # no data: not an event
    b"data:no-space\n\n"
    b"data: [DONE]\n\n"
)
EXPECTED = [
    SSEEvent(b'{"a":1}', "message_start"),
    SSEEvent(b"line one\nline two"),
    SSEEvent(b"no-space"),
    SSEEvent(b"[DONE]"),
]


def decode(pieces: list[bytes]) -> tuple[list[SSEEvent], SSEDecoder]:
    decoder = SSEDecoder(1024)
    found: list[SSEEvent] = []
    for piece in pieces:
        found.extend(decoder.feed(piece))
    found.extend(decoder.finish())
    return found, decoder


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
def test_events_survive_any_cut_and_any_line_end(newline: bytes, size: int) -> None:
    raw = STREAM.replace(b"\n", newline)
    found, decoder = decode([raw[i : i + size] for i in range(0, len(raw), size)])
    assert found == EXPECTED
    assert not decoder.partial


def test_a_gemini_recording_decodes_to_its_three_events() -> None:
    found, decoder = decode([fixture("google_text.sse")])
    assert len(found) == 3
    assert all(orjson.loads(event.data)["candidates"] for event in found)
    assert not decoder.partial


def test_an_unfinished_event_is_reported_as_partial() -> None:
    found, decoder = decode([b'data: {"a":1}\n\ndata: {"b"'])
    assert found == [SSEEvent(b'{"a":1}')]
    assert decoder.partial


@pytest.mark.parametrize("end", [b"", b"\n\n"], ids=["pending", "complete-in-one-read"])
def test_an_event_over_the_limit_is_refused(end: bytes) -> None:
    decoder = SSEDecoder(16)
    with pytest.raises(UpstreamUnavailable, match="larger than 16 bytes"):
        decoder.feed(b"data: " + b"x" * 40 + end)


@pytest.mark.parametrize("end", [b"", b"\n\n"], ids=["pending", "complete-in-one-read"])
def test_events_before_an_oversized_one_in_the_same_read_are_delivered(end: bytes) -> None:
    decoder = SSEDecoder(16)
    found = decoder.feed(b'data: {"a":1}\n\n' + b"data: " + b"x" * 40 + end)
    assert found == [SSEEvent(b'{"a":1}')]
    with pytest.raises(UpstreamUnavailable, match="larger than 16 bytes"):
        decoder.feed(b"data: more\n\n")
    with pytest.raises(UpstreamUnavailable, match="larger than 16 bytes"):
        decoder.finish()


def test_an_event_at_the_limit_passes() -> None:
    event = b"data: " + b"x" * 10  # 16 bytes, its terminator aside
    assert SSEDecoder(16).feed(event + b"\n\n") == [SSEEvent(b"x" * 10)]


def test_chunk_writer_and_error_event() -> None:
    writer = ChunkWriter(id="c1", model="m", created=5)
    assert orjson.loads(writer.delta({"content": "hi"})[6:]) == {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 5,
        "model": "m",
        "choices": [
            {"index": 0, "delta": {"content": "hi"}, "logprobs": None, "finish_reason": None}
        ],
    }
    usage = orjson.loads(writer.usage({"total_tokens": 3})[6:])
    assert usage["choices"] == [] and usage["usage"] == {"total_tokens": 3}
    assert DONE == b"data: [DONE]\n\n"
    tail = error_event(UpstreamTimeout("slow"))
    assert tail.endswith(b"\n\n")
    assert orjson.loads(tail[6:]) == {
        "error": {"type": "api_error", "code": "upstream_timeout", "message": "slow", "param": None}
    }
