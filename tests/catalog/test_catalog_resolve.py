"""Resolution, table-driven: every alias row of seed 001, every provider alias,
prefix pass-through, and the not-found message."""

from __future__ import annotations

import re

import pytest

from modelgate.catalog import Catalog, load_catalog
from modelgate.errors import ModelNotFound

# 001's model alias tables, every row as written: alias | target as the table spells it.
SEED_ALIASES = """
gpt-4-omni | gpt-4o
gpt-4o-2024-05-13 | gpt-4o
gpt-4o-2024-08-06 | gpt-4o
gpt-4o-2024-11-20 | gpt-4o
chatgpt-4o-latest | gpt-4o
gpt-4o-mini-2024-07-18 | gpt-4o-mini
gpt-4-turbo-2024-04-09 | gpt-4-turbo
gpt-4-turbo-preview | gpt-4-turbo
gpt-4-1106-preview | gpt-4-turbo
gpt-4-0125-preview | gpt-4-turbo
gpt-4-0613 | gpt-4
gpt-4-0314 | gpt-4
gpt-4-32k | gpt-4
gpt-4.1-2025-04-14 | gpt-4.1
gpt-4.1-mini-2025-04-14 | gpt-4.1-mini
gpt-4.1-nano-2025-04-14 | gpt-4.1-nano
gpt-5.1-2025-11-13 | gpt-5.1
gpt-5.4-2026-03-05 | gpt-5.4
gpt-5.4-pro-2026-03-05 | gpt-5.4-pro
gpt-5.2-pro-2025-12-11 | gpt-5.2-pro
GPT-5.3-Codex | gpt-5.3-codex
gpt-5.3-Codex | gpt-5.3-codex
gpt5.3-codex | gpt-5.3-codex
GPT-5 mini | gpt-5-mini
GPT-5 nano | gpt-5-nano
GPT-5 Chat | gpt-5-chat-latest
gpt-3.5-turbo-0125 | gpt-3.5-turbo
gpt-3.5-turbo-16k | gpt-3.5-turbo
o4-mini-2025-04-16 | o4-mini
o4-mini-deep-research-2025-06-26 | o4-mini-deep-research
o3-pro-2025-06-10 | o3-pro
o3-2025-04-16 | o3
o3-mini-2025-01-31 | o3-mini
claude-opus-4-6-20260205 | claude-opus-4-6
claude-sonnet-4-6-20260217 | claude-sonnet-4-6
claude-haiku-4-5-20251001 | claude-haiku-4-5
claude-sonnet-4-5-20250929 | claude-sonnet-4-5
claude-opus-4-5-20251101 | claude-opus-4-5
claude-opus-4-1-20250805 | claude-opus-4-1
claude-opus-4.1 | claude-opus-4-1
claude-sonnet-4-20250514 | claude-sonnet-4-0
claude-sonnet-4 | claude-sonnet-4-0
claude-opus-4-20250514 | claude-opus-4-0
claude-opus-4 | claude-opus-4-0
claude-haiku-3 | claude-3-haiku-20240307
gemini-3 | gemini-3-pro-preview
gemini-3-pro | gemini-3-pro-preview
llama-3.1-8b | llama-3.1-8b-instant
llama-3.3-70b | llama-3.3-70b-versatile
llama-4-maverick-17b-128e | llama-4-maverick-17b-128e-instruct
llama-4-scout-17b-16e | llama-4-scout-17b-16e-instruct
kimi-k2-instruct | kimi-k2
kimi-k2-instruct-0905 | kimi-k2
moonshotai/kimi-k2-instruct-0905 | kimi-k2
"""
SEED_ALIAS_ROWS = [
    tuple(cell.strip() for cell in line.split("|")) for line in SEED_ALIASES.strip().splitlines()
]

# The Meta and Moonshot targets as groq's model table spells them.
GROQ_SPELLING = {
    "llama-3.1-8b-instant": "meta-llama/llama-3.1-8b-instant",
    "llama-3.3-70b-versatile": "meta-llama/llama-3.3-70b-versatile",
    "llama-4-maverick-17b-128e-instruct": "meta-llama/llama-4-maverick-17b-128e-instruct",
    "llama-4-scout-17b-16e-instruct": "meta-llama/llama-4-scout-17b-16e-instruct",
    "kimi-k2": "moonshotai/kimi-k2-instruct-0905",
}

# 001's provider aliases (both its provider tables and its alias table), plus case variants.
PROVIDER_NAMES = {
    "openai": ["openai", "openAI", "open-ai", "open-AI", "OPENAI", "Open-Ai"],
    "anthropic": ["anthropic", "Anthropic", "ANTHROPIC"],
    "google": ["google", "Google", "gemini", "GEMINI"],
    "deepseek": ["deepseek", "DeepSeek", "deep-seek"],
    "groq": ["groq", "groqcloud", "GroqCloud"],
    "openrouter": ["openrouter", "open-router", "OpenRouter"],
    "hyperbolic": ["hyperbolic", "Hyperbolic"],
    "inceptionlabs": ["inceptionlabs", "inception-labs", "inception", "InceptionLabs"],
    "inference-net": ["inference-net", "inference.net", "inference_net", "Inference.net"],
}
PROVIDER_NAME_ROWS = [(pid, name) for pid, names in PROVIDER_NAMES.items() for name in names]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def not_found(catalog: Catalog, requested: str) -> ModelNotFound:
    with pytest.raises(ModelNotFound) as info:
        catalog.resolve(requested)
    error = info.value
    assert (error.status_code, error.code, error.param) == (404, "model_not_found", "model")
    return error


def suggestions(error: ModelNotFound) -> list[str]:
    found = re.search(r"Did you mean: (.*)\?$", error.message)
    return found.group(1).split(", ") if found else []


def test_the_alias_table_is_complete() -> None:
    assert len(SEED_ALIAS_ROWS) == 54


@pytest.mark.parametrize(("alias", "target"), SEED_ALIAS_ROWS, ids=[r[0] for r in SEED_ALIAS_ROWS])
def test_every_seed_alias_resolves_to_its_target(catalog: Catalog, alias: str, target: str) -> None:
    expected = GROQ_SPELLING.get(target, target)
    for requested in (alias, alias.upper(), alias.lower(), f"  {alias} "):
        resolution = catalog.resolve(requested)
        assert resolution.in_catalog
        assert resolution.model.id == expected
        assert resolution.provider.id == resolution.model.provider
        assert resolution.requested == requested
    assert alias in catalog.aliases_of(expected)


@pytest.mark.parametrize("target", sorted(GROQ_SPELLING))
def test_the_alias_tables_spellings_of_groq_targets_resolve_too(
    catalog: Catalog, target: str
) -> None:
    assert catalog.resolve(target).model.id == GROQ_SPELLING[target]


def test_aliases_of_keeps_the_seeds_writing_and_order(catalog: Catalog) -> None:
    assert catalog.aliases_of("gpt-4o") == (
        "gpt-4-omni",
        "gpt-4o-2024-05-13",
        "gpt-4o-2024-08-06",
        "gpt-4o-2024-11-20",
        "chatgpt-4o-latest",
    )
    assert catalog.aliases_of("gpt-5.3-codex") == ("GPT-5.3-Codex", "gpt-5.3-Codex", "gpt5.3-codex")
    assert catalog.aliases_of("gpt-5.5") == ()
    assert catalog.aliases_of("no-such-model") == ()


@pytest.mark.parametrize(
    ("requested", "model_id"),
    [
        ("gpt-4o", "gpt-4o"),
        ("GPT-4o", "gpt-4o"),
        ("Gpt-4O", "gpt-4o"),
        ("CLAUDE-HAIKU-4-5", "claude-haiku-4-5"),
        ("Gemini-2.5-Pro", "gemini-2.5-pro"),
        ("gpt-5 MINI", "gpt-5-mini"),
        ("O3", "o3"),
        ("OpenAI/GPT-OSS-120B", "openai/gpt-oss-120b"),
        ("META-LLAMA/Llama-3.3-70B-Versatile", "meta-llama/llama-3.3-70b-versatile"),
    ],
)
def test_ids_and_aliases_are_case_insensitive(
    catalog: Catalog, requested: str, model_id: str
) -> None:
    resolution = catalog.resolve(requested)
    assert (resolution.model.id, resolution.in_catalog) == (model_id, True)


def test_exact_id_wins_over_prefix_rules(catalog: Catalog) -> None:
    # "openai/gpt-oss-120b" is groq's catalog model, not an openai id.
    assert catalog.resolve("openai/gpt-oss-120b").provider.id == "groq"
    assert catalog.resolve("o3").model.id == "o3"


@pytest.mark.parametrize(("pid", "name"), PROVIDER_NAME_ROWS)
def test_every_provider_alias_finds_its_provider(catalog: Catalog, pid: str, name: str) -> None:
    spec = catalog.provider(name)
    assert spec is not None and spec.id == pid
    resolution = catalog.resolve(f"{name}:some-model-X")
    assert (resolution.provider.id, resolution.in_catalog) == (pid, False)
    # Passed through as written (fine-tune ids are case-sensitive upstream).
    assert resolution.model.id == "some-model-X"
    assert resolution.model.provider == pid


@pytest.mark.parametrize(
    ("requested", "pid", "model_id"),
    [
        ("open-ai:gpt-4o-mini", "openai", "gpt-4o-mini"),
        ("openAI:GPT-4O-MINI", "openai", "gpt-4o-mini"),
        ("openai:gpt-4o-2024-08-06", "openai", "gpt-4o"),
        ("openai: GPT-5 mini ", "openai", "gpt-5-mini"),
        ("Anthropic:claude-opus-4", "anthropic", "claude-opus-4-0"),
        ("gemini:gemini-3", "google", "gemini-3-pro-preview"),
        ("deep-seek:deepseek-chat", "deepseek", "deepseek-chat"),
        ("groqcloud:llama-3.3-70b", "groq", "meta-llama/llama-3.3-70b-versatile"),
        ("groq:kimi-k2", "groq", "moonshotai/kimi-k2-instruct-0905"),
        ("groq:openai/gpt-oss-20b", "groq", "openai/gpt-oss-20b"),
    ],
)
def test_provider_colon_model_resolves_within_the_provider(
    catalog: Catalog, requested: str, pid: str, model_id: str
) -> None:
    resolution = catalog.resolve(requested)
    assert (resolution.provider.id, resolution.model.id, resolution.in_catalog) == (
        pid,
        model_id,
        True,
    )


@pytest.mark.parametrize(
    ("requested", "pid", "model_id"),
    [
        # Another provider's catalog id is not looked up across providers.
        ("anthropic:gpt-4o", "anthropic", "gpt-4o"),
        ("openai:openai/gpt-oss-120b", "openai", "openai/gpt-oss-120b"),
        # Ambiguous prefixes are unrouted, but the explicit form works.
        ("groq:qwen/qwen3-235b", "groq", "qwen/qwen3-235b"),
        (
            "openrouter:meta-llama/llama-3.3-70b-instruct",
            "openrouter",
            "meta-llama/llama-3.3-70b-instruct",
        ),
        ("openai:ft:gpt-4o-mini:acme::abc", "openai", "ft:gpt-4o-mini:acme::abc"),
    ],
)
def test_provider_colon_unknown_model_passes_through(
    catalog: Catalog, requested: str, pid: str, model_id: str
) -> None:
    resolution = catalog.resolve(requested)
    assert (resolution.provider.id, resolution.model.id, resolution.in_catalog) == (
        pid,
        model_id,
        False,
    )


@pytest.mark.parametrize(
    ("requested", "pid"),
    [
        ("gpt-7-turbo", "openai"),
        ("o9-mini", "openai"),
        ("o1-preview", "openai"),
        ("chatgpt-5o", "openai"),
        ("ft:gpt-4o-mini:acme::abc", "openai"),
        ("FT:gpt-4o-mini:Acme::AbC12", "openai"),
        ("claude-fable-5", "anthropic"),
        ("gemini-9-ultra", "google"),
        ("deepseek-v9", "deepseek"),
        ("mercury-coder", "inceptionlabs"),
        # Not a typo of gpt-4o as far as the rules go: the gpt- prefix routes it.
        ("gpt-4-o", "openai"),
    ],
)
def test_unlisted_ids_with_a_known_prefix_pass_through(
    catalog: Catalog, requested: str, pid: str
) -> None:
    resolution = catalog.resolve(requested)
    assert (resolution.provider.id, resolution.in_catalog) == (pid, False)
    spec = resolution.model
    assert (spec.id, spec.label, spec.provider) == (requested, requested, pid)
    assert (spec.context_window, spec.max_output_tokens, spec.modalities) == (None, None, ())
    assert spec.capabilities.model_dump() == {
        "tools": False,
        "vision": False,
        "reasoning": False,
        "streaming": True,
    }
    assert (spec.pricing.input_per_1k, spec.pricing.output_per_1k) == (None, None)
    assert (spec.tier, spec.curated, spec.recommended, spec.disabled) == (
        "standard",
        False,
        False,
        False,
    )
    assert spec.end_of_life_at is None


def test_openai_colon_custom_passes_through(catalog: Catalog) -> None:
    resolution = catalog.resolve("openai:my-custom")
    assert (resolution.provider.id, resolution.model.id, resolution.in_catalog) == (
        "openai",
        "my-custom",
        False,
    )
    assert resolution.requested == "openai:my-custom"


@pytest.mark.parametrize(
    "requested",
    [
        "omni-model",  # "o" not followed by a digit
        "o#1",  # a literal "#" is not a digit
        "meta-llama/llama-3.3-70b-instruct",  # groq and openrouter share this prefix
        "qwen/qwen3-32b-extra",
        "llama-foo",
        "mistral-large",
        "gpt",
        "claude",
    ],
)
def test_ids_matching_no_rule_are_not_found(catalog: Catalog, requested: str) -> None:
    not_found(catalog, requested)


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ("gtp-4o", "gpt-4o"),
        ("gpt4o", "gpt-4o"),
        ("claud-opus-4-8", "claude-opus-4-8"),
        ("gemni-2.5-pro", "gemini-2.5-pro"),
        ("deepsek-chat", "deepseek-chat"),
        ("llama-foo", "meta-llama/llama-3.1-8b-instant"),
        ("qwen3-32b", "qwen/qwen3-32b"),
        ("unknown:gpt-4o", "gpt-4o"),
    ],
)
def test_not_found_suggests_up_to_three_close_ids(
    catalog: Catalog, requested: str, expected: str
) -> None:
    error = not_found(catalog, requested)
    assert f"'{requested}'" in error.message
    close = suggestions(error)
    assert expected in close and len(close) <= 3
    assert all(catalog.get(model_id) is not None for model_id in close)


def test_unknown_provider_is_named(catalog: Catalog) -> None:
    error = not_found(catalog, "unknown:gpt-4o")
    assert "'unknown' is not a known provider" in error.message
    assert suggestions(error)[0] == "gpt-4o"


def test_without_close_ids_the_message_says_so_plainly(catalog: Catalog) -> None:
    assert (
        not_found(catalog, "mistral-large").message == "The model 'mistral-large' does not exist."
    )


@pytest.mark.parametrize("requested", ["", "   ", "\t\n"])
def test_empty_model_is_not_found(catalog: Catalog, requested: str) -> None:
    assert "required" in not_found(catalog, requested).message


def test_provider_without_model_is_not_found(catalog: Catalog) -> None:
    assert "names the provider 'openai' but no model" in not_found(catalog, "open-ai:").message
    not_found(catalog, "groq:   ")


def test_suggestions_skip_retiring_models(catalog: Catalog) -> None:
    assert "gpt-3.5-turbo" not in catalog.close_matches("gpt-3.5-turbo")
    assert "claude-3-haiku-20240307" not in catalog.close_matches("haiku-3")


def test_a_huge_request_gets_a_short_message(catalog: Catalog) -> None:
    error = not_found(catalog, "x" * 100_000)
    assert len(error.message) < 200


def test_get_is_exact(catalog: Catalog) -> None:
    assert catalog.get("gpt-4o") is not None
    assert catalog.get("GPT-4o") is None
    assert catalog.get("gpt-4-omni") is None


def test_resolution_reuses_the_catalogs_specs(catalog: Catalog) -> None:
    first, second = catalog.resolve("gpt-4o"), catalog.resolve("GPT-4-OMNI")
    assert first.model is second.model is catalog.get("gpt-4o")
    assert first.provider is catalog.provider("openai")
