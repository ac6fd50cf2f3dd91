"""A model's list price, exact, and the per-1k figures the model objects show.

The catalog writes prices in USD per 1M tokens. One token at 1 USD per 1M is
1000 nano-USD, so a price's nano-USD per token is the same decimal shifted by
three places: 0.075 per 1M is 0.075 nano-USD per token, 2.50 is 2500. To keep
the per-call arithmetic exact and cheap, ``ListPrice`` turns its three rates
into integers over one power of ten when it is built (once, at start-up):
pricing a call is then three integer products and one division.

The per-1k figures of the API are rendered as JSON numbers. A Decimal rounded to
at most 15 significant digits converts to the float whose shortest repr is that
same decimal, so ``0.000105`` goes out as ``0.000105``, never
``0.00010500000000000001``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal
from functools import lru_cache

from pydantic import BaseModel, ConfigDict

_PER_1K = Decimal(1000)  # per 1M -> per 1k
# Credits per 1k tokens are shown to 9 decimal places (a nano-credit per 1k
# tokens), and never more than the 15 significant digits a float carries exactly.
_CREDIT_PLACES = Decimal("1e-9")
_FLOAT_SAFE = Context(prec=15, rounding=ROUND_HALF_UP)


class ListPrice(BaseModel):
    """USD per 1M tokens, exactly as the catalog (or an overlay) writes them."""

    model_config = ConfigDict(frozen=True)
    # A plain slot rather than a pydantic private attribute: reading one of
    # those goes through __getattr__ (~9 us), a slot is a plain read (~0.2 us),
    # and pricing reads it on every call.
    __slots__ = ("_scaled",)

    input: Decimal
    output: Decimal
    cached_input: Decimal | None = None  # None: cached input is billed as input

    def model_post_init(self, context: object, /) -> None:
        self.scaled_nusd_rates  # noqa: B018 - computed once, here, at start-up

    @property
    def scaled_nusd_rates(self) -> tuple[int, int, int, int]:
        """(input, cached_input, output, denominator): nano-USD per token = rate / denominator."""
        try:
            return self._scaled
        except AttributeError:  # a copy (copies do not carry slots): compute again
            pass
        cached = self.input if self.cached_input is None else self.cached_input
        rates = [rate.scaleb(3) for rate in (self.input, cached, self.output)]
        # The fewest decimal places that make every rate a whole number.
        exponents = [int(rate.normalize().as_tuple().exponent) for rate in rates]
        unit = 10 ** max(0, *(-exponent for exponent in exponents))
        scaled = (int(rates[0] * unit), int(rates[1] * unit), int(rates[2] * unit), unit)
        object.__setattr__(self, "_scaled", scaled)
        return scaled


def per_1k(price_per_1m: Decimal | None) -> float | None:
    """USD per 1M as the model object's USD per 1k (0.15 -> 0.00015)."""
    return None if price_per_1m is None else _json_number(price_per_1m / _PER_1K)


@lru_cache(maxsize=4096)
def credits_per_1k(price_per_1m: Decimal, margin: Decimal, multiplier: Decimal) -> float:
    """USD per 1k x margin x multiplier, rounded half-up to 9 decimal places.

    Cached: the listing asks for every model's figures on every call, and the
    arguments (the catalog's prices, one margin) take only a few hundred values.
    """
    exact = price_per_1m / _PER_1K * margin * multiplier
    return _json_number(exact.quantize(_CREDIT_PLACES, rounding=ROUND_HALF_UP))


def _json_number(value: Decimal) -> float:
    # At most 15 significant digits: the float's shortest repr is then this decimal.
    return float(_FLOAT_SAFE.plus(value))
