"""Lifecycle at pinned dates: deprecated before end_of_life_at, end_of_life from it
on (410 naming the replacement), disabled refused as not found."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from modelgate.catalog import (
    Catalog,
    Resolution,
    check_callable,
    lifecycle_state,
    lifecycle_view,
    load_catalog,
)
from modelgate.errors import ModelNotFound, ModelRetired

TODAY = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
GPT35_EOL = datetime(2026, 9, 28, tzinfo=UTC)
HAIKU3_EOL = datetime(2026, 4, 20, tzinfo=UTC)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_seeded_retirements_are_end_of_life_today(catalog: Catalog) -> None:
    for requested, replacement in (
        ("gpt-3.5-turbo", "gpt-4o-mini"),
        ("gpt-3.5-turbo-16k", "gpt-4o-mini"),
        ("claude-3-haiku-20240307", "claude-haiku-4-5"),
        ("claude-haiku-3", "claude-haiku-4-5"),
    ):
        # Still resolves, for the listing and GET /v1/tenant/models/{id} ...
        resolution = catalog.resolve(requested)
        assert resolution.in_catalog
        view = lifecycle_view(resolution.model, TODAY)
        assert (view["state"], view["replacement"]) == ("end_of_life", replacement)
        # ... but a chat call is refused with 410, naming the replacement.
        with pytest.raises(ModelRetired) as info:
            check_callable(resolution, TODAY)
        error = info.value
        assert (error.status_code, error.code, error.param) == (410, "model_retired", "model")
        assert f"'{replacement}'" in error.message


def test_gpt_35_turbo_around_its_date(catalog: Catalog) -> None:
    resolution = catalog.resolve("gpt-3.5-turbo")
    model = resolution.model
    before = GPT35_EOL - timedelta(seconds=1)
    assert lifecycle_state(model, before) == "deprecated"
    assert lifecycle_state(model, GPT35_EOL) == "end_of_life"  # from the instant on
    assert lifecycle_state(model, TODAY) == "end_of_life"

    notice = check_callable(resolution, before)
    assert notice == "GPT-3.5 Turbo will be retired on 2026-09-28. Use gpt-4o-mini instead."
    assert lifecycle_view(model, before) == {
        "state": "deprecated",
        "end_of_life_at": "2026-09-28T00:00:00Z",
        "replacement": "gpt-4o-mini",
        "notice": notice,
    }
    assert lifecycle_view(model, TODAY) == {
        "state": "end_of_life",
        "end_of_life_at": "2026-09-28T00:00:00Z",
        "replacement": "gpt-4o-mini",
        "notice": "GPT-3.5 Turbo was retired on 2026-09-28. Use gpt-4o-mini instead.",
    }
    with pytest.raises(ModelRetired, match=r"was retired on 2026-09-28\. Use 'gpt-4o-mini'"):
        check_callable(resolution, GPT35_EOL)


def test_claude_haiku_3_around_its_date(catalog: Catalog) -> None:
    resolution = catalog.resolve("claude-haiku-3")
    assert check_callable(resolution, datetime(2026, 4, 1, tzinfo=UTC)) == (
        "Claude Haiku 3 will be retired on 2026-04-20. Use claude-haiku-4-5 instead."
    )
    assert lifecycle_state(resolution.model, HAIKU3_EOL) == "end_of_life"


def test_active_and_passed_through_models_are_callable(catalog: Catalog) -> None:
    for requested in ("gpt-4o", "claude-opus-4-8", "claude-fable-5", "openai:my-custom"):
        resolution = catalog.resolve(requested)
        assert check_callable(resolution, TODAY) is None
        assert lifecycle_view(resolution.model, TODAY) == {
            "state": "active",
            "end_of_life_at": None,
            "replacement": None,
            "notice": None,
        }


def test_a_naive_now_is_taken_as_utc(catalog: Catalog) -> None:
    model = catalog.resolve("gpt-3.5-turbo").model
    assert lifecycle_state(model, datetime(2026, 9, 27, 23, 59)) == "deprecated"
    assert lifecycle_state(model, datetime(2026, 9, 28, 0, 0)) == "end_of_life"


def test_now_defaults_to_the_clock(catalog: Catalog) -> None:
    model = catalog.resolve("gpt-3.5-turbo").model
    assert lifecycle_state(model) == lifecycle_state(model, datetime.now(UTC))


SMALL_CATALOG = """
[[providers]]
id = "acme"
label = "Acme"
base_url = "https://api.acme.test/v1"
accepts_base_url = false
api_style = "openai"
auth_style = "bearer"
key_required = true
prefixes = ["acme-"]

[[models]]
id = "acme-large"
provider = "acme"
label = "Acme Large"
capabilities = ["streaming"]

[[models]]
id = "acme-hidden"
provider = "acme"
label = "Acme Hidden"
capabilities = ["streaming"]
disabled = true
end_of_life_at = 2020-01-01
replacement = "acme-large"

[[models]]
id = "acme-old"
provider = "acme"
label = "Acme Old"
capabilities = []
end_of_life_at = 2026-12-01T12:00:00+02:00
notice = "Acme Old goes away in December; move to acme-large."
replacement = "acme-large"

[[models]]
id = "acme-orphan"
provider = "acme"
label = "Acme Orphan"
capabilities = []
end_of_life_at = 2026-01-01

[aliases]
"hidden" = "acme-hidden"
"""


@pytest.fixture
def small(tmp_path: Path) -> Catalog:
    path = tmp_path / "catalog.toml"
    path.write_text(SMALL_CATALOG, encoding="utf-8")
    return load_catalog(path)


def test_a_disabled_model_resolves_but_is_refused_as_not_found(small: Catalog) -> None:
    for requested in ("acme-hidden", "HIDDEN", "acme:acme-hidden"):
        resolution = small.resolve(requested)
        assert (resolution.model.id, resolution.in_catalog) == ("acme-hidden", True)
        # The admin flag wins over the date: disabled, not end_of_life.
        assert lifecycle_state(resolution.model, TODAY) == "disabled"
        assert lifecycle_view(resolution.model, TODAY)["notice"] is None
        with pytest.raises(ModelNotFound) as info:
            check_callable(resolution, TODAY)
        assert (info.value.status_code, info.value.code, info.value.param) == (
            404,
            "model_not_found",
            "model",
        )


def test_a_disabled_model_is_never_suggested(small: Catalog) -> None:
    assert small.close_matches("acme-hiden") == ("acme-large",)


def test_the_files_notice_overrides_the_written_one(small: Catalog) -> None:
    resolution = small.resolve("acme-old")
    # 2026-12-01T12:00+02:00 is 10:00 UTC.
    assert resolution.model.end_of_life_at == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert (
        check_callable(resolution, TODAY) == "Acme Old goes away in December; move to acme-large."
    )
    assert lifecycle_view(resolution.model, datetime(2027, 1, 1, tzinfo=UTC)) == {
        "state": "end_of_life",
        "end_of_life_at": "2026-12-01T10:00:00Z",
        "replacement": "acme-large",
        "notice": "Acme Old goes away in December; move to acme-large.",
    }


def test_a_retired_model_without_replacement_says_so(small: Catalog) -> None:
    with pytest.raises(ModelRetired, match="It has no replacement"):
        check_callable(small.resolve("acme-orphan"), TODAY)
    assert lifecycle_view(small.resolve("acme-orphan").model, TODAY)["notice"] == (
        "Acme Orphan was retired on 2026-01-01."
    )


def test_check_callable_takes_any_resolution(small: Catalog) -> None:
    resolution = small.resolve("acme-experimental")
    assert isinstance(resolution, Resolution) and not resolution.in_catalog
    assert check_callable(resolution, TODAY) is None
