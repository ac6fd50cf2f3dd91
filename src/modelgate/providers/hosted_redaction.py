"""What a provider's error message must not tell a tenant on a hosted call.

On the platform's own keys, a provider's message describes the platform's
account, not the tenant's: its (masked) key, its organisation and project ids,
and the limits and usage of the whole platform in a 429. These shapes are
replaced by ``[redacted]``; the rest of the message (what went wrong, the model,
"Please try again in 1.2s") stays, so it is still useful. Shapes, as the
providers write them::

    OpenAI     Incorrect API key provided: sk-proj-****…abcd.
               Rate limit reached for gpt-4o in organization org-AbC… on tokens per
               min (TPM): Limit 30000, Used 29937, Requested 385. Please try again in 644ms.
               Project `proj_AbC…` does not have access to model `o3`
    Anthropic  This request would exceed the rate limit for your organization
               (a22cf6e6-…) of 1,000,000 input tokens per minute.
    Google     * Quota exceeded for metric: …, limit: 250000, model: gemini-2.5-flash
               Generative Language API has not been used in project 411082643095 …
               ?project=411082643095 · consumer 'project_number:411082643095'
               Permission denied: Consumer 'api_key:AIzaSy…' has been suspended.

BYOK calls are not redacted this way: there the account is the tenant's own.
"""

from __future__ import annotations

import re

REDACTED = "[redacted]"

_KEY_CHARS = r"(?:[\w\-*]|\.(?=[\w*.])|…)"  # a sentence's final "." is not part of a key
_WHOLE = (
    # API keys, masked or not: OpenAI and Anthropic (sk-…), Google (AIza…), and
    # any token masked with a run of asterisks.
    re.compile(rf"\bsk-{_KEY_CHARS}+"),
    re.compile(rf"\bAIza{_KEY_CHARS}+"),
    re.compile(r"[\w\-.]*\*{4,}[\w\-.…]*"),
    # OpenAI organisation and project ids.
    re.compile(r"\borg-[A-Za-z0-9]{4,}"),
    re.compile(r"\bproj_[A-Za-z0-9]{4,}"),
    # Anthropic's organisation ids (UUIDs).
    re.compile(r"\b[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\b"),
    # OpenAI's older tier names carry the limits: "Rate limit reached for 10KTPM-200RPM".
    re.compile(r"\b\d[\d.]*[KkMm]?[TR]P[MD](?:-\d[\d.]*[KkMm]?[TR]P[MD])*\b"),
    # "… of 1,000,000 input tokens per minute", "50 requests per day".
    re.compile(r"\b\d[\d,.]*(?=\s+(?:input\s+|output\s+)?(?:tokens|requests)\s+per\b)"),
)
_AFTER_LABEL = (
    # OpenAI "Limit 30000, Used 29937, Requested 385", "Limit: 10000 / min",
    # "Current: 10020 / min"; Google "limit: 250000".
    re.compile(r"(?i)\b((?:limit|used|requested|current)(?:\s*:\s*|\s+))\d[\d,.]*[kKmM]?\b"),
    # Google project numbers and ids: "project 4110…", "projects/…", "?project=…",
    # "project_number:…". Only a token with a digit: "the project does not …" stays.
    re.compile(r"(?i)\b(projects?(?:_number|_id)?(?:\s*[:/=]\s*|\s+))[\w\-]*\d[\w\-]*"),
)


def redact_platform_details(message: str) -> str:
    for pattern in _WHOLE:
        message = pattern.sub(REDACTED, message)
    for pattern in _AFTER_LABEL:
        message = pattern.sub(lambda match: match.group(1) + REDACTED, message)
    return message
