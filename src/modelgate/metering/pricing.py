"""A call's cost at list price, in nano-USD, and its credits (CONTRACT-2, "Usage metering").

    cost    = (input - cached) x input rate + cached x cached rate + output x output rate
    credits = cost x margin x the model's credit_multiplier    (hosted calls; BYOK: 0)

Both are integers of nano-units (events.py). The cost is exact until one
half-up rounding to a whole nano-USD at the end; credits are computed from
that rounded cost, so anyone can check them from the ``cost_usd`` they see
(``credits = round(cost_usd x margin x multiplier)``), then rounded half-up
once more. A model without a list price costs ``None`` and earns 0 credits:
an unknown price is never guessed.

Cheap on the hot path: the catalog turned every price into integer rates at
start-up (``ListPrice.scaled_nusd_rates``), so a call is a few integer products
and one division, with no Decimal arithmetic for the cost. The factor
margin x multiplier is turned into a fraction once per (margin, multiplier).
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from modelgate.catalog import ModelSpec
from modelgate.metering.events import TokenCounts


def _round_half_up(numerator: int, denominator: int) -> int:
    # Non-negative operands: floor((2n + d) / 2d) is n/d rounded half-up.
    return (2 * numerator + denominator) // (2 * denominator)


@lru_cache(maxsize=1024)
def _credit_factor(margin: Decimal, multiplier: Decimal) -> tuple[int, int]:
    """margin x multiplier as an exact fraction (numerator, denominator)."""
    return (margin * multiplier).as_integer_ratio()


def cost_nusd(model: ModelSpec, counts: TokenCounts) -> int | None:
    """The call's list-price cost in nano-USD, rounded half-up; None when unpriced."""
    price = model.list_price
    if price is None:
        return None
    input_rate, cached_rate, output_rate, denominator = price.scaled_nusd_rates
    # Counts are the adapters' non-negative integers. Cached tokens are part of
    # input_tokens; a provider that reports more cached than input (none should)
    # is not billed a negative fresh input.
    input_tokens = counts.input_tokens
    cached = min(counts.cached_input_tokens, input_tokens)
    scaled = (
        (input_tokens - cached) * input_rate
        + cached * cached_rate
        + counts.output_tokens * output_rate
    )
    return _round_half_up(scaled, denominator)


def credits_n(cost: int | None, model: ModelSpec, margin: Decimal) -> int:
    """Nano-credits for a hosted call costing ``cost`` nano-USD (0 when unpriced)."""
    if not cost:
        return 0
    numerator, denominator = _credit_factor(margin, model.credit_multiplier)
    return _round_half_up(cost * numerator, denominator)


def price(
    model: ModelSpec, counts: TokenCounts, *, hosted: bool, margin: Decimal
) -> tuple[int | None, int]:
    """(cost_nusd, credits_n) of one call: the cost whoever's key served it,
    credits only when the platform's key did (BYOK calls are the tenant's bill)."""
    cost = cost_nusd(model, counts)
    return cost, credits_n(cost, model, margin) if hosted else 0


def worst_case_credits(
    model: ModelSpec, input_tokens: int, max_output_tokens: int, margin: Decimal
) -> int:
    """The most nano-credits a hosted call can earn: every input token at the full
    input rate (no cache discount) and ``max_output_tokens`` of output. What a
    budget reserves before the call; 0 for an unpriced model."""
    counts = TokenCounts(input_tokens=input_tokens, output_tokens=max_output_tokens)
    return credits_n(cost_nusd(model, counts), model, margin)
