"""What a provider's error message keeps on a hosted call: the platform's keys, ids
and usage figures go, the useful part stays. Messages as the providers write them
(shapes from real reports), each with what must go and what must stay.

End to end, through the gateway and the SDK, hosted against BYOK, plain and
streamed: tests/chat/test_hosted_error_redaction.py.
"""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from modelgate.providers.base import UpstreamTarget, message_of
from modelgate.providers.hosted_redaction import redact_platform_details

CASES = [
    pytest.param(
        "Incorrect API key provided: sk-proj-********************************************abcd. "
        "You can find your API key at https://platform.openai.com/account/api-keys.",
        ["sk-proj", "abcd", "****"],
        ["Incorrect API key provided: [redacted]. You can find your API key"],
        id="openai-masked-project-key",
    ),
    pytest.param(
        "Incorrect API key provided: sk-zhj0s***************************************CMuq.",
        ["zhj0s", "CMuq"],
        ["Incorrect API key provided: [redacted]."],
        id="openai-masked-legacy-key",
    ),
    pytest.param(
        "Rate limit reached for gpt-4o in organization org-uOtiSEwvUnroadaOnJJquBEC on tokens "
        "per min (TPM): Limit 30000, Used 29937, Requested 385. Please try again in 644ms. "
        "Visit https://platform.openai.com/account/rate-limits to learn more.",
        ["org-uOti", "30000", "29937", "385"],
        [
            "Rate limit reached for gpt-4o in organization [redacted] on tokens per min (TPM): "
            "Limit [redacted], Used [redacted], Requested [redacted]. Please try again in 644ms."
        ],
        id="openai-429-tpm",
    ),
    pytest.param(
        "Rate limit reached for 10KTPM-200RPM in organization org-gvAzf6Q9pR7y2UAiI9owd3LF on "
        "tokens per min. Limit: 10000 / min. Current: 10020 / min. Please try again in 6ms.",
        ["10KTPM", "200RPM", "10000", "10020", "org-gvA"],
        ["Limit: [redacted] / min. Current: [redacted] / min. Please try again in 6ms."],
        id="openai-429-legacy-tier",
    ),
    pytest.param(
        "Request too large for gpt-4o in project proj_Ab12Cd34Ef56Gh78 on tokens per min (TPM): "
        "Limit 30000, Requested 36055. The input or output tokens must be reduced.",
        ["proj_Ab12", "30000", "36055"],
        ["Request too large for gpt-4o in project [redacted]", "must be reduced"],
        id="openai-request-too-large-project",
    ),
    pytest.param(
        "Project `proj_Ab12Cd34Ef56Gh78` does not have access to model `o3`",
        ["proj_Ab12"],
        ["Project `[redacted]` does not have access to model `o3`"],
        id="openai-project-no-access",
    ),
    pytest.param(
        "This request would exceed the rate limit for your organization "
        "(a22cf6e6-a940-4fff-8c4c-1580816ac7be) of 1,000,000 input tokens per minute. For "
        "details, refer to: https://docs.anthropic.com/en/api/rate-limits. Please reduce the "
        "prompt length or the maximum tokens requested, or try again later.",
        ["a22cf6e6", "1,000,000", "1000000"],
        [
            "for your organization ([redacted]) of [redacted] input tokens per minute.",
            "or try again later.",
        ],
        id="anthropic-429-itpm",
    ),
    pytest.param(
        "This request would exceed your organization's rate limit of 450,000 input tokens per "
        "minute (org: 80162711-722b-4454-ae75-c6334e6796f2, model: claude-opus-4-6).",
        ["450,000", "80162711"],
        ["rate limit of [redacted] input tokens per minute (org: [redacted], model: claude-opus"],
        id="anthropic-429-org-suffix",
    ),
    pytest.param(
        "Invalid API key: sk-ant-api03-AbCdEfGhIjKlMnOp-QrStUvWx",
        ["sk-ant", "AbCdEf"],
        ["Invalid API key: [redacted]"],
        id="anthropic-key",
    ),
    pytest.param(
        "You exceeded your current quota, please check your plan and billing details. For more "
        "information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n"
        "* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_"
        "paid_tier_input_token_count, limit: 2000000, model: gemini-2.5-flash\n"
        "Please retry in 38.863719904s.",
        ["2000000"],
        ["limit: [redacted], model: gemini-2.5-flash", "Please retry in 38.863719904s."],
        id="google-429-quota",
    ),
    pytest.param(
        "Generative Language API has not been used in project 411082643095 before or it is "
        "disabled. Enable it by visiting https://console.developers.google.com/apis/api/"
        "generativelanguage.googleapis.com/overview?project=411082643095 then retry.",
        ["411082643095"],
        ["has not been used in project [redacted] before", "overview?project=[redacted] then"],
        id="google-project-number",
    ),
    pytest.param(
        "Quota exceeded for quota metric 'Generate Content API requests per minute' and limit "
        "'GenerateContent request limit per minute for a region' of service "
        "'generativelanguage.googleapis.com' for consumer 'project_number:411082643095'.",
        ["411082643095"],
        ["for consumer 'project_number:[redacted]'."],
        id="google-consumer-project",
    ),
    pytest.param(
        "Gemini API has not been used in project gen-lang-client-0415575443 before.",
        ["gen-lang-client", "0415575443"],
        ["in project [redacted] before."],
        id="google-project-id",
    ),
    pytest.param(
        "Permission denied: Consumer 'api_key:AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW' has "
        "been suspended.",
        ["AIzaSy", "QrStUvW"],
        ["Consumer 'api_key:[redacted]' has been suspended."],
        id="google-key",
    ),
]


@pytest.mark.parametrize(("message", "gone", "kept"), CASES)
def test_platform_details_are_redacted_and_the_rest_stays(
    message: str, gone: list[str], kept: list[str]
) -> None:
    redacted = redact_platform_details(message)
    for secret in gone:
        assert secret not in redacted
    for useful in kept:
        assert useful in redacted


@pytest.mark.parametrize(
    "message",
    [
        "This model's maximum context length is 128000 tokens. However, your messages "
        "resulted in 130000 tokens. Please reduce the length of the messages.",
        "The project does not exist.",
        "Invalid value for 'temperature': expected a number between 0 and 2.",
        "messages.0.content: Input should be a valid string",
        "Please try again in 1.2s.",
    ],
)
def test_messages_about_the_request_itself_are_left_alone(message: str) -> None:
    assert redact_platform_details(message) == message


def _target(*, hosted: bool) -> UpstreamTarget:
    return UpstreamTarget(
        provider_id="openai",
        base_url="https://api.openai.com/v1",
        api_key=SecretStr("sk-proj-theplatformsownkey0123456789abcd"),
        model="gpt-4o",
        hosted=hosted,
    )


def test_only_hosted_calls_lose_ids_and_figures_and_every_call_loses_its_own_key() -> None:
    error = {
        "error": {
            "message": "Rate limit reached for gpt-4o in organization org-AbCdEf123456 on "
            "requests per min (RPM): Limit 500, Used 500, Requested 1. Key "
            "sk-proj-theplatformsownkey0123456789abcd.",
            "type": "requests",
        }
    }
    hosted = message_of(error, _target(hosted=True))
    byok = message_of(error, _target(hosted=False))
    assert hosted is not None and byok is not None
    assert "org-AbCdEf123456" not in hosted and "500" not in hosted
    assert "Limit [redacted], Used [redacted], Requested [redacted]." in hosted
    # BYOK: the tenant's own account, told as is; only the key itself is hidden.
    assert "org-AbCdEf123456" in byok and "Limit 500, Used 500, Requested 1." in byok
    for message in (hosted, byok):
        assert "theplatformsownkey" not in message
