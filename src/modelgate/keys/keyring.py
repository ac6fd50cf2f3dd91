"""The keyring: key-encryption keys that wrap each stored key's data key.

``KeyProvider`` is the seam between envelope encryption and where the
key-encryption keys live. ``LocalKeyring`` keeps them in memory, parsed from
``MODELGATE_ENCRYPTION_KEYS`` (``ID:BASE64,ID:BASE64``; the first wraps, all
unwrap) or from a local keyring file; a KMS or Vault transit backend would
implement the same four members and nothing that calls them would change.

Nothing here ever puts key material into a message, a ``repr`` or an exception.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
import stat
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr

__all__ = [
    "KEY_BYTES",
    "KeyNotFound",
    "KeyProvider",
    "KeyringError",
    "LocalKeyring",
    "UnwrapError",
    "generate_keyring_spec",
    "load_or_create_keyring_file",
    "parse_keyring",
]

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
TAG_BYTES = 16
# Key ids go into every blob and into the `provider_keys.key_id` column
# (String(64)); keeping them to this alphabet also means `:` and `,` can never
# be part of one, and a (padded) base64 key can never be mistaken for an id.
KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# Domain separation: the local KEK only ever encrypts data keys for this format.
_WRAP_LABEL = b"modelgate/local-kek/v1\x00"
# How long a reader waits for a keyring file another process has just created
# (O_EXCL makes it visible before the one write that fills it).
_EMPTY_FILE_RETRIES = 20
_EMPTY_FILE_WAIT = 0.05


class KeyringError(ValueError):
    """The keyring is malformed. The message is one line and never holds key material."""


class UnwrapError(Exception):
    """A wrapped data key cannot be unwrapped: wrong key, wrong context, or tampered.

    Providers raise this (and only this) for failures that retrying will not
    fix; the crypto layer reports them as ``KeyUnavailable``. A transient
    failure of a remote backend (a KMS timeout, say) must raise something else,
    so it is not mistaken for a key that is gone for good.
    """


class KeyNotFound(UnwrapError):
    """The keyring has no key with the id a stored blob names."""


@runtime_checkable
class KeyProvider(Protocol):
    """Wraps and unwraps data keys; the plaintext secret never reaches it."""

    @property
    def primary_key_id(self) -> str:
        """The id that ``wrap`` uses (new keys and rotation go under it)."""
        ...

    def has_key(self, key_id: str) -> bool: ...

    def wrap(self, data_key: bytes, aad: bytes) -> tuple[str, bytes]:
        """Encrypt ``data_key`` under the primary key, bound to ``aad``: (key id, wrapped)."""
        ...

    def unwrap(self, key_id: str, wrapped: bytes, aad: bytes) -> bytes:
        """Return the data key, or raise ``UnwrapError`` (``KeyNotFound`` for an unknown id)."""
        ...


class LocalKeyring:
    """An in-memory ``KeyProvider``: AES-256-GCM key-encryption keys by id.

    Only ``AESGCM`` objects are kept, never the raw bytes as attributes, and
    ``repr``/``str`` list the ids alone, so a keyring that ends up in a log or a
    traceback gives nothing away.
    """

    __slots__ = ("_ciphers", "_primary")

    def __init__(self, keys: Iterable[tuple[str, bytes]]) -> None:
        ciphers: dict[str, AESGCM] = {}
        for key_id, key in keys:
            if not isinstance(key_id, str) or not KEY_ID_PATTERN.fullmatch(key_id):
                raise KeyringError(
                    "invalid key id (use 1-64 letters, digits, '.', '_' or '-')"
                )
            if key_id in ciphers:
                raise KeyringError(f"duplicate key id {key_id!r}")
            if len(key) != KEY_BYTES:
                raise KeyringError(f"key {key_id!r} must be {KEY_BYTES} bytes, not {len(key)}")
            ciphers[key_id] = AESGCM(bytes(key))
        if not ciphers:
            raise KeyringError("the keyring is empty")
        self._ciphers = ciphers
        self._primary = next(iter(ciphers))

    @property
    def primary_key_id(self) -> str:
        return self._primary

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._ciphers)

    def has_key(self, key_id: str) -> bool:
        return key_id in self._ciphers

    def wrap(self, data_key: bytes, aad: bytes) -> tuple[str, bytes]:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self._primary].encrypt(
            nonce, data_key, self._context(self._primary, aad)
        )
        return self._primary, nonce + sealed

    def unwrap(self, key_id: str, wrapped: bytes, aad: bytes) -> bytes:
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise KeyNotFound("the keyring has no key with this id")
        if len(wrapped) < NONCE_BYTES + TAG_BYTES:
            raise UnwrapError("the wrapped data key is truncated")
        nonce, sealed = wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:]
        try:
            return cipher.decrypt(nonce, sealed, self._context(key_id, aad))
        except InvalidTag:
            raise UnwrapError("the wrapped data key does not authenticate") from None

    @staticmethod
    def _context(key_id: str, aad: bytes) -> bytes:
        # Binding the key id too means a blob relabelled to another id (even
        # one holding the same key bytes) does not unwrap.
        encoded_id = key_id.encode("ascii")
        return _WRAP_LABEL + bytes([len(encoded_id)]) + encoded_id + aad

    def __repr__(self) -> str:
        return f"LocalKeyring(key_ids={list(self._ciphers)!r}, keys=***)"

    __str__ = __repr__

    def __reduce__(self) -> object:
        # Pickling would copy key material into caches or queues; refuse.
        raise TypeError("LocalKeyring cannot be pickled")


def parse_keyring(spec: str | SecretStr) -> LocalKeyring:
    """Parse ``ID:BASE64[,ID:BASE64…]`` (32-byte keys; the first one wraps).

    Errors name entries by position, never by content: a mistyped entry may
    well be a key, or a key pasted where the id should be.
    """
    if isinstance(spec, SecretStr):
        spec = spec.get_secret_value()
    if not isinstance(spec, str) or not spec.strip():
        raise KeyringError(
            "the keyring is empty; expected ID:BASE64KEY entries (32-byte keys), comma-separated"
        )
    entries = spec.split(",")
    keys: list[tuple[str, bytes]] = []
    positions: dict[str, int] = {}
    for position, raw in enumerate(entries, start=1):
        entry = raw.strip()
        where = f"keyring entry {position} of {len(entries)}"
        if not entry:
            raise KeyringError(f"{where} is empty (stray comma?)")
        key_id, colon, encoded = entry.partition(":")
        key_id, encoded = key_id.strip(), encoded.strip()
        if not colon or not key_id or not encoded:
            raise KeyringError(f"{where} is not of the form ID:BASE64KEY")
        if not KEY_ID_PATTERN.fullmatch(key_id):
            raise KeyringError(
                f"{where} has an invalid key id (use 1-64 letters, digits, '.', '_' or '-')"
            )
        if key_id in positions:
            raise KeyringError(
                f"keyring entries {positions[key_id]} and {position} have the same key id"
            )
        key = _decode_key(encoded)
        if key is None:
            raise KeyringError(f"{where} is not valid base64")
        if len(key) != KEY_BYTES:
            raise KeyringError(
                f"{where} decodes to {len(key)} bytes; keys must be {KEY_BYTES} bytes (AES-256)"
            )
        positions[key_id] = position
        keys.append((key_id, key))
    return LocalKeyring(keys)


def _decode_key(encoded: str) -> bytes | None:
    # Accept standard and URL-safe alphabets, padded or not (`openssl rand
    # -base64 32` and `secrets.token_urlsafe(32)` both work); reject anything
    # else rather than let b64decode skip stray characters.
    normalised = encoded.replace("-", "+").replace("_", "/")
    normalised += "=" * (-len(normalised) % 4)
    try:
        return base64.b64decode(normalised, validate=True)
    except (binascii.Error, ValueError):
        return None


def generate_keyring_spec(key_id: str | None = None) -> str:
    """A new one-key spec ``ID:BASE64``; the id defaults to a dated, unique one."""
    if key_id is None:
        key_id = f"k{time.strftime('%Y%m%d', time.gmtime())}-{secrets.token_hex(3)}"
    elif not KEY_ID_PATTERN.fullmatch(key_id):
        raise KeyringError("invalid key id (use 1-64 letters, digits, '.', '_' or '-')")
    key = base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")
    return f"{key_id}:{key}"


def load_or_create_keyring_file(path: Path) -> tuple[str, bool]:
    """Read the keyring file at ``path``, or create it; return ``(spec, created)``.

    The file is created with O_CREAT|O_EXCL and mode 0600 in one step, so it is
    never readable by others, even for an instant, and two processes starting
    together cannot both create one (the loser reads the winner's).
    """
    path = Path(path)
    try:
        return _create(path), True
    except FileExistsError:
        pass
    spec = _read_existing(path)
    try:
        parse_keyring(spec)
    except KeyringError as exc:
        raise KeyringError(f"keyring file {path}: {exc}") from None
    return spec, False


def _create(path: Path) -> str:
    spec = generate_keyring_spec()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise
    except OSError as exc:
        raise KeyringError(f"cannot create keyring file {path}: {exc.strerror}") from None
    try:
        if hasattr(os, "fchmod"):
            # The umask can only narrow 0600; this makes it exactly 0600 (an
            # odd umask such as 0277 would leave the owner unable to reread it).
            os.fchmod(fd, 0o600)
        data = (spec + "\n").encode("ascii")
        # One write: a concurrent reader sees either nothing or the whole spec.
        if os.write(fd, data) != len(data):
            raise OSError("short write")
        os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise KeyringError(f"cannot write keyring file {path}: {exc.strerror or exc}") from None
    os.close(fd)
    return spec


def _read_existing(path: Path) -> str:
    for _ in range(_EMPTY_FILE_RETRIES):
        try:
            info = path.stat()
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not a readable text file"
            raise KeyringError(f"cannot read keyring file {path}: {reason}") from None
        if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyringError(
                f"keyring file {path} is accessible by group or others "
                f"(mode {stat.S_IMODE(info.st_mode):04o}); run: chmod 600 {path}"
            )
        if text.strip():
            return text.strip()
        # Just created by another process that has not written it yet.
        time.sleep(_EMPTY_FILE_WAIT)
    raise KeyringError(
        f"keyring file {path} is empty; delete it only if no key was ever stored with it"
    )
