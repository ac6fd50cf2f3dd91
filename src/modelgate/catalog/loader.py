"""Read ``catalog.toml``, check it, and build the ``Catalog``, once at start-up.

Any problem raises ``CatalogError`` with one line naming the file and the entry
(``catalog.toml: models[12] 'gpt-x': context_window: ...``), so that a bad edit
stops the service instead of serving a catalog that is half right.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from os import PathLike
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from modelgate.catalog.overlay import apply_overlay
from modelgate.catalog.prices import ListPrice, per_1k
from modelgate.catalog.resolver import (
    Capabilities,
    Catalog,
    ModelSpec,
    Pricing,
    ProviderSpec,
    fold,
)
from modelgate.catalog.schema import CatalogFile, ModelEntry, PricePerMillion, ProviderEntry
from modelgate.catalog.source import CatalogError, entry_name, first_error, read_toml
from modelgate.catalog.source import Invalid as _Invalid

PACKAGED_CATALOG = "catalog.toml"

__all__ = ["PACKAGED_CATALOG", "CatalogError", "load_catalog"]


def load_catalog(
    path: str | PathLike[str] | None = None, overlay: str | PathLike[str] | None = None
) -> Catalog:
    """The packaged catalog, or the file at ``path`` (tests use small ones), with
    the entries of the ``overlay`` file (MODELGATE_CATALOG_OVERLAY) applied."""
    source: Traversable | Path = (
        resources.files(__package__).joinpath(PACKAGED_CATALOG) if path is None else Path(path)
    )
    name = source.name
    raw = read_toml(source)
    try:
        parsed = CatalogFile.model_validate(raw)
    except ValidationError as exc:
        raise CatalogError(f"{name}: {_describe(exc, raw)}") from None
    try:
        _check_references(parsed)
    except _Invalid as exc:
        raise CatalogError(f"{name}: {exc}") from None
    if overlay is not None:
        overlay_path = Path(overlay)
        parsed = apply_overlay(raw, parsed, overlay_path)
        try:
            # An override can break what held before (a replacement now disabled).
            _check_references(parsed)
        except _Invalid as exc:
            raise CatalogError(f"{overlay_path.name}: applied to {name}: {exc}") from None
    return _build(parsed)


def _describe(exc: ValidationError, raw: dict[str, Any]) -> str:
    """The first error, placed by entry (``models[3] 'gpt-4o': label: ...``)."""
    loc = exc.errors()[0]["loc"]
    if len(loc) >= 2 and loc[0] in ("providers", "models") and isinstance(loc[1], int):
        return f"{entry_name(str(loc[0]), loc[1], raw)}: " + first_error(exc, skip=2)
    if len(loc) >= 2 and loc[0] == "aliases":
        return f"aliases '{loc[1]}': " + first_error(exc, skip=2)
    where = ".".join(str(part) for part in loc) or "file"
    return f"{where}: " + first_error(exc, skip=len(loc))


def _check_references(parsed: CatalogFile) -> None:
    """What one entry cannot check alone: uniqueness and references between entries."""
    provider_names: dict[str, str] = {}
    prefixes: dict[str, str] = {}
    for i, provider in enumerate(parsed.providers):
        where = f"providers[{i}] '{provider.id}'"
        if fold(provider.id) in provider_names:
            raise _Invalid(f"{where}: id: '{provider.id}' is already a provider name")
        for name in (provider.id, *provider.aliases):
            # An alias that folds to the provider's own id ("openAI") is harmless.
            owner = provider_names.setdefault(fold(name), provider.id)
            if owner != provider.id:
                raise _Invalid(f"{where}: aliases: '{name}' already names provider '{owner}'")
        for prefix in provider.prefixes:
            owner = prefixes.setdefault(prefix, provider.id)
            if owner != provider.id:
                raise _Invalid(f"{where}: prefixes: '{prefix}' is already declared by '{owner}'")

    provider_ids = {p.id for p in parsed.providers}
    model_keys: dict[str, tuple[int, str]] = {}
    by_id: dict[str, ModelEntry] = {}
    for i, model in enumerate(parsed.models):
        where = f"models[{i}] '{model.id}'"
        if model.provider not in provider_ids:
            raise _Invalid(f"{where}: provider: '{model.provider}' is not a provider id")
        earlier = model_keys.setdefault(fold(model.id), (i, model.id))
        if earlier[0] != i:
            raise _Invalid(f"{where}: id: duplicate of models[{earlier[0]}] '{earlier[1]}'")
        by_id[model.id] = model

    for i, model in enumerate(parsed.models):
        if model.replacement is None:
            continue
        where = f"models[{i}] '{model.id}'"
        target = by_id.get(model.replacement)
        if target is None:
            raise _Invalid(f"{where}: replacement: '{model.replacement}' is not a model id")
        if target is model or target.disabled:
            raise _Invalid(f"{where}: replacement: '{model.replacement}' cannot be called")

    alias_targets: dict[str, str] = {}
    for alias, target in parsed.aliases.items():
        where = f"aliases '{alias}'"
        if target not in by_id:
            raise _Invalid(f"{where}: points to '{target}', which is not a model id")
        key = fold(alias)
        # An alias equal to its own model's id, in another case, is redundant but
        # harmless (the seed has "GPT-5.3-Codex"); equal to another model's id it
        # would make that model unreachable.
        owner = model_keys.get(key)
        if owner is not None and owner[1] != target:
            raise _Invalid(f"{where}: is already the id of models[{owner[0]}] '{owner[1]}'")
        previous = alias_targets.setdefault(key, target)
        if previous != target:
            raise _Invalid(f"{where}: already an alias of '{previous}', not of '{target}'")


def _build(parsed: CatalogFile) -> Catalog:
    # Listing order: providers as the file orders them; within one, curated
    # models first (their written order is the console's, flagship first), then
    # the rest as written. sorted() is stable, so "as written" holds.
    rank = {p.id: i for i, p in enumerate(parsed.providers)}
    entries = sorted(parsed.models, key=lambda m: (rank[m.provider], not m.curated))
    vendors = {p.id: p.model_vendor for p in parsed.providers}
    return Catalog(
        providers=[_provider(p) for p in parsed.providers],
        models=[_model(m, m.model_vendor or vendors[m.provider]) for m in entries],
        aliases=parsed.aliases,
    )


def _provider(entry: ProviderEntry) -> ProviderSpec:
    return ProviderSpec(
        id=entry.id,
        label=entry.label,
        base_url=entry.base_url,
        accepts_base_url=entry.accepts_base_url,
        api_style=entry.api_style,
        auth_style=entry.auth_style,
        key_required=entry.key_required,
        model_vendor=entry.model_vendor,
        aliases=tuple(entry.aliases),
        prefixes=tuple(entry.prefixes),
    )


def _model(entry: ModelEntry, vendor: str) -> ModelSpec:
    caps = set(entry.capabilities)
    return ModelSpec(
        id=entry.id,
        provider=entry.provider,
        label=entry.label,
        curated=entry.curated,
        model_type=entry.model_type,
        model_vendor=vendor,
        context_window=entry.context_window,
        max_output_tokens=entry.max_output_tokens,
        dimensions=entry.dimensions,
        modalities=tuple(entry.modalities),
        capabilities=Capabilities(
            tools="tools" in caps,
            vision="vision" in caps,
            reasoning="reasoning" in caps,
            streaming="streaming" in caps,
        ),
        pricing=_pricing(entry.pricing_per_1m),
        list_price=_list_price(entry.pricing_per_1m),
        credit_multiplier=entry.credit_multiplier,
        recommended=entry.recommended,
        tier=entry.tier,
        disabled=entry.disabled,
        end_of_life_at=entry.end_of_life_at,
        replacement=entry.replacement,
        notice=entry.notice,
    )


def _pricing(price: PricePerMillion | None) -> Pricing:
    if price is None:
        return Pricing()
    return Pricing(input_per_1k=per_1k(price.input), output_per_1k=per_1k(price.output))


def _list_price(price: PricePerMillion | None) -> ListPrice | None:
    if price is None:
        return None
    return ListPrice(input=price.input, output=price.output, cached_input=price.cached_input)
