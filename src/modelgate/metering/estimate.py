"""Token counts the gateway works out itself, when the provider reported none.

Used only where the provider's own usage is missing: a stream cut before its
usage chunk (or ``message_delta`` / last ``usageMetadata``), a client that left
mid-answer. A provider-reported count, zero included, always wins; the caller
marks an event built from these numbers ``usage_source: "estimated"``.

Which tokenizer:

- **OpenAI models** (and open-weight ones that use OpenAI's encodings, e.g.
  ``openai/gpt-oss-120b`` on Groq or OpenRouter): the model's real encoding,
  chosen by tiktoken's own model table (``o200k_base`` for gpt-4o, gpt-4.1,
  gpt-5 and the o-series; ``cl100k_base`` for gpt-4, gpt-4-turbo,
  gpt-3.5-turbo and the text-embedding-3 models). Exact for the text.
- **Everyone else** (Anthropic, Google, DeepSeek, Llama, Qwen, …): their
  tokenizers are not public or not shipped, so we count with ``o200k_base``,
  unscaled. Why not a per-vendor factor: we cannot measure one offline, and the
  published comparisons are third-party (they put Claude at 20-30% more tokens
  than gpt-4o on the same text). An unscaled count errs on the tenant's side
  on a call that was cut anyway, which is the side a gateway billing someone
  else's traffic should err on. Why not ``ceil(chars / 4)``: that rule is only
  true of English prose; it is off by 2-4x for CJK text, code and whitespace,
  where a real 200k-entry BPE (Gemini's and Llama 3's vocabularies are of the
  same size and kind) follows the text.
- If a vendored rank file cannot be loaded (a broken install), ``ceil(chars /
  4)`` with one logged error, so that recording the call never fails.

Counting long text costs about 0.25 s per million tokens (tiktoken releases
the GIL, so a caller may run it in a thread).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tiktoken.model import encoding_name_for_model

from modelgate.metering import encodings
from modelgate.metering.events import TokenCounts

log = logging.getLogger("modelgate.metering")

DEFAULT_ENCODING = "o200k_base"
# tiktoken's name for a model's encoding -> the vendored encoding that counts it.
_COUNTED_BY = {
    "o200k_base": "o200k_base",
    "o200k_harmony": "o200k_base",  # same ranks; the extra special tokens are never counted
    "cl100k_base": "cl100k_base",
}

# OpenAI's chat format (the cookbook's "How to count tokens with tiktoken"):
# each message is wrapped in <|start|>{role}<|message|>…<|end|>, a name costs
# one more token, and every reply is primed with <|start|>assistant<|message|>.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMER_TOKENS = 3
# An image part: OpenAI's base cost of one image ("detail": "low"); a lower
# bound for any detail level, since the gateway does not fetch the image.
TOKENS_PER_IMAGE = 85

_CHARS_PER_TOKEN = 4  # the fallback rule, used only when an encoding cannot load
_failed_to_load: set[str] = set()


@dataclass(frozen=True, slots=True)
class Tokenizer:
    encoding: str  # the vendored encoding that counts
    exact: bool  # the model's own encoding (True) or the documented stand-in


def tokenizer_for(provider_id: str | None, model_id: str) -> Tokenizer:
    """The encoding that counts ``model_id``'s tokens, and whether it is its own.

    The provider is not needed to pick it (a model's name says its family, and
    OpenAI's open-weight models are served by many providers); it is taken so
    that callers need not care, and for a future per-provider rule.
    """
    # "openai/gpt-oss-120b" (Groq, OpenRouter): the family is the last part.
    name = model_id.rsplit("/", 1)[-1].strip().lower()
    try:
        encoding = _COUNTED_BY.get(encoding_name_for_model(name))
    except KeyError:
        encoding = None
    if encoding is not None:
        return Tokenizer(encoding, exact=True)
    return Tokenizer(DEFAULT_ENCODING, exact=False)


def count_text(provider_id: str | None, model_id: str, text: str) -> int:
    """Tokens in ``text`` as ``model_id`` would count them (see the module doc).

    Text that looks like a special token ("<|endoftext|>") is counted as the
    plain text it is: a prompt cannot mint special tokens.
    """
    if not text:
        return 0
    name = tokenizer_for(provider_id, model_id).encoding
    try:
        encoding = encodings.get(name)
    except encodings.VendoredEncodingError as exc:
        if name not in _failed_to_load:
            _failed_to_load.add(name)
            log.error("token estimate falls back to chars/4: %s", exc)
        return math.ceil(len(text) / _CHARS_PER_TOKEN)
    return len(encoding.encode_ordinary(text))


def count_messages(
    provider_id: str | None,
    model_id: str,
    messages: Iterable[Mapping[str, Any]],
    *,
    tools: Sequence[Mapping[str, Any]] | None = None,
) -> int:
    """Input tokens of a chat request: its messages in OpenAI's chat format
    (the per-message overhead above, for every provider: theirs is unpublished
    and of the same few tokens), plus the tools' definitions counted as their
    compact JSON (an approximation: OpenAI renders them in a private format)."""
    total = REPLY_PRIMER_TOKENS
    for message in messages:
        total += TOKENS_PER_MESSAGE
        for key, value in message.items():
            total += _count_value(provider_id, model_id, value)
            if key == "name":
                total += TOKENS_PER_NAME
    if tools:
        total += count_text(provider_id, model_id, _compact_json(list(tools)))
    return total


def estimate_output(
    provider_id: str | None,
    model_id: str,
    *,
    text: str = "",
    reasoning: str = "",
    tool_arguments: Iterable[str] = (),
) -> TokenCounts:
    """Output tokens of an answer cut short, from what the gateway relayed of it:
    the text, any reasoning text the provider streamed (DeepSeek's
    ``reasoning_content``, Anthropic's thinking blocks), and tool-call argument
    strings. Reasoning the provider kept hidden cannot be counted. The result
    has ``input_tokens`` 0: the caller adds ``count_messages`` for the prompt."""
    reasoning_tokens = count_text(provider_id, model_id, reasoning)
    output = count_text(provider_id, model_id, text) + reasoning_tokens
    output += sum(count_text(provider_id, model_id, args) for args in tool_arguments)
    return TokenCounts(output_tokens=output, reasoning_tokens=reasoning_tokens)


def _count_value(provider_id: str | None, model_id: str, value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, str):
        return count_text(provider_id, model_id, value)
    if isinstance(value, list):  # content parts
        return sum(_count_part(provider_id, model_id, part) for part in value)
    # tool_calls, function_call, and anything else structured: its JSON text.
    return count_text(provider_id, model_id, _compact_json(value))


def _count_part(provider_id: str | None, model_id: str, part: Any) -> int:
    if isinstance(part, Mapping):
        kind = part.get("type")
        if kind == "text":
            return count_text(provider_id, model_id, str(part.get("text") or ""))
        if kind in ("image_url", "input_image", "image"):
            return TOKENS_PER_IMAGE
    if isinstance(part, str):
        return count_text(provider_id, model_id, part)
    return count_text(provider_id, model_id, _compact_json(part))


def _compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
