"""The packaged catalog holds what the seeds say: every model of 001 with its
figures, 000's curated set in order, the providers and their settings."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from modelgate.catalog import Catalog, ModelSpec, load_catalog

# 001's model tables, as written (display names still carry the "(deprecated, ...)"
# suffix that the catalog moves into the lifecycle notice).
SEED_MODELS = """
openai | gpt-5.4-pro | GPT-5.4 Pro | 1,050,000 | 128,000 | text, image
openai | gpt-5.4 | GPT-5.4 | 1,050,000 | 128,000 | text, image
openai | gpt-5.3-codex | GPT-5.3-Codex | 400,000 | 128,000 | text, image
openai | gpt-5.2-codex | GPT-5.2-Codex | 400,000 | 128,000 | text, image
openai | gpt-5.2-pro | GPT-5.2 Pro | 400,000 | 100,000 | text, image
openai | gpt-5.2 | GPT-5.2 | 400,000 | 128,000 | text, image
openai | gpt-5.2-chat-latest | GPT-5.2 Chat Latest | 400,000 | 128,000 | text, image
openai | gpt-5.1 | GPT-5.1 | 400,000 | 128,000 | text, image
openai | gpt-5.1-chat-latest | GPT-5.1 Chat Latest | 256,000 | 32,768 | text, image
openai | gpt-5 | GPT-5 | 400,000 | 128,000 | text, image
openai | gpt-5-mini | GPT-5 Mini | 400,000 | 128,000 | text, image
openai | gpt-5-nano | GPT-5 Nano | 400,000 | 128,000 | text, image
openai | gpt-5-chat-latest | GPT-5 Chat | 400,000 | 128,000 | text, image
openai | gpt-4.1 | GPT-4.1 | 1,000,000 | - | text, image
openai | gpt-4.1-mini | GPT-4.1 mini | 1,000,000 | - | text, image
openai | gpt-4.1-nano | GPT-4.1 nano | 1,000,000 | - | text, image
openai | gpt-4o | GPT-4o | 128,000 | 16,384 | text, image, audio
openai | gpt-4o-mini | GPT-4o Mini | 128,000 | 16,384 | text, image
openai | o4-mini | O4-Mini | 200,000 | 100,000 | text
openai | o4-mini-deep-research | O4-Mini-Deep-Research | 200,000 | 100,000 | text
openai | o3-pro | O3-Pro | 128,000 | 100,000 | text
openai | o3 | O3 | 128,000 | 100,000 | text
openai | o3-mini | O3 Mini | 200,000 | 100,000 | text
openai | o3-deep-research | O3-Deep-Research | 200,000 | 100,000 | text
openai | o1-pro | O1-Pro | 200,000 | 100,000 | text
openai | o1 | O1 | 128,000 | 100,000 | text
openai | gpt-4-turbo | GPT-4 Turbo | 128,000 | 4,096 | text, image
openai | gpt-4 | GPT-4 | 8,192 | 8,192 | text
openai | gpt-3.5-turbo | GPT-3.5 Turbo (deprecated, retires September 28, 2026) | 16,385 | 4,096 | text
anthropic | claude-opus-4-6 | Claude Opus 4.6 | 1,000,000 | 128,000 | text, image
anthropic | claude-sonnet-4-6 | Claude Sonnet 4.6 | 1,000,000 | 64,000 | text, image
anthropic | claude-haiku-4-5 | Claude Haiku 4.5 | 200,000 | 64,000 | text, image
anthropic | claude-sonnet-4-5 | Claude Sonnet 4.5 | 1,000,000 | 64,000 | text, image
anthropic | claude-opus-4-5 | Claude Opus 4.5 | 200,000 | 64,000 | text, image
anthropic | claude-opus-4-1 | Claude Opus 4.1 | 200,000 | 32,000 | text, image
anthropic | claude-sonnet-4-0 | Claude Sonnet 4 | 1,000,000 | 64,000 | text, image
anthropic | claude-opus-4-0 | Claude Opus 4 | 200,000 | 32,000 | text, image
anthropic | claude-3-haiku-20240307 | Claude Haiku 3 (deprecated, retires April 20, 2026) | 200,000 | 4,096 | text, image
google | gemini-2.5-pro | Gemini 2.5 Pro | 1,048,576 | 65,535 | text, image, audio, video, file
google | gemini-2.5-flash | Gemini 2.5 Flash | 1,048,576 | 65,535 | text, image, audio, video, file
google | gemini-2.5-flash-lite | Gemini 2.5 Flash-Lite | 1,048,576 | 65,535 | text, image, audio, video, file
google | gemini-2.0-flash | Gemini 2.0 Flash | 1,048,576 | 8,192 | text, image, audio, video, file
google | gemini-2.0-flash-lite | Gemini 2.0 Flash-Lite | 1,048,576 | 8,192 | text, image, audio, video, file
google | gemini-3-pro-preview | Gemini 3 Pro Preview | 1,000,000 | 65,536 | text, image, audio, video, file
deepseek | deepseek-reasoner | deepseek-reasoner | 128,000 | 64,000 | text
deepseek | deepseek-chat | deepseek-chat | 128,000 | 8,192 | text
groq | meta-llama/llama-3.1-8b-instant | Llama 3.1 8B Instant | 131,072 | 131,072 | text
groq | meta-llama/llama-3.3-70b-versatile | Llama 3.3 70B Versatile | 131,072 | 32,768 | text
groq | meta-llama/llama-prompt-guard-2-22m | Llama Prompt Guard 2 22M | 512 | 512 | text
groq | meta-llama/llama-prompt-guard-2-86m | Llama Prompt Guard 2 86M | 512 | 512 | text
groq | meta-llama/llama-guard-4-12b | Llama Guard 4 12B | 131,072 | 1,024 | text, image
groq | meta-llama/llama-4-maverick-17b-128e-instruct | Llama 4 Maverick 17B 128E Instruct | 131,072 | 8,192 | text, image
groq | meta-llama/llama-4-scout-17b-16e-instruct | Llama 4 Scout 17B 16E Instruct | 131,072 | 8,192 | text, image
groq | moonshotai/kimi-k2-instruct-0905 | Kimi K2 | 262,144 | 16,384 | text
groq | openai/gpt-oss-120b | GPT OSS 120B | 131,072 | 131,072 | text
groq | openai/gpt-oss-20b | GPT OSS 20B | 131,072 | 131,072 | text
groq | openai/gpt-oss-safeguard-20b | Safety GPT OSS 20B | 131,072 | 65,536 | text
groq | qwen/qwen3-32b | Qwen3-32B | 131,072 | 40,960 | text
"""


def _number(cell: str) -> int | None:
    return None if cell == "-" else int(cell.replace(",", ""))


def _seed_rows() -> list[tuple[str, str, str, int | None, int | None, tuple[str, ...]]]:
    rows = []
    for line in SEED_MODELS.strip().splitlines():
        provider, model_id, label, window, output, modalities = (c.strip() for c in line.split("|"))
        label = re.sub(r" \(deprecated, retires [^)]*\)$", "", label)
        rows.append(
            (
                provider,
                model_id,
                label,
                _number(window),
                _number(output),
                tuple(m.strip() for m in modalities.split(",")),
            )
        )
    return rows


SEED_ROWS = _seed_rows()

# 000: the console's curated set, in its order, with its labels.
CURATED = [
    ("gpt-5.5", "openai", "GPT-5.5"),
    ("gpt-5.5-mini", "openai", "GPT-5.5 mini"),
    ("gpt-5.4", "openai", "GPT-5.4"),
    ("claude-opus-4-8", "anthropic", "Claude Opus 4.8"),
    ("claude-opus-4-7", "anthropic", "Claude Opus 4.7"),
    ("claude-sonnet-4-6", "anthropic", "Claude Sonnet 4.6"),
    ("claude-haiku-4-5", "anthropic", "Claude Haiku 4.5"),
    ("gemini-3.1-pro", "google", "Gemini 3.1 Pro"),
    ("gemini-3.5-flash", "google", "Gemini 3.5 Flash"),
    ("gemini-3.1-flash-lite", "google", "Gemini 3.1 Flash-Lite"),
    ("gemini-2.5-pro", "google", "Gemini 2.5 Pro"),
]

PROVIDERS = [
    # id, label, base_url, accepts_base_url, api_style, auth_style, key_required (001)
    ("openai", "OpenAI", "https://api.openai.com/v1", True, "openai", "bearer", False),
    ("anthropic", "Anthropic", "https://api.anthropic.com", False, "anthropic", "x-api-key", False),
    (
        "google",
        "Google",
        "https://generativelanguage.googleapis.com",
        False,
        "google",
        "x-goog-api-key",
        True,
    ),
    ("deepseek", "DeepSeek", "https://api.deepseek.com", True, "openai", "bearer", True),
    ("groq", "Groq", "https://api.groq.com/openai/v1", True, "openai", "bearer", True),
    ("openrouter", "OpenRouter", "https://openrouter.ai/api/v1", False, "openai", "bearer", True),
    ("hyperbolic", "Hyperbolic", "https://api.hyperbolic.xyz/v1", False, "openai", "bearer", True),
    (
        "inceptionlabs",
        "InceptionLabs",
        "https://api.inceptionlabs.ai/v1",
        False,
        "openai",
        "bearer",
        True,
    ),
    (
        "inference-net",
        "Inference.net",
        "https://api.inference.net/v1",
        False,
        "openai",
        "bearer",
        True,
    ),
]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def model(catalog: Catalog, model_id: str) -> ModelSpec:
    spec = catalog.get(model_id)
    assert spec is not None, model_id
    return spec


@pytest.mark.parametrize(
    ("provider", "model_id", "label", "window", "output", "modalities"),
    SEED_ROWS,
    ids=[row[1] for row in SEED_ROWS],
)
def test_every_seed_model_has_the_tables_figures(
    catalog: Catalog,
    provider: str,
    model_id: str,
    label: str,
    window: int | None,
    output: int | None,
    modalities: tuple[str, ...],
) -> None:
    spec = model(catalog, model_id)
    assert (spec.provider, spec.label) == (provider, label)
    assert (spec.context_window, spec.max_output_tokens) == (window, output)
    assert spec.modalities == modalities


def test_model_counts_per_provider(catalog: Catalog) -> None:
    counts = Counter(m.provider for m in catalog.models)
    # 001's rows plus 000's curated models that 001 does not list, plus the
    # embedding models CONTRACT-2 names (two OpenAI, one Google).
    assert counts == {"openai": 33, "anthropic": 11, "google": 10, "deepseek": 2, "groq": 12}
    assert Counter(row[0] for row in SEED_ROWS) == {
        "openai": 29,
        "anthropic": 9,
        "google": 6,
        "deepseek": 2,
        "groq": 12,
    }
    assert len({m.id for m in catalog.models}) == len(catalog.models) == 68


def test_curated_set_is_000_in_order_and_leads_each_group(catalog: Catalog) -> None:
    curated = [(m.id, m.provider, m.label) for m in catalog.models if m.curated]
    assert curated == CURATED
    providers = [p.id for p in catalog.providers]
    order = [providers.index(m.provider) for m in catalog.models]
    assert order == sorted(order), "models are grouped by provider, in provider order"
    for provider in ("openai", "anthropic", "google"):
        group = [m for m in catalog.models if m.provider == provider]
        flags = [m.curated for m in group]
        assert flags == sorted(flags, reverse=True), f"{provider}: curated first"
    assert [m.id for m in catalog.models][:4] == [
        "gpt-5.5",
        "gpt-5.5-mini",
        "gpt-5.4",
        "gpt-5.4-pro",
    ]


def test_curated_models_outside_001_carry_no_invented_figures(catalog: Catalog) -> None:
    for model_id in (
        "gpt-5.5",
        "gpt-5.5-mini",
        "claude-opus-4-7",
        "gemini-3.1-pro",
        "gemini-3.5-flash",
        "gemini-3.1-flash-lite",
    ):
        spec = model(catalog, model_id)
        assert spec.context_window is None and spec.max_output_tokens is None, model_id
        assert spec.modalities == () and spec.pricing.input_per_1k is None, model_id


def test_claude_opus_4_8_matches_the_contract_example(catalog: Catalog) -> None:
    spec = model(catalog, "claude-opus-4-8")
    assert spec.model_dump(include={"label", "context_window", "max_output_tokens"}) == {
        "label": "Claude Opus 4.8",
        "context_window": 1_000_000,
        "max_output_tokens": 128_000,
    }
    assert spec.modalities == ("text", "image")
    assert spec.capabilities.model_dump() == {
        "tools": True,
        "vision": True,
        "reasoning": True,
        "streaming": True,
    }
    assert spec.pricing.model_dump() == {
        "input_per_1k": None,
        "output_per_1k": None,
        "currency": "USD",
    }
    assert spec.recommended and catalog.aliases_of("claude-opus-4-8") == ()


@pytest.mark.parametrize(
    ("pid", "label", "base_url", "accepts", "api_style", "auth_style", "key_required"), PROVIDERS
)
def test_providers(
    catalog: Catalog,
    pid: str,
    label: str,
    base_url: str,
    accepts: bool,
    api_style: str,
    auth_style: str,
    key_required: bool,
) -> None:
    spec = catalog.provider(pid)
    assert spec is not None
    assert (spec.id, spec.label, spec.base_url) == (pid, label, base_url)
    assert (spec.accepts_base_url, spec.api_style, spec.auth_style) == (
        accepts,
        api_style,
        auth_style,
    )
    assert spec.key_required is key_required


def test_provider_order_and_prefixes(catalog: Catalog) -> None:
    assert [p.id for p in catalog.providers] == [row[0] for row in PROVIDERS]
    prefixes = {p.id: p.prefixes for p in catalog.providers}
    assert prefixes == {
        "openai": ("gpt-", "chatgpt-", "o#", "ft:"),
        "anthropic": ("claude-",),
        "google": ("gemini-",),
        "deepseek": ("deepseek-",),
        "groq": (),
        "openrouter": (),
        "hyperbolic": (),
        "inceptionlabs": ("mercury",),
        "inference-net": (),
    }


@pytest.mark.parametrize(
    ("model_id", "input_per_1k", "output_per_1k"),
    [
        ("gpt-4o", 0.0025, 0.01),
        ("gpt-4o-mini", 0.00015, 0.0006),
        ("gpt-4.1", 0.002, 0.008),
        ("gpt-5-mini", 0.00025, 0.002),
        ("o3", 0.002, 0.008),
        ("o1-pro", 0.15, 0.6),
        ("claude-haiku-4-5", 0.001, 0.005),
        ("claude-opus-4-1", 0.015, 0.075),
        ("claude-3-haiku-20240307", 0.00025, 0.00125),
        ("gemini-2.5-flash", 0.0003, 0.0025),
        ("gemini-2.0-flash-lite", 0.000075, 0.0003),
        ("meta-llama/llama-3.3-70b-versatile", 0.00059, 0.00079),
        # Not published where we could confirm it: null, never guessed.
        ("gpt-5.5", None, None),
        ("gpt-5.4", None, None),
        ("claude-sonnet-4-6", None, None),
        ("deepseek-chat", None, None),
        ("openai/gpt-oss-120b", None, None),
    ],
)
def test_prices_per_1k(
    catalog: Catalog, model_id: str, input_per_1k: float | None, output_per_1k: float | None
) -> None:
    pricing = model(catalog, model_id).pricing
    assert (pricing.input_per_1k, pricing.output_per_1k, pricing.currency) == (
        input_per_1k,
        output_per_1k,
        "USD",
    )


def test_prices_come_in_pairs(catalog: Catalog) -> None:
    for spec in catalog.models:
        assert (spec.pricing.input_per_1k is None) == (spec.pricing.output_per_1k is None), spec.id


def test_vision_follows_image_input(catalog: Catalog) -> None:
    for spec in catalog.models:
        assert spec.capabilities.vision == ("image" in spec.modalities), spec.id


def test_recommended_is_each_providers_pick(catalog: Catalog) -> None:
    recommended = [m.id for m in catalog.models if m.recommended]
    assert recommended == [
        "gpt-5.5",
        "claude-opus-4-8",
        "gemini-3.1-pro",
        "deepseek-chat",
        "openai/gpt-oss-120b",
    ]


def test_premium_tier_is_pro_opus_and_deep_research(catalog: Catalog) -> None:
    premium_class = re.compile(r"-pro($|-)|opus|deep-research")
    for spec in catalog.models:
        expected = "premium" if premium_class.search(spec.id) else "standard"
        assert spec.tier == expected, spec.id


def test_model_types(catalog: Catalog) -> None:
    types = {m.id: m.model_type for m in catalog.models if m.model_type != "chat_completion"}
    assert types == {
        "o4-mini-deep-research": "agent",
        "o3-deep-research": "agent",
        "meta-llama/llama-prompt-guard-2-22m": "generic",
        "meta-llama/llama-prompt-guard-2-86m": "generic",
        "text-embedding-3-small": "embedding",
        "text-embedding-3-large": "embedding",
        "gemini-embedding-001": "embedding",
    }


def test_retirements_from_the_seed(catalog: Catalog) -> None:
    retiring = {m.id: (m.end_of_life_at, m.replacement) for m in catalog.models if m.end_of_life_at}
    assert retiring == {
        "gpt-3.5-turbo": (datetime(2026, 9, 28, tzinfo=UTC), "gpt-4o-mini"),
        "claude-3-haiku-20240307": (datetime(2026, 4, 20, tzinfo=UTC), "claude-haiku-4-5"),
    }
    assert not any(m.disabled for m in catalog.models)


def test_model_specs_are_frozen(catalog: Catalog) -> None:
    spec = model(catalog, "gpt-4o")
    with pytest.raises(ValidationError, match="frozen"):
        spec.label = "changed"  # type: ignore[misc]
    assert hash(spec) == hash(model(catalog, "gpt-4o"))
