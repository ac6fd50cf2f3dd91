"""Resolve a requested model string to a provider and a model: pure, no I/O.

``Catalog`` builds its dictionaries once, at start-up; each ``resolve`` is then
a handful of dict lookups, whatever the size of the catalog. The order is the
contract's:

1. exact catalog id, 2. alias (both case-insensitive, one dictionary since the
   loader guarantees that no alias shadows another model's id);
3. ``provider:model``: the provider by id or alias, the part after the colon
   resolved within that provider, and passed through as written when the
   catalog does not list it;
4. prefix rules (``gpt-``, ``o#``, ``claude-``, ...) as each provider declares;
   the id is passed through with ``in_catalog=False``.

Nothing matched: ``ModelNotFound`` with up to three close catalog ids.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

from modelgate.catalog.prices import ListPrice
from modelgate.errors import ModelNotFound

# Shape used by the "#" (one digit) prefixes. A literal "#" in a request maps to
# NUL so that it can never pass for a digit.
_DIGIT_SHAPE = str.maketrans({**{d: "#" for d in "0123456789"}, "#": "\x00"})
# Suggestions cost a string comparison per catalog name; a longer request is no typo.
_MAX_SUGGEST_LENGTH = 128
# 0.5 lets "llama-foo" find groq's Llama models; a wrong hint costs nothing.
_SUGGEST_CUTOFF = 0.5
_SHOWN_LENGTH = 100

_T = TypeVar("_T")


def fold(text: str) -> str:
    """The case-insensitive key of an id, alias or provider name.

    ``upper()`` first so that letters whose capital is ASCII ("ı", "ſ") fold with
    it, then ``casefold()`` for "ß"; this way ``x``, ``x.upper()`` and
    ``x.lower()`` share one key, which plain ``lower()`` does not guarantee.
    """
    return text.upper().casefold()


def shown(text: str) -> str:
    """A request echoed in an error message, cut short so the body stays small."""
    return text if len(text) <= _SHOWN_LENGTH else text[: _SHOWN_LENGTH - 3] + "..."


class _Spec(BaseModel):
    # Pydantic rather than dataclasses so that the routers can model_dump() them;
    # frozen so that a spec shared by every request cannot be changed by one.
    model_config = ConfigDict(frozen=True)


class ProviderSpec(_Spec):
    id: str
    label: str
    base_url: str
    accepts_base_url: bool
    api_style: str  # "openai" | "anthropic" | "google": which adapter speaks to it
    auth_style: str  # "bearer" | "x-api-key" | "x-goog-api-key"
    key_required: bool  # from the seed, information only
    model_vendor: str = "OTHER"  # seed 004's vendor enum; the default of its models
    aliases: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()


class Capabilities(_Spec):
    tools: bool = False
    vision: bool = False
    reasoning: bool = False
    streaming: bool = False


class Pricing(_Spec):
    """The model object's ``pricing`` as the catalog fixes it (USD per 1k tokens);
    the router adds the credit figures, which depend on the margin setting."""

    input_per_1k: float | None = None
    output_per_1k: float | None = None
    currency: str = "USD"


class ModelSpec(_Spec):
    id: str
    provider: str
    label: str
    curated: bool = False
    model_type: str = "chat_completion"
    model_vendor: str = "OTHER"  # seed 004: OPENAI, GOOGLE, ANTHROPIC, ... or OTHER
    context_window: int | None = None
    max_output_tokens: int | None = None
    dimensions: int | None = None  # embedding models: default vector length
    modalities: tuple[str, ...] = ()
    capabilities: Capabilities = Capabilities()
    pricing: Pricing = Pricing()
    # The exact figures that metering bills with; None when the price is unknown.
    list_price: ListPrice | None = None
    credit_multiplier: Decimal = Decimal(1)
    recommended: bool = False
    tier: str = "standard"
    disabled: bool = False
    end_of_life_at: datetime | None = None
    replacement: str | None = None
    # The file's own wording; lifecycle.notice_for() writes one when this is None.
    notice: str | None = None


@dataclass(frozen=True, slots=True)
class Resolution:
    requested: str
    provider: ProviderSpec
    model: ModelSpec
    in_catalog: bool


def outside_model_type(model_id: str) -> str:
    """The type of an id the catalog does not list: ``embedding`` when its name
    says so ("text-embedding-ada-002", "gemini-embedding-exp", "mistral-embed",
    "nomic-embed-text": every vendor names its embedding models this way), else
    ``chat_completion``, the only other kind the gateway calls."""
    return "embedding" if "embed" in model_id.lower() else "chat_completion"


def _outside(model_id: str, provider: ProviderSpec) -> ModelSpec:
    # An id the catalog does not list: known provider, unknown figures. Every
    # chat adapter streams, so that much is true of any chat model it reaches;
    # an embeddings call never streams.
    model_type = outside_model_type(model_id)
    return ModelSpec(
        id=model_id,
        provider=provider.id,
        label=model_id,
        model_type=model_type,
        model_vendor=provider.model_vendor,
        capabilities=Capabilities(streaming=model_type == "chat_completion"),
    )


def _put(index: dict[str, _T], key: str, value: _T, what: str) -> None:
    # The loader reports collisions with file positions first; this only keeps a
    # hand-built Catalog from overwriting an entry in silence.
    existing = index.setdefault(key, value)
    if existing is not value:
        raise ValueError(f"{what} '{key}' is claimed twice")


class Catalog:
    """The providers and models, indexed once for resolution."""

    def __init__(
        self,
        providers: Iterable[ProviderSpec],
        models: Iterable[ModelSpec],
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        self.providers: tuple[ProviderSpec, ...] = tuple(providers)
        self.models: tuple[ModelSpec, ...] = tuple(models)

        self._provider_by_key: dict[str, ProviderSpec] = {}
        self._provider_by_id = {p.id: p for p in self.providers}
        self._literal_prefixes: dict[str, ProviderSpec] = {}
        self._pattern_prefixes: dict[str, ProviderSpec] = {}
        for provider in self.providers:
            for name in (provider.id, *provider.aliases):
                _put(self._provider_by_key, fold(name), provider, "provider name")
            for prefix in provider.prefixes:
                index = self._pattern_prefixes if "#" in prefix else self._literal_prefixes
                _put(index, fold(prefix), provider, "prefix")
        # Longest first, so that a longer prefix wins over a shorter one.
        self._prefix_lengths = sorted(
            {len(p) for p in (*self._literal_prefixes, *self._pattern_prefixes)}, reverse=True
        )

        self._model_by_id = {m.id: m for m in self.models}
        self._model_by_key: dict[str, ModelSpec] = {}
        self._within: dict[str, dict[str, ModelSpec]] = {p.id: {} for p in self.providers}
        aliases_of: dict[str, list[str]] = {}
        named = [(m.id, m) for m in self.models]
        for alias, target in (aliases or {}).items():
            named.append((alias, self._model_by_id[target]))
            aliases_of.setdefault(target, []).append(alias)
        for name, model in named:
            key = fold(name)
            _put(self._model_by_key, key, model, "model name")
            self._within[model.provider][key] = model
        self._aliases_of = {k: tuple(v) for k, v in aliases_of.items()}

        # What a typo is compared with: every id and alias of a model worth
        # moving to (not disabled, not retiring).
        self._suggest = {
            k: m.id
            for k, m in self._model_by_key.items()
            if not m.disabled and m.end_of_life_at is None
        }
        self._suggest_keys = list(self._suggest)

    def provider(self, name: str) -> ProviderSpec | None:
        """A provider by id or alias, case-insensitive."""
        return self._provider_by_key.get(fold(name.strip()))

    def get(self, model_id: str) -> ModelSpec | None:
        """A model by its exact catalog id (no alias, no folding)."""
        return self._model_by_id.get(model_id)

    def aliases_of(self, model_id: str) -> tuple[str, ...]:
        """The model's aliases as the file writes them, in file order."""
        return self._aliases_of.get(model_id, ())

    def resolve(self, requested: str) -> Resolution:
        """Resolve a model string; raises ``ModelNotFound`` and nothing else."""
        text = requested.strip()
        if not text:
            raise ModelNotFound("A model id is required.", param="model")
        key = fold(text)

        model = self._model_by_key.get(key)
        if model is not None:
            return Resolution(requested, self._provider_by_id[model.provider], model, True)

        head, colon, rest = text.partition(":")
        provider = self.provider(head) if colon else None
        if provider is not None:
            return self._resolve_within(requested, provider, rest.strip())

        provider = self._by_prefix(key)
        if provider is not None:
            return Resolution(requested, provider, _outside(text, provider), False)

        raise self._not_found(requested, head if colon else None, rest)

    def _resolve_within(self, requested: str, provider: ProviderSpec, rest: str) -> Resolution:
        if not rest:
            raise ModelNotFound(
                f"The model '{shown(requested)}' names the provider '{provider.id}' but no model.",
                param="model",
            )
        model = self._within[provider.id].get(fold(rest))
        if model is not None:
            return Resolution(requested, provider, model, True)
        # The provider may well serve ids we do not list; it is the judge of those.
        return Resolution(requested, provider, _outside(rest, provider), False)

    def _by_prefix(self, key: str) -> ProviderSpec | None:
        shape = key.translate(_DIGIT_SHAPE)
        for length in self._prefix_lengths:
            provider = self._literal_prefixes.get(key[:length]) or self._pattern_prefixes.get(
                shape[:length]
            )
            if provider is not None:
                return provider
        return None

    def _not_found(self, requested: str, head: str | None, rest: str) -> ModelNotFound:
        message = f"The model '{shown(requested)}' does not exist"
        probe = requested
        if head is not None:
            # "unknown:gpt-4o": say which part failed, and suggest for the model part.
            message += f", and '{shown(head.strip())}' is not a known provider"
            probe = rest
        close = self.close_matches(probe)
        if close:
            message += ". Did you mean: " + ", ".join(close) + "?"
        else:
            message += "."
        return ModelNotFound(message, param="model")

    def close_matches(self, text: str, limit: int = 3) -> tuple[str, ...]:
        """Up to ``limit`` catalog ids close to ``text`` (ids and aliases compared).

        A scan over the catalog, which is why it only runs on the error path.
        """
        key = fold(text.strip())
        if not key or len(key) > _MAX_SUGGEST_LENGTH:
            return ()
        found: list[str] = []
        for match in difflib.get_close_matches(
            key, self._suggest_keys, n=4 * limit, cutoff=_SUGGEST_CUTOFF
        ):
            model_id = self._suggest[match]
            if model_id not in found:
                found.append(model_id)
                if len(found) == limit:
                    break
        return tuple(found)
