"""Model types and vendors (seed 004): every catalog model has a valid type and
vendor, the embedding models CONTRACT-2 names are there with their published
figures, ids outside the catalog get a sensible type, and the loader and the
overlay refuse a bad vendor or type with one line naming the entry."""

from __future__ import annotations

import typing
from decimal import Decimal
from pathlib import Path

import pytest

from modelgate.catalog import Catalog, CatalogError, load_catalog
from modelgate.catalog.schema import ModelType, ModelVendor

TYPES = set(typing.get_args(ModelType))
VENDORS = set(typing.get_args(ModelVendor))

PROVIDER = """
[[providers]]
id = "acme"
label = "Acme"
base_url = "https://api.acme.test/v1"
accepts_base_url = false
api_style = "openai"
auth_style = "bearer"
key_required = true
prefixes = ["acme-"]
{vendor}
"""
MODEL = """
[[models]]
id = "acme-one"
provider = "acme"
label = "Acme One"
capabilities = []
{extra}
"""


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def write(tmp_path: Path, vendor: str = "", extra: str = "", name: str = "catalog.toml") -> Path:
    path = tmp_path / name
    path.write_text(PROVIDER.format(vendor=vendor) + MODEL.format(extra=extra), encoding="utf-8")
    return path


def test_the_enums_are_seed_004s() -> None:
    assert TYPES == {"chat_completion", "completion", "agent", "embedding", "reranking", "generic"}
    assert VENDORS == {
        "OPENAI", "COHERE", "GOOGLE", "ANTHROPIC", "LAUNCH", "LLMENGINE", "BEDROCK", "OTHER",
    }


def test_every_catalog_model_has_a_valid_type_and_its_providers_vendor(catalog: Catalog) -> None:
    vendor_of = {"openai": "OPENAI", "anthropic": "ANTHROPIC", "google": "GOOGLE"}
    for provider in catalog.providers:
        assert provider.model_vendor == vendor_of.get(provider.id, "OTHER"), provider.id
    for model in catalog.models:
        assert model.model_type in TYPES, model.id
        assert model.model_vendor == vendor_of.get(model.provider, "OTHER"), model.id
        # Only embedding models carry a vector length.
        assert (model.dimensions is not None) == (model.model_type == "embedding"), model.id


@pytest.mark.parametrize(
    ("model_id", "provider", "vendor", "window", "dimensions", "price"),
    [
        ("text-embedding-3-small", "openai", "OPENAI", 8_191, 1_536, "0.02"),
        ("text-embedding-3-large", "openai", "OPENAI", 8_191, 3_072, "0.13"),
        ("gemini-embedding-001", "google", "GOOGLE", 2_048, 3_072, "0.15"),
    ],
)
def test_the_embedding_models_and_their_published_figures(
    catalog: Catalog,
    model_id: str,
    provider: str,
    vendor: str,
    window: int,
    dimensions: int,
    price: str,
) -> None:
    model = catalog.get(model_id)
    assert model is not None
    assert (model.provider, model.model_type, model.model_vendor) == (provider, "embedding", vendor)
    assert (model.context_window, model.max_output_tokens, model.dimensions) == (
        window, None, dimensions,
    )
    assert model.modalities == ("text",)
    assert model.capabilities.model_dump() == {
        "tools": False, "vision": False, "reasoning": False, "streaming": False,
    }
    assert model.list_price is not None
    assert (model.list_price.input, model.list_price.output) == (Decimal(price), Decimal(0))
    assert model.pricing.input_per_1k == float(Decimal(price) / 1000)
    assert not model.curated and not model.recommended
    assert catalog.resolve(model_id.upper()).model is model


@pytest.mark.parametrize(
    ("requested", "model_type", "vendor", "streaming"),
    [
        ("openai:text-embedding-ada-002", "embedding", "OPENAI", False),
        ("gemini-embedding-exp-03-07", "embedding", "GOOGLE", False),  # by prefix
        ("groq:nomic-embed-text", "embedding", "OTHER", False),
        ("gpt-4o-2099-01-01", "chat_completion", "OPENAI", True),
        ("claude-next", "chat_completion", "ANTHROPIC", True),
        ("deepseek-v9", "chat_completion", "OTHER", True),
    ],
)
def test_ids_outside_the_catalog_get_a_type_from_their_name_and_the_providers_vendor(
    catalog: Catalog, requested: str, model_type: str, vendor: str, streaming: bool
) -> None:
    resolution = catalog.resolve(requested)
    assert not resolution.in_catalog
    assert (resolution.model.model_type, resolution.model.model_vendor) == (model_type, vendor)
    assert resolution.model.capabilities.streaming is streaming


def test_a_model_inherits_its_providers_vendor_or_writes_its_own(tmp_path: Path) -> None:
    inherited = load_catalog(write(tmp_path, vendor='model_vendor = "COHERE"'))
    assert inherited.providers[0].model_vendor == "COHERE"
    assert inherited.get("acme-one").model_vendor == "COHERE"  # type: ignore[union-attr]
    own = load_catalog(write(tmp_path, vendor='model_vendor = "COHERE"',
                             extra='model_vendor = "BEDROCK"'))
    assert own.get("acme-one").model_vendor == "BEDROCK"  # type: ignore[union-attr]
    default = load_catalog(write(tmp_path))
    assert default.get("acme-one").model_vendor == "OTHER"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("vendor", "extra", "expected"),
    [
        ('model_vendor = "openai"', "", "providers[0] 'acme': model_vendor: Input should be"),
        ('model_vendor = "MISTRAL"', "", "providers[0] 'acme': model_vendor: Input should be"),
        ("", 'model_vendor = "Google"', "models[0] 'acme-one': model_vendor: Input should be"),
        ("", "model_vendor = 1", "models[0] 'acme-one': model_vendor: Input should be"),
        ("", 'model_type = "EMBEDDING"', "models[0] 'acme-one': model_type: Input should be"),
        ("", 'model_type = "rerank"', "models[0] 'acme-one': model_type: Input should be"),
        ("", "dimensions = 256", "models[0] 'acme-one': dimensions is only for model_type"),
        ("", 'model_type = "embedding"\ndimensions = 0',
         "models[0] 'acme-one': dimensions: Input should be greater than 0"),
    ],
)
def test_the_loader_refuses_a_bad_vendor_type_or_dimensions(
    tmp_path: Path, vendor: str, extra: str, expected: str
) -> None:
    with pytest.raises(CatalogError) as raised:
        load_catalog(write(tmp_path, vendor=vendor, extra=extra))
    message = str(raised.value)
    assert message.startswith("catalog.toml: " + expected), message
    assert "\n" not in message


def test_the_overlay_sets_type_vendor_and_dimensions_and_checks_them(tmp_path: Path) -> None:
    overlay = tmp_path / "overlay.toml"
    overlay.write_text(
        '[[models]]\nid = "text-embedding-3-large"\ndimensions = 1024\n\n'
        '[[models]]\nid = "acme-embed"\nprovider = "openai"\nlabel = "Acme Embed"\n'
        'model_type = "embedding"\nmodel_vendor = "COHERE"\ncapabilities = []\n',
        encoding="utf-8",
    )
    catalog = load_catalog(None, overlay)
    large = catalog.get("text-embedding-3-large")
    assert large is not None and (large.dimensions, large.model_vendor) == (1024, "OPENAI")
    added = catalog.get("acme-embed")
    assert added is not None
    assert (added.model_type, added.model_vendor) == ("embedding", "COHERE")

    overlay.write_text('[[models]]\nid = "gpt-4o"\nmodel_vendor = "ACME"\n', encoding="utf-8")
    with pytest.raises(CatalogError, match=r"^overlay.toml: models\[0\] 'gpt-4o': model_vendor"):
        load_catalog(None, overlay)
    overlay.write_text('[[models]]\nid = "gpt-4o"\ndimensions = 64\n', encoding="utf-8")
    with pytest.raises(CatalogError, match="dimensions is only for model_type 'embedding'"):
        load_catalog(None, overlay)
