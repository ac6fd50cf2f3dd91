"""Properties of the pure parts: SSE decoding and the role rules of the translations."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from modelgate.chat.schemas import ChatCompletionRequest
from modelgate.providers.anthropic.request import to_messages_request
from modelgate.providers.google.request import to_generate_request
from modelgate.providers.sse import SSEDecoder

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8)


@st.composite
def conversations(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Any order of roles; tool messages only answer calls made earlier."""
    messages: list[dict[str, Any]] = []
    open_calls: list[str] = []
    for n in range(draw(st.integers(1, 12))):
        role = draw(st.sampled_from(["system", "developer", "user", "assistant", "tool"]))
        if role == "tool" and open_calls:
            messages.append(
                {"role": "tool", "tool_call_id": open_calls.pop(0), "content": draw(text)}
            )
        elif role == "assistant":
            calls = [
                {
                    "id": f"c{n}_{i}",
                    "type": "function",
                    "function": {"name": "f", "arguments": "{}"},
                }
                for i in range(draw(st.integers(0, 2)))
            ]
            open_calls += [call["id"] for call in calls]
            messages.append({"role": "assistant", "content": draw(text), "tool_calls": calls})
        elif role != "tool":
            messages.append({"role": role, "content": draw(text)})
    return messages


def request(messages: list[dict[str, Any]]) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate({"model": "m", "messages": messages})


@settings(max_examples=200)
@given(conversations().filter(bool))
def test_anthropic_turns_alternate_and_no_block_is_empty(messages: list[dict[str, Any]]) -> None:
    payload = to_messages_request(
        request(messages), model="m", default_max_tokens=None, stream=False
    )
    roles = [message["role"] for message in payload["messages"]]
    assert all(a != b for a, b in pairwise(roles))
    for message in payload["messages"]:
        assert message["content"]
        assert all(block.get("text") != "" for block in message["content"])
    tool_uses = sum(
        block["type"] == "tool_use" for m in payload["messages"] for block in m["content"]
    )
    assert tool_uses == sum(len(m.get("tool_calls") or []) for m in messages)


@settings(max_examples=200)
@given(conversations().filter(bool))
def test_gemini_turns_alternate_and_name_every_response(messages: list[dict[str, Any]]) -> None:
    payload = to_generate_request(request(messages), model="gemini-2.5-flash")
    roles = [content["role"] for content in payload["contents"]]
    assert set(roles) <= {"user", "model"}
    assert all(a != b for a, b in pairwise(roles))
    responses = [
        part["functionResponse"]
        for content in payload["contents"]
        for part in content["parts"]
        if "functionResponse" in part
    ]
    assert len(responses) == sum(m["role"] == "tool" for m in messages)
    assert all(r["name"] == "f" and isinstance(r["response"], dict) for r in responses)


@given(
    st.lists(
        st.binary(min_size=1, max_size=40).filter(lambda b: b"\n" not in b and b"\r" not in b)
    ),
    st.sampled_from([b"\n", b"\r\n"]),
    st.data(),
)
def test_sse_decoding_does_not_depend_on_how_bytes_are_cut(
    payloads: list[bytes], newline: bytes, data: st.DataObject
) -> None:
    raw = b"".join(b"data: " + p + newline + newline for p in payloads)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=10)))
    pieces = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
    decoder = SSEDecoder(10_000)
    found = [event.data for piece in pieces for event in decoder.feed(piece)]
    found += [event.data for event in decoder.finish()]
    assert found == payloads  # "data: " loses one space only
    assert not decoder.partial
