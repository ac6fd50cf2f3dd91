"""The model catalog: the providers and models the gateway knows, and how a
requested model string resolves to them.

    catalog.toml   the data, edited by hand (its header explains the fields)
    schema.py      the file's shape, checked strictly per entry (pydantic)
    source.py      reading a TOML file, and the one-line CatalogError
    loader.py      read, check across entries, build; once, at start-up
    overlay.py     MODELGATE_CATALOG_OVERLAY: override fields by id, or add models
    prices.py      ListPrice (exact, with integer per-token rates) and per-1k figures
    resolver.py    Catalog, ProviderSpec, ModelSpec, Resolution: pure lookups
    lifecycle.py   active / deprecated / end_of_life / disabled, and the call-time check

Usage::

    catalog = load_catalog(path, overlay)     # CatalogError on a bad file
    resolution = catalog.resolve("GPT-4o")    # errors.ModelNotFound if nothing matches
    notice = check_callable(resolution, now)  # ModelRetired / ModelNotFound, or the notice
"""

from modelgate.catalog.lifecycle import (
    State,
    check_callable,
    lifecycle_state,
    lifecycle_view,
    notice_for,
)
from modelgate.catalog.loader import CatalogError, load_catalog
from modelgate.catalog.resolver import (
    Capabilities,
    Catalog,
    ModelSpec,
    Pricing,
    ProviderSpec,
    Resolution,
)

__all__ = [
    "Capabilities",
    "Catalog",
    "CatalogError",
    "ModelSpec",
    "Pricing",
    "ProviderSpec",
    "Resolution",
    "State",
    "check_callable",
    "lifecycle_state",
    "lifecycle_view",
    "load_catalog",
    "notice_for",
]
