"""What a provider's error tells a tenant, through the gateway and the official SDK,
on both databases (issue 12, item 6).

On the platform's (hosted) keys, a 429 or a failure inside a stream no longer
shows the platform's organisation and project ids, masked keys or usage figures;
the rest of the message ("Please try again in 644ms") still reaches the tenant.
On the tenant's own (BYOK) key, the same message arrives as the provider wrote it.
Message shapes are the providers' own (see tests/providers/test_hosted_redaction.py).
"""

from __future__ import annotations

import httpx
import openai
import orjson
import pytest

from tests.fakes.upstream import FakeUpstream, Script, events_of, json_script
from tests.support import RunningGateway, SeededTenant

MESSAGES = [{"role": "user", "content": "Hi"}]
MODELS = {"openai": "gpt-4o", "anthropic": "claude-haiku-4-5", "google": "gemini-2.5-flash"}

# provider → (its 429 message, what must not reach a hosted caller, what must)
RATE_LIMITED = {
    "openai": (
        "Rate limit reached for gpt-4o in organization org-uOtiSEwvUnroadaOnJJquBEC on tokens "
        "per min (TPM): Limit 30000, Used 29937, Requested 385. Please try again in 644ms. "
        "Visit https://platform.openai.com/account/rate-limits to learn more.",
        ["org-uOtiSEwvUnroadaOnJJquBEC", "30000", "29937", "385"],
        "Limit [redacted], Used [redacted], Requested [redacted]. Please try again in 644ms.",
    ),
    "anthropic": (
        "This request would exceed the rate limit for your organization "
        "(a22cf6e6-a940-4fff-8c4c-1580816ac7be) of 450,000 input tokens per minute. For "
        "details, refer to: https://docs.anthropic.com/en/api/rate-limits.",
        ["a22cf6e6-a940-4fff-8c4c-1580816ac7be", "450,000"],
        "for your organization ([redacted]) of [redacted] input tokens per minute.",
    ),
    "google": (
        "You exceeded your current quota, please check your plan and billing details.\n"
        "* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_paid_"
        "tier_input_token_count, limit: 2000000, model: gemini-2.5-flash\n"
        "* Quota exceeded for quota metric 'Generate Content API requests per minute' for "
        "consumer 'project_number:411082643095'.\nPlease retry in 38.863719904s.",
        ["2000000", "411082643095"],
        "limit: [redacted], model: gemini-2.5-flash",
    ),
}


def error_body(provider: str, message: str) -> dict:
    """A 429 in the provider's own shape."""
    if provider == "anthropic":
        return {"type": "error", "error": {"type": "rate_limit_error", "message": message}}
    if provider == "google":
        return {"error": {"code": 429, "message": message, "status": "RESOURCE_EXHAUSTED"}}
    return {"error": {"message": message, "type": "tokens", "param": None,
                      "code": "rate_limit_exceeded"}}


def error_event(provider: str, message: str) -> bytes:
    """The same failure reported inside a stream that has begun."""
    prefix = b"event: error\n" if provider == "anthropic" else b""
    return prefix + b"data: " + orjson.dumps(error_body(provider, message)) + b"\n\n"


@pytest.fixture(params=["hosted", "byok"])
def key_source(
    request: pytest.FixtureRequest, chat_gateway: RunningGateway, tenant: SeededTenant
) -> str:
    """Whose key the call uses: the platform's, or the tenant's own for every provider."""
    if request.param == "byok":
        for provider in MODELS:
            put = httpx.put(
                f"{chat_gateway.url}/v1/tenant/model_keys/{provider}",
                json={"api_key": f"sk-byok-{provider}-redaction-0123456789"},
                headers=tenant.headers(),
            )
            assert put.status_code == 200, put.text
    return request.param


def assert_told(message: str, provider: str, key_source: str) -> None:
    original, platform_details, useful = RATE_LIMITED[provider]
    if key_source == "hosted":
        for detail in platform_details:
            assert detail not in message
        assert useful in message
    else:  # the tenant's own account: told as the provider wrote it
        assert original in message


@pytest.mark.parametrize("provider", sorted(MODELS))
def test_a_rate_limit_message(
    sdk: openai.OpenAI, upstream: FakeUpstream, provider: str, key_source: str
) -> None:
    upstream.next(json_script(error_body(provider, RATE_LIMITED[provider][0]), 429))
    with pytest.raises(openai.RateLimitError) as raised:
        sdk.chat.completions.create(model=MODELS[provider], messages=MESSAGES)
    error = raised.value.response.json()["error"]
    assert error["code"] == "upstream_error"
    assert_told(error["message"], provider, key_source)
    if key_source == "hosted":  # nowhere in the answer, not only not in its message
        assert not any(d in raised.value.response.text for d in RATE_LIMITED[provider][1])


@pytest.mark.parametrize("provider", sorted(MODELS))
def test_an_error_inside_a_stream(
    sdk: openai.OpenAI, upstream: FakeUpstream, provider: str, key_source: str
) -> None:
    # Up to the first content (Anthropic's opens with message_start, content_block_start
    # and a ping): before it, a failure is an HTTP error (providers/holdback.py).
    started = events_of(f"{provider}_text.sse")[: 4 if provider == "anthropic" else 2]
    failure = error_event(provider, RATE_LIMITED[provider][0])
    upstream.next(Script(chunks=[*started, failure], content_type="text/event-stream"))
    received = []
    with pytest.raises(openai.APIError) as raised:
        for chunk in sdk.chat.completions.create(
            model=MODELS[provider], messages=MESSAGES, stream=True
        ):
            received.append(chunk)
    assert received, "the stream had begun"
    assert raised.value.body["code"] == "upstream_unavailable"
    assert_told(raised.value.body["message"], provider, key_source)


def test_a_masked_platform_key_in_a_401_is_hidden_from_hosted_callers(
    sdk: openai.OpenAI, upstream: FakeUpstream, key_source: str
) -> None:
    masked = "sk-proj-********************************************abcd"
    message = (
        f"Incorrect API key provided: {masked}. "
        "You can find your API key at https://platform.openai.com/account/api-keys."
    )
    upstream.next(json_script({"error": {"message": message, "code": "invalid_api_key"}}, 401))
    with pytest.raises(openai.AuthenticationError) as raised:
        sdk.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    told = raised.value.response.json()["error"]["message"]
    if key_source == "hosted":
        assert masked not in told and "abcd" not in told
        assert told.startswith("Incorrect API key provided: [redacted].")
    else:
        assert told == message
