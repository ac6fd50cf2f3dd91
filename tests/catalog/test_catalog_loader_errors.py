"""A malformed catalog stops start-up with one line that names the entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelgate.catalog import CatalogError, load_catalog
from modelgate.errors import GatewayError

PROVIDERS = """
[[providers]]
id = "acme"
label = "Acme"
base_url = "https://api.acme.test/v1"
accepts_base_url = false
api_style = "openai"
auth_style = "bearer"
key_required = true
aliases = ["ACME-AI"]
prefixes = ["acme-"]

[[providers]]
id = "zeta"
label = "Zeta"
base_url = "https://api.zeta.test"
accepts_base_url = true
api_style = "anthropic"
auth_style = "x-api-key"
key_required = false
"""

MODEL_ONE = """
[[models]]
id = "m-one"
provider = "acme"
label = "Model One"
context_window = 128_000
max_output_tokens = 4_096
modalities = ["text", "image"]
capabilities = ["tools", "vision", "streaming"]
pricing_per_1m = { input = 2.5, output = 10 }
"""

MODEL_TWO = """
[[models]]
id = "m-two"
provider = "zeta"
label = "Model Two"
capabilities = ["streaming"]
"""

VALID = PROVIDERS + MODEL_ONE + MODEL_TWO + '\n[aliases]\n"one" = "m-one"\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "catalog.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_for(tmp_path: Path, text: str) -> str:
    with pytest.raises(CatalogError) as info:
        load_catalog(write(tmp_path, text))
    message = str(info.value)
    assert message.startswith("catalog.toml: ")
    assert "\n" not in message
    return message


def test_the_valid_base_loads(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, VALID))
    assert [m.id for m in catalog.models] == ["m-one", "m-two"]
    assert catalog.resolve("ONE").model.id == "m-one"
    assert catalog.provider("acme-ai") is catalog.provider("acme")
    assert catalog.get("m-one").pricing.input_per_1k == 0.0025  # type: ignore[union-attr]


def test_curated_models_are_listed_first_within_their_provider(tmp_path: Path) -> None:
    text = (
        PROVIDERS
        + MODEL_TWO
        + MODEL_ONE
        + MODEL_ONE.replace('"m-one"', '"m-top"').replace(
            'label = "Model One"', 'label = "Top"\ncurated = true'
        )
    )
    catalog = load_catalog(write(tmp_path, text))
    # Provider order first (acme before zeta), then curated first, then as written.
    assert [m.id for m in catalog.models] == ["m-top", "m-one", "m-two"]


def test_catalog_error_is_a_start_up_error_not_an_http_one() -> None:
    assert not issubclass(CatalogError, GatewayError)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # A missing field.
        (('label = "Model One"\n', ""), "models[0] 'm-one': label: Field required"),
        (('id = "m-one"\n', ""), "models[0]: id: Field required"),
        (('capabilities = ["tools", "vision", "streaming"]\n', ""), "capabilities: Field required"),
        # A bad type: strict, no conversion.
        (
            ("context_window = 128_000", 'context_window = "128k"'),
            "models[0] 'm-one': context_window: Input should be a valid integer",
        ),
        (
            ("context_window = 128_000", "context_window = 128000.0"),
            "context_window: Input should be a valid integer",
        ),
        (
            ("context_window = 128_000", "context_window = 0"),
            "context_window: Input should be greater than 0",
        ),
        (("input = 2.5", 'input = "2.5"'), "pricing_per_1m.input: Input should be a valid number"),
        (
            ("input = 2.5", "input = -1"),
            "pricing_per_1m.input: Input should be greater than or equal to 0",
        ),
        (
            ('modalities = ["text", "image"]', 'modalities = ["text", "smell"]'),
            "modalities.1: Input should be",
        ),
        (
            ('modalities = ["text", "image"]', 'modalities = ["text", "text", "image"]'),
            "'text' is listed twice",
        ),
        (
            ('provider = "acme"\nlabel', 'provider = "acme"\nmodel_type = "chat"\nlabel'),
            "model_type: Input should be",
        ),
        (
            ('provider = "acme"\nlabel', 'provider = "acme"\ncurated = "yes"\nlabel'),
            "curated: Input should be a valid boolean",
        ),
        # A misspelt field is not dropped in silence.
        (
            ("context_window = 128_000", "context_windw = 128_000"),
            "models[0] 'm-one': context_windw: Extra inputs are not permitted",
        ),
        # Checks within one entry.
        (
            ('modalities = ["text", "image"]', 'modalities = ["text"]'),
            "'vision' exactly when modalities include 'image'",
        ),
        (
            ("max_output_tokens = 4_096", "max_output_tokens = 200_000"),
            "max_output_tokens is larger than context_window",
        ),
        (
            ('provider = "acme"\nlabel', 'provider = "acme"\nreplacement = "m-two"\nlabel'),
            "models[0] 'm-one': replacement needs end_of_life_at",
        ),
        (
            (
                'provider = "acme"\nlabel',
                'provider = "acme"\nend_of_life_at = 2026-09-28T00:00:00\nlabel',
            ),
            "end_of_life_at: needs a UTC offset",
        ),
        (('id = "m-one"', 'id = "m one"'), "id: String should match pattern"),
        (('label = "Model One"', 'label = "Mod\u00e8le"'), "label: String should match pattern"),
        # Providers.
        (
            ('base_url = "https://api.acme.test/v1"', 'base_url = "https://api.acme.test/v1/"'),
            "providers[0] 'acme': base_url",
        ),
        (
            ('base_url = "https://api.acme.test/v1"', 'base_url = "ftp://api.acme.test"'),
            "providers[0] 'acme': base_url",
        ),
        (
            ('auth_style = "bearer"', 'auth_style = "basic"'),
            "providers[0] 'acme': auth_style: Input should be",
        ),
        (
            ('accepts_base_url = false\napi_style = "openai"', 'api_style = "openai"'),
            "providers[0] 'acme': accepts_base_url: Field required",
        ),
    ],
)
def test_an_entry_error_names_the_entry_and_field(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    old, new = change
    assert old in VALID
    assert expected in error_for(tmp_path, VALID.replace(old, new, 1))


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        # Duplicate ids, also across case.
        (MODEL_TWO, "models[2] 'm-two': id: duplicate of models[1] 'm-two'"),
        (
            MODEL_TWO.replace('"m-two"', '"M-TWO"'),
            "models[2] 'M-TWO': id: duplicate of models[1] 'm-two'",
        ),
        (
            MODEL_TWO.replace('provider = "zeta"', 'provider = "nope"').replace('"m-two"', '"m-3"'),
            "models[2] 'm-3': provider: 'nope' is not a provider id",
        ),
        (
            MODEL_TWO.replace('"m-two"', '"m-3"').replace(
                'capabilities = ["streaming"]',
                'capabilities = []\nend_of_life_at = 2026-01-01\nreplacement = "m-404"',
            ),
            "models[2] 'm-3': replacement: 'm-404' is not a model id",
        ),
        (
            MODEL_TWO.replace('"m-two"', '"m-3"').replace(
                'capabilities = ["streaming"]',
                'capabilities = []\nend_of_life_at = 2026-01-01\nreplacement = "m-3"',
            ),
            "models[2] 'm-3': replacement: 'm-3' cannot be called",
        ),
    ],
)
def test_an_error_between_models_names_both(tmp_path: Path, extra: str, expected: str) -> None:
    text = PROVIDERS + MODEL_ONE + MODEL_TWO + extra
    assert expected in error_for(tmp_path, text)


@pytest.mark.parametrize(
    ("aliases", "expected"),
    [
        ('"ghost" = "m-404"', "aliases 'ghost': points to 'm-404', which is not a model id"),
        ('"m-two" = "m-one"', "aliases 'm-two': is already the id of models[1] 'm-two'"),
        ('"M-Two" = "m-one"', "aliases 'M-Two': is already the id of models[1] 'm-two'"),
        (
            '"both" = "m-one"\n"BOTH" = "m-two"',
            "aliases 'BOTH': already an alias of 'm-one', not of 'm-two'",
        ),
        ('" padded" = "m-one"', "aliases ' padded'"),
        ('"x" = "not an id"', "aliases 'x': String should match pattern"),
    ],
)
def test_an_alias_error_names_the_alias(tmp_path: Path, aliases: str, expected: str) -> None:
    text = PROVIDERS + MODEL_ONE + MODEL_TWO + "\n[aliases]\n" + aliases + "\n"
    assert expected in error_for(tmp_path, text)


def test_redundant_aliases_of_the_same_model_are_fine(tmp_path: Path) -> None:
    # As in the seed: "GPT-5.3-Codex" and "gpt-5.3-Codex" for gpt-5.3-codex.
    text = (
        PROVIDERS
        + MODEL_ONE
        + MODEL_TWO
        + '\n[aliases]\n"M-ONE" = "m-one"\n"m-One" = "m-one"\n"m-one" = "m-one"\n'
    )
    catalog = load_catalog(write(tmp_path, text))
    assert catalog.aliases_of("m-one") == ("M-ONE", "m-One", "m-one")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'id = "zeta"',
            'id = "acme"',
            "providers[1] 'acme': id: 'acme' is already a provider name",
        ),
        (
            "key_required = false\n",
            'key_required = false\naliases = ["acme-ai"]\n',
            "providers[1] 'zeta': aliases: 'acme-ai' already names provider 'acme'",
        ),
        (
            "key_required = false\n",
            'key_required = false\nprefixes = ["acme-"]\n',
            "providers[1] 'zeta': prefixes: 'acme-' is already declared by 'acme'",
        ),
        (
            'prefixes = ["acme-"]',
            'prefixes = ["Acme-"]',
            "providers[0] 'acme': prefixes.0: String should match pattern",
        ),
        ('aliases = ["ACME-AI"]', 'aliases = ["ACME-AI", "ACME-AI"]', "'ACME-AI' is listed twice"),
    ],
)
def test_a_provider_error_names_the_provider(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert old in PROVIDERS
    text = PROVIDERS.replace(old, new, 1) + MODEL_ONE + MODEL_TWO
    if 'id = "acme"' in new:
        text = text.replace('provider = "zeta"', 'provider = "acme"')
    assert expected in error_for(tmp_path, text)


def test_file_level_errors(tmp_path: Path) -> None:
    assert "line" in error_for(tmp_path, VALID + "\nthis is not toml\n")
    assert "Cannot overwrite a value" in error_for(tmp_path, VALID + '"one" = "m-two"\n')
    assert "providers: Field required" in error_for(tmp_path, MODEL_ONE)
    assert "colour: Extra inputs are not permitted" in error_for(
        tmp_path, 'colour = "red"\n' + VALID
    )
    with pytest.raises(CatalogError, match="missing.toml: cannot be read"):
        load_catalog(tmp_path / "missing.toml")


def test_only_the_first_of_several_errors_is_spelt_out(tmp_path: Path) -> None:
    text = VALID.replace('label = "Model One"', "").replace('label = "Model Two"', "")
    message = error_for(tmp_path, text)
    assert message.endswith("label: Field required (and 1 more)")
