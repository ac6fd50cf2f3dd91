"""The shape of ``catalog.toml``, checked entry by entry when the service starts.

The file is edited by hand, so these models are strict (a string where a number
belongs is an error, never a conversion) and refuse unknown keys (a misspelt
field must not be dropped in silence). Checks that span entries (duplicate ids,
aliases, replacements) live in ``loader.py``, which knows where each entry sits.

TOML has no null: an unknown figure is written by leaving the key out, which is
why every such field defaults to ``None``.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

ApiStyle = Literal["openai", "anthropic", "google"]
AuthStyle = Literal["bearer", "x-api-key", "x-goog-api-key"]
# The model types of seed 004, lower-cased.
ModelType = Literal["chat_completion", "completion", "agent", "embedding", "reranking", "generic"]
# Seed 004's model_vendor enum, as the seed writes it (upper case). A provider
# that is not one of these vendors is OTHER.
ModelVendor = Literal[
    "OPENAI", "COHERE", "GOOGLE", "ANTHROPIC", "LAUNCH", "LLMENGINE", "BEDROCK", "OTHER"
]
Modality = Literal["text", "image", "audio", "video", "file"]
Capability = Literal["tools", "vision", "reasoning", "streaming"]
Tier = Literal["standard", "premium"]

ProviderId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]*$")]
# Ids may carry "/", "." and ":" (groq's "openai/gpt-oss-120b"), never spaces.
ModelId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/:-]*$")]
# Aliases may hold inner spaces ("GPT-5 mini") but not outer ones: requests are stripped.
Name = Annotated[str, StringConstraints(pattern=r"^\S(.*\S)?$")]
# "#" stands for one digit, so "o#" covers o1, o3-mini, o4-mini and whatever o9 will be.
Prefix = Annotated[str, StringConstraints(pattern=r"^[a-z0-9#][a-z0-9#._/:-]*$")]
# Labels and notices end up in the generated notice, which travels in an HTTP
# header (latin-1 only); printable ASCII keeps that safe.
AsciiText = Annotated[str, StringConstraints(pattern=r"^[\x20-\x7e]+$")]
_URL = re.compile(r"^https?://[^\s/]+(/\S*)?[^/\s]$")


def _fail(message: str) -> PydanticCustomError:
    return PydanticCustomError("catalog", message)


def _exact(value: object) -> object:
    """A TOML number as the exact decimal its text shows.

    TOML gives 0.075 as a binary float; ``str()`` of a float is the shortest text
    that reads back as it, which is the text the file holds, so Decimal(str(x))
    is exactly 0.075 where Decimal(x) would be 0.07499999999999999722... A
    string stays an error (the file is strict), and so does a bool (an int to
    Python) and nan/inf (not a price).
    """
    if isinstance(value, bool) or isinstance(value, str):
        raise PydanticCustomError("decimal_type", "Input should be a valid number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise PydanticCustomError("finite_number", "Input should be a finite number")
        return Decimal(str(value))
    if isinstance(value, int):
        return Decimal(value)
    return value


# Money and multipliers: exact decimals, never binary floats (sums of prices
# must come out to the cent, and 0.1 + 0.2 does not in float).
ExactNumber = Annotated[Decimal, BeforeValidator(_exact)]


def _no_repeats(values: list[str]) -> list[str]:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise _fail(f"'{value}' is listed twice")
        seen.add(value)
    return values


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ProviderEntry(_Entry):
    id: ProviderId
    label: AsciiText
    # As the provider's official SDK takes it, without a trailing "/": the
    # adapters append their own paths ("/chat/completions", "/v1/messages").
    base_url: str
    accepts_base_url: bool
    api_style: ApiStyle
    auth_style: AuthStyle
    key_required: bool
    # Seed 004's vendor of the provider's models; each model inherits it unless
    # it writes its own (an open-weight model served by a host is still OTHER).
    model_vendor: ModelVendor = "OTHER"
    aliases: list[Name] = Field(default_factory=list)
    prefixes: list[Prefix] = Field(default_factory=list)

    @field_validator("aliases", "prefixes")
    @classmethod
    def _unique(cls, values: list[str]) -> list[str]:
        return _no_repeats(values)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not _URL.match(value):
            raise _fail("must be an http(s) URL without a trailing '/'")
        return value


class PricePerMillion(_Entry):
    """USD per 1M tokens, as the provider's pricing page prints it."""

    input: ExactNumber = Field(ge=0)
    output: ExactNumber = Field(ge=0)
    # Input tokens read from the provider's prompt cache (OpenAI "cached input",
    # Anthropic "cache hits", Gemini "context caching"); left out when the
    # provider publishes none, and those tokens are then billed as input.
    cached_input: ExactNumber | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _cache_is_a_discount(self) -> PricePerMillion:
        if self.cached_input is not None and self.cached_input > self.input:
            raise _fail("cached_input is more than input")
        return self


class ModelEntry(_Entry):
    id: ModelId
    provider: ProviderId
    label: AsciiText
    curated: bool = False
    model_type: ModelType = "chat_completion"
    # None: the provider's model_vendor (the loader fills it in).
    model_vendor: ModelVendor | None = None
    context_window: int | None = Field(default=None, gt=0)
    max_output_tokens: int | None = Field(default=None, gt=0)
    # Embedding models: the length of the vectors they return by default.
    dimensions: int | None = Field(default=None, gt=0)
    modalities: list[Modality] = Field(default_factory=list)
    # Required, even when empty: whoever adds a model has to think about it.
    capabilities: list[Capability]
    pricing_per_1m: PricePerMillion | None = None
    # Credits = list price in USD x MODELGATE_CREDIT_MARGIN x this (CONTRACT-2).
    credit_multiplier: ExactNumber = Field(default=Decimal(1), gt=0)
    recommended: bool = False
    tier: Tier = "standard"
    disabled: bool = False
    end_of_life_at: datetime | None = None
    replacement: ModelId | None = None
    notice: AsciiText | None = None

    @field_validator("modalities", "capabilities")
    @classmethod
    def _unique(cls, values: list[str]) -> list[str]:
        return _no_repeats(values)

    @field_validator("end_of_life_at", mode="before")
    @classmethod
    def _date_is_midnight_utc(cls, value: object) -> object:
        # A bare TOML date (2026-09-28) is the usual way to write a retirement day.
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime.combine(value, time(), tzinfo=UTC)
        return value

    @field_validator("end_of_life_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise _fail("needs a UTC offset: write 2026-09-28 or 2026-09-28T00:00:00Z")
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _consistent(self) -> ModelEntry:
        # "vision" is a claim about image input, so it must agree with modalities.
        if ("vision" in self.capabilities) != ("image" in self.modalities):
            raise _fail(
                "capabilities must include 'vision' exactly when modalities include 'image'"
            )
        if (
            self.context_window is not None
            and self.max_output_tokens is not None
            and self.max_output_tokens > self.context_window
        ):
            raise _fail("max_output_tokens is larger than context_window")
        if self.dimensions is not None and self.model_type != "embedding":
            raise _fail("dimensions is only for model_type 'embedding'")
        # Replacement and notice only ever show for a model that is retiring.
        for field in ("replacement", "notice"):
            if getattr(self, field) is not None and self.end_of_life_at is None:
                raise _fail(f"{field} needs end_of_life_at")
        return self


class CatalogFile(_Entry):
    providers: list[ProviderEntry] = Field(min_length=1)
    models: list[ModelEntry] = Field(default_factory=list)
    # alias -> model id, as the seed's alias tables write them.
    aliases: dict[Name, ModelId] = Field(default_factory=dict)
