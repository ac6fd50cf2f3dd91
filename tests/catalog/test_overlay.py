"""MODELGATE_CATALOG_OVERLAY: overrides and additions on top of the packaged
catalog, checked at start like the catalog, and visible through the real app."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from modelgate.catalog import CatalogError, load_catalog
from tests.support import SeededTenant, run_gateway

OVERLAY = """
# Our negotiated price for gpt-4o, and a premium on it.
[[models]]
id = "gpt-4o"
pricing_per_1m = { input = 2.0, output = 8.0, cached_input = 0.5 }
credit_multiplier = 1.5

# Only a cached rate: input and output stay the catalog's.
[[models]]
id = "gemini-2.5-flash"
pricing_per_1m = { cached_input = 0.075 }

[[models]]
id = "o3"
disabled = true

[[models]]
id = "acme-large"
provider = "openai"
label = "Acme Large"
capabilities = ["tools", "streaming"]
pricing_per_1m = { input = 0.4, output = 1.6 }
"""


def write(tmp_path: Path, text: str, name: str = "overlay.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def overlay_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(CatalogError) as info:
        load_catalog(None, write(tmp_path, text))
    message = str(info.value)
    assert message.startswith("overlay.toml: ") and "\n" not in message, message
    return message


def test_overrides_merge_and_add(tmp_path: Path) -> None:
    packaged = load_catalog()
    catalog = load_catalog(None, write(tmp_path, OVERLAY))

    gpt = catalog.get("gpt-4o")
    assert gpt is not None and gpt.list_price is not None
    assert (gpt.list_price.input, gpt.list_price.output, gpt.list_price.cached_input) == (
        Decimal("2.0"), Decimal("8.0"), Decimal("0.5"),
    )
    assert gpt.credit_multiplier == Decimal("1.5")
    assert (gpt.pricing.input_per_1k, gpt.pricing.output_per_1k) == (0.002, 0.008)
    # Everything the overlay does not write is the catalog's.
    assert gpt.model_dump(exclude={"pricing", "list_price", "credit_multiplier"}) == packaged.get(
        "gpt-4o"
    ).model_dump(exclude={"pricing", "list_price", "credit_multiplier"})
    assert catalog.aliases_of("gpt-4o") == packaged.aliases_of("gpt-4o")

    flash = catalog.get("gemini-2.5-flash").list_price  # type: ignore[union-attr]
    assert flash is not None
    assert (flash.input, flash.output, flash.cached_input) == (
        Decimal("0.30"), Decimal("2.50"), Decimal("0.075"),
    )
    assert catalog.get("o3").disabled and not packaged.get("o3").disabled  # type: ignore[union-attr]

    added = catalog.resolve("ACME-LARGE")
    assert added.in_catalog and added.provider.id == "openai"
    assert added.model.credit_multiplier == Decimal(1)
    assert packaged.get("acme-large") is None
    # Listed with its provider's models, after the curated ones.
    ids = [m.id for m in catalog.models]
    openai_ids = [m.id for m in catalog.models if m.provider == "openai"]
    assert "acme-large" in openai_ids and ids.index("acme-large") < ids.index("claude-opus-4-8")


def test_an_empty_overlay_changes_nothing(tmp_path: Path) -> None:
    catalog = load_catalog(None, write(tmp_path, "# nothing yet\n"))
    assert [m.model_dump() for m in catalog.models] == [m.model_dump() for m in load_catalog().models]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A new model without what a model needs: named, with what is missing.
        (
            '[[models]]\nid = "acme-tiny"\npricing_per_1m = { input = 1, output = 2 }\n',
            "overlay.toml: models[0] 'acme-tiny': not a catalog model id, and a new model "
            "needs provider, label, capabilities",
        ),
        (
            '[[models]]\nid = "acme-tiny"\nprovider = "openai"\ncapabilities = []\n',
            "models[0] 'acme-tiny': not a catalog model id, and a new model needs label",
        ),
        # Validated as the catalog is: strict types, exact numbers, known fields.
        (
            '[[models]]\nid = "gpt-4o"\npricing_per_1m = { input = "2.5" }\n',
            "models[0] 'gpt-4o': pricing_per_1m.input: Input should be a valid number",
        ),
        (
            '[[models]]\nid = "gpt-4o"\ncredit_multiplier = 0\n',
            "models[0] 'gpt-4o': credit_multiplier: Input should be greater than 0",
        ),
        (
            '[[models]]\nid = "gpt-4o"\ncredit_multiplier = nan\n',
            "models[0] 'gpt-4o': credit_multiplier: Input should be a finite number",
        ),
        (
            '[[models]]\nid = "gpt-4o"\npricing_per_1m = { cached_input = 9.0 }\n',
            "models[0] 'gpt-4o': pricing_per_1m: cached_input is more than input",
        ),
        (
            '[[models]]\nid = "gpt-4o"\nprice = 3\n',
            "models[0] 'gpt-4o': price: Extra inputs are not permitted",
        ),
        # The merged entry is checked as a whole: gpt-4o takes images.
        (
            '[[models]]\nid = "gpt-4o"\ncapabilities = ["tools"]\n',
            "models[0] 'gpt-4o': capabilities must include 'vision' exactly when",
        ),
        (
            '[[models]]\nid = "acme-x"\nprovider = "acme"\nlabel = "X"\ncapabilities = []\n',
            "applied to catalog.toml: models[",
        ),
        # What held across entries must still hold: gpt-3.5-turbo's replacement.
        (
            '[[models]]\nid = "gpt-4o-mini"\ndisabled = true\n',
            "overlay.toml: applied to catalog.toml: models[",
        ),
        ('[[models]]\nid = "gpt-4o"\n\n[[models]]\nid = "gpt-4o"\n', "models[1] 'gpt-4o': id: listed twice"),
        ('[[models]]\nid = "GPT-4o"\n', "models[0] 'GPT-4o': id: the catalog writes this model 'gpt-4o'"),
        ('[[models]]\nlabel = "x"\n', "models[0]: id: a model id (string) is required"),
        ('[[providers]]\nid = "acme"\n', "overlay.toml: providers: an overlay holds only [[models]] entries"),
        ("[[models]\n", "overlay.toml: "),
    ],
)
def test_a_bad_overlay_is_one_line_naming_the_entry(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in overlay_error(tmp_path, text)


def test_the_cross_entry_error_names_the_model(tmp_path: Path) -> None:
    message = overlay_error(tmp_path, '[[models]]\nid = "gpt-4o-mini"\ndisabled = true\n')
    assert "'gpt-3.5-turbo': replacement: 'gpt-4o-mini' cannot be called" in message
    message = overlay_error(
        tmp_path, '[[models]]\nid = "acme-x"\nprovider = "acme"\nlabel = "X"\ncapabilities = []\n'
    )
    assert "'acme-x': provider: 'acme' is not a provider id" in message


def test_a_missing_overlay_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"^missing\.toml: cannot be read"):
        load_catalog(None, tmp_path / "missing.toml")


def test_serve_refuses_a_bad_overlay_before_binding(tmp_path: Path) -> None:
    overlay = write(tmp_path, '[[models]]\nid = "acme-tiny"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELGATE_")}
    env.update(
        MODELGATE_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/x.db",
        MODELGATE_CATALOG_OVERLAY=str(overlay),
    )
    result = subprocess.run(
        [sys.executable, "-m", "modelgate.cli", "serve"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "overlay.toml" in lines[0] and "'acme-tiny'" in lines[0], lines


def test_the_overlay_shows_in_the_models_endpoints(
    database_url: str, tenant: SeededTenant, tmp_path: Path
) -> None:
    settings = {"catalog_overlay": write(tmp_path, OVERLAY), "openai_api_key": "sk-hosted"}
    with run_gateway(database_url=database_url, **settings) as gw:
        headers = tenant.headers("read")
        listed = httpx.get(f"{gw.url}/v1/models", headers=headers).json()["data"]
        ids = {m["id"] for m in listed}
        assert "acme-large" in ids and "gpt-4o" in ids and "o3" not in ids
        assert {"id": "acme-large", "object": "model", "created": 0, "owned_by": "openai"} in listed

        body = httpx.get(f"{gw.url}/v1/tenant/models", headers=headers).json()["data"]
        models = {m["id"]: m for m in body}
        # $2.0 / $8.0 per 1M; credits x 1.4 (margin) x 1.5 (the overlay's multiplier).
        assert models["gpt-4o"]["pricing"] == {
            "input_per_1k": 0.002,
            "output_per_1k": 0.008,
            "currency": "USD",
            "credits_input_per_1k": 0.0042,
            "credits_output_per_1k": 0.0168,
        }
        # $0.4 / $1.6 per 1M, multiplier 1: credits x 1.4.
        assert models["acme-large"]["pricing"]["credits_input_per_1k"] == 0.00056
        assert models["acme-large"]["pricing"]["credits_output_per_1k"] == 0.00224
        assert models["acme-large"]["available"] is True and models["acme-large"]["source"] == "hosted"
        # The catalog's own figures where the overlay says nothing; null where unpriced.
        assert models["gpt-4o-mini"]["pricing"]["credits_input_per_1k"] == 0.00021
        assert models["gpt-5.5"]["pricing"]["credits_input_per_1k"] is None
        assert models["gpt-5.5"]["pricing"]["credits_output_per_1k"] is None

        one = httpx.get(f"{gw.url}/v1/tenant/models/acme-large", headers=headers).json()
        assert one["in_catalog"] is True and one["pricing"] == models["acme-large"]["pricing"]


def test_the_margin_setting_reaches_the_model_objects(
    database_url: str, tenant: SeededTenant
) -> None:
    with run_gateway(database_url=database_url, credit_margin=Decimal("2")) as gw:
        pricing = httpx.get(
            f"{gw.url}/v1/tenant/models/gpt-4o", headers=tenant.headers("read")
        ).json()["pricing"]
    # $2.50 / $10 per 1M = 0.0025 / 0.01 per 1k, x 2.
    assert pricing == {
        "input_per_1k": 0.0025,
        "output_per_1k": 0.01,
        "currency": "USD",
        "credits_input_per_1k": 0.005,
        "credits_output_per_1k": 0.02,
    }
