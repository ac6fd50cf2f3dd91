"""Reading a catalog-format TOML file, and the one-line errors both the catalog
and its overlay raise (``catalog.toml: models[12] 'gpt-x': context_window: ...``)."""

from __future__ import annotations

import tomllib
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from pydantic import ValidationError


class CatalogError(Exception):
    """The catalog file (or its overlay) is missing, unreadable or wrong; the
    message names the entry."""


class Invalid(Exception):
    """A problem between entries; the caller prefixes the file name."""


def read_toml(source: Traversable | Path) -> dict[str, Any]:
    name = source.name
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{name}: cannot be read: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{name}: {exc}") from None


def entry_name(section: str, index: int, raw: dict[str, Any]) -> str:
    """``models[3] 'gpt-4o'``, or ``models[3]`` when the entry has no usable id."""
    try:
        ident = raw[section][index].get("id")
    except (AttributeError, IndexError, KeyError, TypeError):
        ident = None
    return f"{section}[{index}]" + (f" '{ident}'" if isinstance(ident, str) else "")


def first_error(exc: ValidationError, skip: int = 0) -> str:
    """The first error as ``field.sub: message``, its location cut by ``skip`` parts."""
    errors = exc.errors()
    first = errors[0]
    rest = tuple(first["loc"][skip:])
    text = (".".join(str(part) for part in rest) + ": " if rest else "") + first["msg"]
    if len(errors) > 1:
        text += f" (and {len(errors) - 1} more)"
    return text
