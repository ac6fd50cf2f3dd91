"""MODELGATE_CATALOG_OVERLAY: an operator's own prices and settings on top of the
packaged catalog, without editing it.

The overlay is a TOML file of ``[[models]]`` entries, nothing else. An entry
whose ``id`` is a catalog model's id overrides the fields it writes (any field
of a catalog model: ``pricing_per_1m``, ``credit_multiplier``, lifecycle
fields, ``disabled``, ``capabilities``...); ``pricing_per_1m`` is merged key by
key, so ``{ cached_input = 0.3 }`` alone adds a cached rate and keeps the
rest. An entry with any other id adds a model, and must then be complete
(``provider``, ``label``, ``capabilities`` at least). Each resulting entry is
validated exactly as a catalog entry is, and a problem stops start-up with one
line naming the overlay file and the entry, as a bad catalog does.

TOML has no null, so an overlay sets fields but cannot remove one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from modelgate.catalog.resolver import fold
from modelgate.catalog.schema import CatalogFile, ModelEntry
from modelgate.catalog.source import CatalogError, entry_name, first_error, read_toml

# Required of a model that the catalog does not have (ModelEntry's required fields).
_NEW_MODEL_NEEDS = ("provider", "label", "capabilities")
# Tables merged key by key rather than replaced whole.
_MERGED_TABLES = ("pricing_per_1m",)


def apply_overlay(catalog_raw: dict[str, Any], parsed: CatalogFile, path: Path) -> CatalogFile:
    """The catalog with the overlay's entries applied; ``CatalogError`` on a bad overlay.

    ``catalog_raw`` is the catalog file as TOML gave it: an override is merged
    into the entry as written, then validated as a whole, so that the checks
    between fields (vision needs image input, a notice needs a date) still hold.
    """
    name = path.name
    raw = read_toml(path)
    entries = _entries(raw, name)
    models = list(parsed.models)
    written = dict(zip((m.id for m in models), catalog_raw.get("models", []), strict=True))
    position = {m.id: i for i, m in enumerate(models)}
    folded = {fold(m.id): m.id for m in models}
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"{name}: {entry_name('models', i, raw)}"
        ident: str = entry["id"]
        if ident in seen:
            raise CatalogError(f"{where}: id: listed twice in the overlay")
        seen.add(ident)
        if ident in position:
            models[position[ident]] = _validated(_merge(written[ident], entry), where)
            continue
        # Catalog ids match case-insensitively, so a near-miss would shadow one.
        if fold(ident) in folded:
            written_as = folded[fold(ident)]
            raise CatalogError(f"{where}: id: the catalog writes this model '{written_as}'")
        missing = [field for field in _NEW_MODEL_NEEDS if field not in entry]
        if missing:
            raise CatalogError(
                f"{where}: not a catalog model id, and a new model needs {', '.join(missing)}"
            )
        models.append(_validated(entry, where))
    return parsed.model_copy(update={"models": models})


def _entries(raw: dict[str, Any], name: str) -> list[dict[str, Any]]:
    for key in raw:
        if key != "models":
            raise CatalogError(f"{name}: {key}: an overlay holds only [[models]] entries")
    entries = raw.get("models", [])
    if not isinstance(entries, list):
        raise CatalogError(f"{name}: models: must be [[models]] entries")
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise CatalogError(f"{name}: models[{i}]: must be a table")
        if not isinstance(entry.get("id"), str):
            raise CatalogError(f"{name}: models[{i}]: id: a model id (string) is required")
    return entries


def _merge(written: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = {**written, **override}
    for table in _MERGED_TABLES:
        base, new = written.get(table), override.get(table)
        if isinstance(base, dict) and isinstance(new, dict):
            merged[table] = {**base, **new}
    return merged


def _validated(entry: dict[str, Any], where: str) -> ModelEntry:
    try:
        return ModelEntry.model_validate(entry)
    except ValidationError as exc:
        raise CatalogError(f"{where}: {first_error(exc)}") from None
