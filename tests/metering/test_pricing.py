"""A call's cost and credits, exactly: every expected figure here is worked out by
hand in the comments, never by the code under test."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from modelgate.catalog import ModelSpec, load_catalog
from modelgate.catalog.prices import ListPrice, credits_per_1k
from modelgate.metering.events import TokenCounts
from modelgate.metering.pricing import price, worst_case_credits

MARGIN = Decimal("1.4")
CATALOG = load_catalog()
# 1,234 input tokens of which 200 were read from the cache, 567 output tokens.
COUNTS = TokenCounts(input_tokens=1234, output_tokens=567, cached_input_tokens=200)


def spec(input: str, output: str, cached: str | None = None, multiplier: str = "1") -> ModelSpec:
    return ModelSpec(
        id="m",
        provider="acme",
        label="M",
        list_price=ListPrice(
            input=Decimal(input),
            output=Decimal(output),
            cached_input=None if cached is None else Decimal(cached),
        ),
        credit_multiplier=Decimal(multiplier),
    )


def test_a_catalog_model_with_a_cached_rate() -> None:
    # gpt-4o-mini: $0.15 input, $0.075 cached input, $0.60 output per 1M tokens,
    # i.e. 150, 75 and 600 nano-USD per token.
    #   (1234 - 200) x 150 = 155,100
    #            200 x  75 =  15,000
    #            567 x 600 = 340,200
    #                 cost = 510,300 nano-USD ($0.0005103)
    # credits = 510,300 x 1.4 = 714,420 nano-credits
    assert price(CATALOG.get("gpt-4o-mini"), COUNTS, hosted=True, margin=MARGIN) == (510_300, 714_420)


def test_without_a_cached_rate_cached_input_is_billed_as_input() -> None:
    # gpt-4-turbo: $10 input, $30 output per 1M, no cached rate published:
    #   1234 x 10,000 + 567 x 30,000 = 12,340,000 + 17,010,000 = 29,350,000
    model = CATALOG.get("gpt-4-turbo")
    assert model is not None and model.list_price is not None
    assert model.list_price.cached_input is None
    assert price(model, COUNTS, hosted=False, margin=MARGIN) == (29_350_000, 0)


def test_fractions_of_a_nano_usd_are_rounded_half_up_once_at_the_end() -> None:
    # 12.5, 1.25 and 37.5 nano-USD per token.
    model = spec("0.0125", "0.0375", cached="0.00125", multiplier="1.5")
    #   1034 x 12.5 = 12,925;  200 x 1.25 = 250;  567 x 37.5 = 21,262.5
    #   cost = 34,437.5 -> 34,438
    #   credits = 34,438 x 1.4 x 1.5 = 34,438 x 2.1 = 72,319.8 -> 72,320
    assert price(model, COUNTS, hosted=True, margin=MARGIN) == (34_438, 72_320)
    # One input and one output token: 12.5 + 37.5 = 50 exactly. Rounding each
    # part first would give 13 + 38 = 51.
    one_each = TokenCounts(input_tokens=1, output_tokens=1)
    assert price(model, one_each, hosted=False, margin=MARGIN) == (50, 0)
    # A lone half rounds up: 1 x 12.5 -> 13, and credits 13 x 1.4 x 1.5 = 27.3 -> 27.
    assert price(model, TokenCounts(input_tokens=1), hosted=True, margin=MARGIN) == (13, 27)


def test_the_multiplier_scales_credits_not_cost() -> None:
    # $2 input and $8 output per 1M: 2,000 and 8,000 nano-USD per token.
    #   cost = 1234 x 2,000 + 567 x 8,000 = 2,468,000 + 4,536,000 = 7,004,000
    plain = spec("2", "8")
    doubled = spec("2", "8", multiplier="2")
    assert price(plain, COUNTS, hosted=True, margin=MARGIN) == (7_004_000, 9_805_600)  # x 1.4
    assert price(doubled, COUNTS, hosted=True, margin=MARGIN) == (7_004_000, 19_611_200)  # x 2.8
    # The margin is a parameter: the setting, not a constant.
    assert price(plain, COUNTS, hosted=True, margin=Decimal("1")) == (7_004_000, 7_004_000)


def test_byok_calls_earn_no_credits() -> None:
    cost, credits = price(CATALOG.get("gpt-4o-mini"), COUNTS, hosted=False, margin=MARGIN)
    assert (cost, credits) == (510_300, 0)


def test_no_price_means_no_cost_and_no_credits() -> None:
    unpriced = CATALOG.get("gpt-5.5")
    assert unpriced is not None and unpriced.list_price is None
    assert price(unpriced, COUNTS, hosted=True, margin=MARGIN) == (None, 0)
    # An id the catalog does not list is unpriced too.
    outside = CATALOG.resolve("gpt-unlisted-9").model
    assert price(outside, COUNTS, hosted=True, margin=MARGIN) == (None, 0)
    assert worst_case_credits(unpriced, 1000, 1000, MARGIN) == 0


def test_zero_tokens_cost_zero() -> None:
    assert price(CATALOG.get("gpt-4o"), TokenCounts(), hosted=True, margin=MARGIN) == (0, 0)


def test_worst_case_credits_bills_all_input_at_the_full_rate() -> None:
    # gpt-4o-mini, 1,234 input and at most 4,096 output tokens, no cache discount:
    #   1234 x 150 + 4096 x 600 = 185,100 + 2,457,600 = 2,642,700 nano-USD
    #   x 1.4 = 3,699,780 nano-credits
    model = CATALOG.get("gpt-4o-mini")
    assert worst_case_credits(model, 1234, 4096, MARGIN) == 3_699_780
    actual = price(model, TokenCounts(1234, 4096, cached_input_tokens=1000), hosted=True, margin=MARGIN)
    assert actual[1] < 3_699_780


def test_catalog_prices_are_exact_decimals(tmp_path: Path) -> None:
    # Decimal(0.075) would be 0.07499999999999999722444243843710864894092082977294921875.
    model = CATALOG.get("gemini-2.0-flash-lite")
    assert model is not None and model.list_price is not None
    assert model.list_price.input == Decimal("0.075")
    assert str(model.list_price.input) == "0.075"
    gpt = CATALOG.get("gpt-4o-mini").list_price  # type: ignore[union-attr]
    assert gpt is not None and (gpt.input, gpt.cached_input, gpt.output) == (
        Decimal("0.15"), Decimal("0.075"), Decimal("0.60"),
    )
    # 3 tokens at 0.1 per 1M is 300 nano-USD (in binary floats, 300.00000000000006).
    assert price(spec("0.1", "0.2"), TokenCounts(3, 3), hosted=False, margin=MARGIN) == (900, 0)


def test_credits_per_1k_render_as_plain_json_numbers() -> None:
    # $0.075 per 1M = $0.000075 per 1k; x 1.4 = 0.000105 (float arithmetic: 0.00010499999999999999).
    assert json.dumps(credits_per_1k(Decimal("0.075"), MARGIN, Decimal(1))) == "0.000105"
    # $0.60 per 1M x 1.4 x 1.15 = 0.000966
    assert json.dumps(credits_per_1k(Decimal("0.60"), MARGIN, Decimal("1.15"))) == "0.000966"
    # Rounded half-up to 9 decimal places: 0.0000125 per 1M -> 0.0000000125 per 1k -> 0.000000013.
    assert credits_per_1k(Decimal("0.0000125"), Decimal(1), Decimal(1)) == 1.3e-8


@pytest.mark.parametrize(
    ("model_id", "cached"),
    [
        ("gpt-4o", "1.25"),
        ("gpt-4o-mini", "0.075"),
        ("gpt-4.1-nano", "0.025"),
        ("gpt-5", "0.125"),
        ("o4-mini", "0.275"),
        ("claude-haiku-4-5", "0.10"),
        ("claude-opus-4-1", "1.50"),
        ("claude-3-haiku-20240307", "0.03"),
        # Not confirmed: billed at the input rate.
        ("o3", None),
        ("gpt-5.1", None),
        ("gemini-2.5-pro", None),
    ],
)
def test_cached_rates_in_the_catalog(model_id: str, cached: str | None) -> None:
    list_price = CATALOG.get(model_id).list_price  # type: ignore[union-attr]
    assert list_price is not None
    assert list_price.cached_input == (None if cached is None else Decimal(cached))


def test_more_cached_than_input_bills_no_negative_fresh_input() -> None:
    # gpt-4o-mini, 10 input tokens reported as 20 cached: all 10 at 75 nano-USD = 750.
    counts = TokenCounts(input_tokens=10, cached_input_tokens=20)
    assert price(CATALOG.get("gpt-4o-mini"), counts, hosted=False, margin=MARGIN) == (750, 0)
