"""The official openai SDK against the gateway, one provider after another:
the caller cannot tell who answered, except by the IC-Provider header."""

from __future__ import annotations

import json

import openai

from tests.chat.conftest import HOSTED
from tests.fakes.upstream import FakeUpstream

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def test_openai_passthrough(sdk: openai.OpenAI, upstream: FakeUpstream) -> None:
    raw = sdk.chat.completions.with_raw_response.create(
        model="GPT-4o-2024-08-06", messages=[{"role": "user", "content": "Hi"}], temperature=0.2,
        extra_body={"logit_bias": {"50256": -100}},
    )
    answer = raw.parse()
    assert answer.model == "gpt-4o"  # the resolved id, not the upstream's dated one
    assert answer.choices[0].message.content == "Hello from OpenAI."
    assert answer.usage.total_tokens == 13
    assert raw.headers["ic-provider"] == "openai" and raw.headers["ic-key-source"] == "hosted"
    sent = upstream.last
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {HOSTED['openai']}"
    assert sent.body["model"] == "gpt-4o" and sent.body["temperature"] == 0.2
    assert sent.body["logit_bias"] == {"50256": -100}  # unknown fields pass through


def test_openai_stream_with_usage(sdk: openai.OpenAI, upstream: FakeUpstream) -> None:
    stream = sdk.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}], stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text and all(c.model == "gpt-4o-mini" for c in chunks)
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0
    assert upstream.last.body["stream"] is True and upstream.last.body["stream_options"] == {"include_usage": True}


def test_provider_prefixed_model_goes_to_that_provider(sdk: openai.OpenAI, upstream: FakeUpstream, chat_gateway, tenant) -> None:
    import httpx

    httpx.put(f"{chat_gateway.url}/v1/tenant/model_keys/groq", json={"api_key": "gsk-tenant"}, headers=tenant.headers())
    raw = sdk.chat.completions.with_raw_response.create(
        model="groqcloud:llama-3.3-70b", messages=[{"role": "user", "content": "Hi"}]
    )
    assert raw.headers["ic-provider"] == "groq" and raw.headers["ic-key-source"] == "byok"
    assert raw.parse().model == "meta-llama/llama-3.3-70b-versatile"
    assert upstream.last.path == "/groq/v1/chat/completions"
    assert upstream.last.headers["authorization"] == "Bearer gsk-tenant"


def test_anthropic_tools_and_images(sdk: openai.OpenAI, upstream: FakeUpstream) -> None:
    raw = sdk.chat.completions.with_raw_response.create(
        model="claude-sonnet-4-5",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [
                {"type": "text", "text": "What is here?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
            ]},
        ],
        tools=[WEATHER_TOOL], tool_choice="auto", stop=["END"], temperature=0.5,
    )
    answer = raw.parse()
    assert raw.headers["ic-provider"] == "anthropic"
    assert answer.model == "claude-sonnet-4-5"
    assert answer.choices[0].finish_reason == "tool_calls"
    call = answer.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}
    assert answer.usage.prompt_tokens == 20 and answer.usage.completion_tokens == 11
    sent = upstream.last
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == HOSTED["anthropic"] and "anthropic-version" in sent.headers
    assert "authorization" not in sent.headers
    body = sent.body
    assert body["model"] == "claude-sonnet-4-5" and body["system"] == "Be brief." or body["system"][0]["text"] == "Be brief."
    assert body["max_tokens"] == 64_000  # the catalog's output limit when the caller gives none
    assert body["stop_sequences"] == ["END"] and body["temperature"] == 0.5
    assert body["tools"][0]["input_schema"]["required"] == ["city"]
    parts = body["messages"][0]["content"]
    assert parts[1]["source"] == {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}
    assert parts[2]["source"] == {"type": "url", "url": "https://example.com/cat.jpg"}


def test_anthropic_tool_round_trip(sdk: openai.OpenAI, upstream: FakeUpstream) -> None:
    sdk.chat.completions.create(
        model="claude-haiku-4-5",
        messages=[
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}},
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "Sunny"},
        ],
        tools=[WEATHER_TOOL], max_tokens=50,
    )
    messages = upstream.last.body["messages"]
    assert messages[1]["content"][0] == {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Oslo"}}
    result = messages[2]["content"][0]
    assert result["type"] == "tool_result" and result["tool_use_id"] == "call_1"
    assert upstream.last.body["max_tokens"] == 50


def test_anthropic_stream_with_two_tool_calls(sdk: openai.OpenAI, upstream: FakeUpstream) -> None:
    stream = sdk.chat.completions.create(
        model="claude-sonnet-4-5", messages=[{"role": "user", "content": "Weather and time in Paris?"}],
        tools=[WEATHER_TOOL], stream=True, stream_options={"include_usage": True},
    )
    calls: dict[int, dict[str, str]] = {}
    finish = None
    usage = None
    for chunk in stream:
        usage = chunk.usage or usage
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for delta in choice.delta.tool_calls or []:
                entry = calls.setdefault(delta.index, {"name": "", "arguments": ""})
                entry["name"] += (delta.function and delta.function.name) or ""
                entry["arguments"] += (delta.function and delta.function.arguments) or ""
    assert sorted(calls) == [0, 1]
    assert [c["name"] for c in calls.values()] == ["get_weather", "get_time"]
    assert all(isinstance(json.loads(c["arguments"]), dict) for c in calls.values())
    assert finish == "tool_calls" and usage is not None and usage.prompt_tokens > 0


def test_gemini_answer_and_stream(sdk: openai.OpenAI, upstream: FakeUpstream) -> None:
    raw = sdk.chat.completions.with_raw_response.create(
        model="gemini-2.5-flash", messages=[{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi"}],
        max_completion_tokens=100, temperature=0.1,
    )
    answer = raw.parse()
    assert raw.headers["ic-provider"] == "google" and answer.model == "gemini-2.5-flash"
    assert answer.choices[0].message.content == "Hello from Gemini." and answer.usage.total_tokens == 9
    sent = upstream.last
    assert sent.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert sent.headers["x-goog-api-key"] == HOSTED["google"] and "key=" not in sent.query
    assert sent.body["systemInstruction"]["parts"][0]["text"] == "Be kind."
    assert sent.body["generationConfig"]["maxOutputTokens"] == 100

    stream = sdk.chat.completions.create(
        model="gemini-2.5-flash", messages=[{"role": "user", "content": "Weather?"}], tools=[WEATHER_TOOL], stream=True,
    )
    chunks = list(stream)
    names = [d.function.name for c in chunks for ch in c.choices for d in (ch.delta.tool_calls or [])]
    assert names == ["get_weather", "get_time"]
    assert upstream.last.path.endswith(":streamGenerateContent") and upstream.last.query == "alt=sse"
    assert upstream.last.body["tools"][0]["functionDeclarations"][0]["name"] == "get_weather"
