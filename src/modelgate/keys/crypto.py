"""Envelope encryption of tenant provider keys, bound to where they may be used.

Each key is sealed with AES-256-GCM under a fresh random data key; the data key
is wrapped by the keyring's primary key-encryption key (``KeyProvider.wrap``).
Both layers take the same associated data, which encodes the tenant id, the
provider and the ``base_url``: a row copied to another tenant or provider, or
edited to point elsewhere, does not decrypt. Every failure to open a blob is
reported as ``errors.KeyUnavailable`` and the key is never used.

Blob format, version 1 (all lengths big-endian)::

    version   1 byte   0x01
    id_len    1 byte   length of the key id
    key_id    id_len   ASCII, the keyring id that wrapped the data key
    wrap_len  2 bytes  length of the wrapped data key
    wrapped   wrap_len as returned by the KeyProvider (local: nonce || AES-GCM(dek) || tag)
    nonce     12 bytes
    sealed    rest     AES-GCM(plaintext) || 16-byte tag

The header is not itself authenticated, and need not be: the version selects
the associated data, and a changed key id, length, nonce or ciphertext makes
one of the two GCM tags fail.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr

from modelgate.errors import KeyUnavailable
from modelgate.keys.keyring import KeyNotFound, KeyProvider, UnwrapError

__all__ = [
    "FORMAT_VERSION",
    "KeyBinding",
    "blob_key_id",
    "decrypt_key",
    "encrypt_key",
    "rewrap",
]

FORMAT_VERSION = 1
DATA_KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
_AAD_LABEL = "modelgate/provider-key"


@dataclass(frozen=True)
class KeyBinding:
    """What a stored key is bound to; decryption needs exactly the same values."""

    tenant_id: str
    provider: str
    base_url: str | None

    def associated_data(self, version: int = FORMAT_VERSION) -> bytes:
        # A JSON array is an unambiguous encoding: no field can run into the
        # next, and null (no base_url) differs from "" (an empty one).
        # ensure_ascii makes the bytes independent of any text encoding, and
        # the label and version keep these bytes from meaning anything else.
        fields = [_AAD_LABEL, version, self.tenant_id, self.provider, self.base_url]
        return json.dumps(fields, ensure_ascii=True, separators=(",", ":")).encode("ascii")


@dataclass(frozen=True)
class _Blob:
    version: int
    key_id: str
    wrapped: bytes
    nonce: bytes
    sealed: bytes


class _Malformed(Exception):
    pass


def encrypt_key(provider: KeyProvider, plaintext: str, binding: KeyBinding) -> bytes:
    """Seal ``plaintext`` under a fresh data key wrapped by the primary key."""
    try:
        message = plaintext.encode("utf-8")
    except UnicodeEncodeError:
        # The exception would quote part of the key; say what is wrong, not what it was.
        raise ValueError("the key is not valid text (unpaired surrogate)") from None
    aad = binding.associated_data()
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(data_key).encrypt(nonce, message, aad)
    key_id, wrapped = provider.wrap(data_key, aad)
    return _pack(_Blob(FORMAT_VERSION, key_id, wrapped, nonce, sealed))


def decrypt_key(provider: KeyProvider, blob: bytes, binding: KeyBinding) -> SecretStr:
    """Open a blob made by ``encrypt_key`` for exactly this binding, or raise KeyUnavailable."""
    parsed = _parse_or_unavailable(blob, binding)
    data_key = _unwrap(provider, parsed, binding)
    try:
        message = AESGCM(data_key).decrypt(
            parsed.nonce, parsed.sealed, binding.associated_data(parsed.version)
        )
        return SecretStr(message.decode("utf-8"))
    except (InvalidTag, UnicodeDecodeError):
        raise _unavailable(binding) from None


def rewrap(provider: KeyProvider, blob: bytes, binding: KeyBinding) -> bytes:
    """Re-wrap the blob's data key under the primary key id; the sealed key is unchanged.

    The payload is opened first, so a blob that would not decrypt is reported
    (KeyUnavailable) instead of being carried forward under the new key. A blob
    already on the primary id is re-wrapped all the same; callers that count
    rotations compare ``blob_key_id`` with ``provider.primary_key_id`` first.
    """
    parsed = _parse_or_unavailable(blob, binding)
    data_key = _unwrap(provider, parsed, binding)
    aad = binding.associated_data(parsed.version)
    try:
        AESGCM(data_key).decrypt(parsed.nonce, parsed.sealed, aad)
    except InvalidTag:
        raise _unavailable(binding) from None
    key_id, wrapped = provider.wrap(data_key, aad)
    return _pack(_Blob(parsed.version, key_id, wrapped, parsed.nonce, parsed.sealed))


def blob_key_id(blob: bytes) -> str:
    """The keyring id a blob's data key is wrapped under, read without decrypting."""
    try:
        return _parse(blob).key_id
    except _Malformed:
        raise KeyUnavailable("The stored key cannot be read; set it again.") from None


def _unwrap(provider: KeyProvider, parsed: _Blob, binding: KeyBinding) -> bytes:
    # Only UnwrapError means "gone for good"; anything else a remote provider
    # raises (a timeout, say) propagates so that it is not mistaken for a lost key.
    try:
        data_key = provider.unwrap(
            parsed.key_id, parsed.wrapped, binding.associated_data(parsed.version)
        )
    except KeyNotFound:
        raise KeyUnavailable(
            f"The stored key for provider {binding.provider!r} cannot be decrypted "
            "(its encryption key is no longer configured); set it again."
        ) from None
    except UnwrapError:
        raise _unavailable(binding) from None
    if len(data_key) != DATA_KEY_BYTES:
        raise _unavailable(binding)
    return data_key


def _unavailable(binding: KeyBinding) -> KeyUnavailable:
    return KeyUnavailable(
        f"The stored key for provider {binding.provider!r} cannot be decrypted; set it again."
    )


def _pack(blob: _Blob) -> bytes:
    key_id = blob.key_id.encode("ascii")
    if not 0 < len(key_id) < 256 or len(blob.wrapped) >= 1 << 16:
        raise ValueError("the key provider returned an id or wrapped key out of range")
    return b"".join(
        (
            struct.pack(">BB", blob.version, len(key_id)),
            key_id,
            struct.pack(">H", len(blob.wrapped)),
            blob.wrapped,
            blob.nonce,
            blob.sealed,
        )
    )


def _parse_or_unavailable(blob: bytes, binding: KeyBinding) -> _Blob:
    try:
        return _parse(blob)
    except _Malformed:
        raise _unavailable(binding) from None


def _parse(blob: bytes) -> _Blob:
    # Drivers hand back bytes, bytearray or memoryview depending on the backend.
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise _Malformed
    data = bytes(blob)
    if len(data) < 2 or data[0] != FORMAT_VERSION:
        raise _Malformed
    id_end = 2 + data[1]
    if data[1] == 0 or len(data) < id_end + 2:
        raise _Malformed
    try:
        key_id = data[2:id_end].decode("ascii")
    except UnicodeDecodeError:
        raise _Malformed from None
    (wrap_len,) = struct.unpack_from(">H", data, id_end)
    wrap_end = id_end + 2 + wrap_len
    if len(data) < wrap_end + NONCE_BYTES + TAG_BYTES:
        raise _Malformed
    return _Blob(
        version=data[0],
        key_id=key_id,
        wrapped=data[id_end + 2 : wrap_end],
        nonce=data[wrap_end : wrap_end + NONCE_BYTES],
        sealed=data[wrap_end + NONCE_BYTES :],
    )
