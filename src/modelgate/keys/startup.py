"""Choosing the keyring when the process starts.

``MODELGATE_ENCRYPTION_KEYS`` wins. Without it, an SQLite deployment (the
embedded default) gets a keyring file beside its database, created on first
start with owner-only permissions; any other database refuses to start, since
a generated key there would be lost with the container that made it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from modelgate.config import Settings, SettingsError
from modelgate.keys.keyring import (
    KeyringError,
    LocalKeyring,
    load_or_create_keyring_file,
    parse_keyring,
)


def keyring_path(database_file: Path) -> Path:
    return database_file.with_name(database_file.name + ".keyring")


def load_key_provider(settings: Settings, announce: Callable[[str], None]) -> LocalKeyring:
    if settings.encryption_keys is not None:
        try:
            return parse_keyring(settings.encryption_keys)
        except KeyringError as exc:
            raise SettingsError(f"MODELGATE_ENCRYPTION_KEYS: {exc}") from None
    database_file = settings.sqlite_path
    if database_file is None:
        raise SettingsError(
            "MODELGATE_ENCRYPTION_KEYS is required with a non-SQLite database "
            "(comma-separated ID:BASE64 entries of 32-byte keys)"
        )
    path = keyring_path(database_file.resolve())
    try:
        spec, created = load_or_create_keyring_file(path)
        keyring = parse_keyring(spec)
    except KeyringError as exc:  # already names the file
        raise SettingsError(str(exc)) from None
    except OSError as exc:
        raise SettingsError(f"keyring file {path}: {exc.strerror or exc}") from None
    if created:
        announce(
            f"modelgate: created a local keyring at {path} (owner-only); back it up with the "
            "database, or set MODELGATE_ENCRYPTION_KEYS"
        )
    return keyring
