"""Envelope encryption: round trips, bindings, tampering, rotation, and no leaks."""

from __future__ import annotations

import base64

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from modelgate.errors import KeyUnavailable
from modelgate.keys.crypto import (
    KeyBinding,
    blob_key_id,
    decrypt_key,
    encrypt_key,
    rewrap,
)
from modelgate.keys.keyring import KeyProvider, LocalKeyring, parse_keyring

KEY_A = bytes(range(32))
KEY_B = bytes(range(100, 132))
SPEC_A = "a:" + base64.b64encode(KEY_A).decode()
SPEC_B = "b:" + base64.b64encode(KEY_B).decode()
RING_A = parse_keyring(SPEC_A)
BINDING = KeyBinding(tenant_id="t_1", provider="openai", base_url=None)
CANARY = "sk-CANARY-7f3a9c1e5b"

texts = st.text(max_size=200)
base_urls = st.none() | st.text(max_size=40)
bindings = st.builds(KeyBinding, tenant_id=st.text(max_size=20), provider=texts, base_url=base_urls)


def test_round_trip() -> None:
    blob = encrypt_key(RING_A, "sk-test-123", BINDING)
    secret = decrypt_key(RING_A, blob, BINDING)
    assert isinstance(secret, SecretStr)
    assert secret.get_secret_value() == "sk-test-123"


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(plaintext=st.text(), binding=bindings)
def test_round_trip_any_text(plaintext: str, binding: KeyBinding) -> None:
    blob = encrypt_key(RING_A, plaintext, binding)
    assert decrypt_key(RING_A, blob, binding).get_secret_value() == plaintext


@settings(max_examples=300)
@given(plaintext=texts, original=bindings, other=bindings)
def test_any_other_binding_fails(plaintext: str, original: KeyBinding, other: KeyBinding) -> None:
    blob = encrypt_key(RING_A, plaintext, original)
    if other == original:
        assert decrypt_key(RING_A, blob, other).get_secret_value() == plaintext
        return
    with pytest.raises(KeyUnavailable):
        decrypt_key(RING_A, blob, other)


@pytest.mark.parametrize(
    "other",
    [
        KeyBinding("t_2", "openai", None),  # copied to another tenant
        KeyBinding("t_1", "anthropic", None),  # or another provider
        KeyBinding("t_1", "openai", ""),  # None and "" are not the same
        KeyBinding("t_1", "openai", "https://evil.example"),  # edited to point elsewhere
        KeyBinding("t_1openai", "", None),  # fields cannot slide into each other
        KeyBinding("t_", "1openai", None),
    ],
)
def test_moved_or_edited_row_fails(other: KeyBinding) -> None:
    blob = encrypt_key(RING_A, CANARY, BINDING)
    with pytest.raises(KeyUnavailable) as info:
        decrypt_key(RING_A, blob, other)
    assert CANARY not in str(info.value)
    assert "set it again" in info.value.message


def test_empty_base_url_is_not_none() -> None:
    blob = encrypt_key(RING_A, "k", KeyBinding("t", "p", ""))
    with pytest.raises(KeyUnavailable):
        decrypt_key(RING_A, blob, KeyBinding("t", "p", None))
    assert decrypt_key(RING_A, blob, KeyBinding("t", "p", "")).get_secret_value() == "k"


@settings(max_examples=300)
@given(plaintext=texts, data=st.data())
def test_flipping_any_bit_fails(plaintext: str, data: st.DataObject) -> None:
    blob = encrypt_key(RING_A, plaintext, BINDING)
    bit = data.draw(st.integers(0, len(blob) * 8 - 1))
    tampered = bytearray(blob)
    tampered[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(KeyUnavailable):
        decrypt_key(RING_A, bytes(tampered), BINDING)


def test_flipping_every_bit_of_one_blob_fails() -> None:
    blob = encrypt_key(RING_A, CANARY, BINDING)
    for bit in range(len(blob) * 8):
        tampered = bytearray(blob)
        tampered[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(KeyUnavailable):
            decrypt_key(RING_A, bytes(tampered), BINDING)


@settings(max_examples=200)
@given(cut=st.integers(0, 200), extra=st.binary(max_size=8))
def test_truncated_or_extended_blob_fails(cut: int, extra: bytes) -> None:
    blob = encrypt_key(RING_A, "sk-abc", BINDING)
    for mangled in (blob[: cut % len(blob)], blob + extra if extra else b""):
        with pytest.raises(KeyUnavailable):
            decrypt_key(RING_A, mangled, BINDING)


@given(garbage=st.binary(max_size=300))
def test_garbage_fails_cleanly(garbage: bytes) -> None:
    with pytest.raises(KeyUnavailable):
        decrypt_key(RING_A, garbage, BINDING)


def test_driver_buffer_types_are_accepted() -> None:
    blob = encrypt_key(RING_A, "sk-abc", BINDING)
    for value in (bytearray(blob), memoryview(blob)):
        opened = decrypt_key(RING_A, value, BINDING)  # type: ignore[arg-type]
        assert opened.get_secret_value() == "sk-abc"


def fields(blob: bytes) -> tuple[str, bytes, bytes, bytes]:
    """(key id, wrapped data key, nonce, sealed), read per the documented format."""
    id_end = 2 + blob[1]
    wrap_end = id_end + 2 + int.from_bytes(blob[id_end : id_end + 2], "big")
    return (
        blob[2:id_end].decode(),
        blob[id_end + 2 : wrap_end],
        blob[wrap_end : wrap_end + 12],
        blob[wrap_end + 12 :],
    )


def test_two_encryptions_differ() -> None:
    first = fields(encrypt_key(RING_A, "sk-same", BINDING))
    second = fields(encrypt_key(RING_A, "sk-same", BINDING))
    # A fresh data key (so a different wrapped key) and a fresh nonce.
    assert first[1] != second[1]
    assert first[2] != second[2]
    assert first[3] != second[3]


def test_blob_layout_and_key_id() -> None:
    blob = encrypt_key(RING_A, "sk-x", BINDING)
    assert blob[0] == 1  # format version
    assert blob[1] == 1 and blob[2:3] == b"a"  # key id, length-prefixed
    assert blob_key_id(blob) == "a"
    with pytest.raises(KeyUnavailable):
        blob_key_id(b"\x02garbage")


def test_rotation() -> None:
    blob = encrypt_key(RING_A, CANARY, BINDING)
    assert blob_key_id(blob) == "a"
    both = parse_keyring(f"{SPEC_B},{SPEC_A}")
    assert decrypt_key(both, blob, BINDING).get_secret_value() == CANARY
    rotated = rewrap(both, blob, BINDING)
    assert blob_key_id(rotated) == "b"
    # Only the wrapping changed: the sealed payload (nonce and ciphertext) is the same.
    assert fields(rotated)[2:] == fields(blob)[2:]
    assert fields(rotated)[1] != fields(blob)[1]
    only_b = parse_keyring(SPEC_B)
    assert decrypt_key(only_b, rotated, BINDING).get_secret_value() == CANARY
    with pytest.raises(KeyUnavailable):
        decrypt_key(RING_A, rotated, BINDING)


def test_rewrap_refuses_a_blob_that_does_not_open() -> None:
    both = parse_keyring(f"{SPEC_B},{SPEC_A}")
    blob = encrypt_key(RING_A, "sk-x", BINDING)
    with pytest.raises(KeyUnavailable):
        rewrap(both, blob, KeyBinding("t_2", "openai", None))
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    with pytest.raises(KeyUnavailable):
        rewrap(both, bytes(tampered), BINDING)


def test_missing_key_id_affects_only_that_row() -> None:
    old_row = encrypt_key(RING_A, "sk-old", BINDING)
    ring_b = parse_keyring(SPEC_B)
    new_row = encrypt_key(ring_b, "sk-new", BINDING)
    with pytest.raises(KeyUnavailable) as info:
        decrypt_key(ring_b, old_row, BINDING)
    assert "'openai'" in info.value.message and "set it again" in info.value.message
    assert info.value.code == "key_unavailable"
    assert decrypt_key(ring_b, new_row, BINDING).get_secret_value() == "sk-new"
    with pytest.raises(KeyUnavailable):
        rewrap(ring_b, old_row, BINDING)


def test_relabelled_key_id_fails_even_with_same_key_bytes() -> None:
    twin = LocalKeyring([("a", KEY_A), ("z", KEY_A)])
    blob = encrypt_key(twin, "sk-x", BINDING)
    relabelled = blob[:2] + b"z" + blob[3:]
    with pytest.raises(KeyUnavailable):
        decrypt_key(twin, relabelled, BINDING)


def test_secret_and_errors_do_not_show_the_key() -> None:
    blob = encrypt_key(RING_A, CANARY, BINDING)
    secret = decrypt_key(RING_A, blob, BINDING)
    for shown in (repr(secret), str(secret), f"{secret}", f"{secret!r}"):
        assert CANARY not in shown
    assert CANARY.encode() not in blob
    with pytest.raises(KeyUnavailable) as info:
        decrypt_key(RING_A, blob, KeyBinding("t_9", "openai", None))
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert CANARY not in repr(info.value) and CANARY not in str(info.value.body())


def test_unpaired_surrogate_is_refused_without_echo() -> None:
    with pytest.raises(ValueError) as info:
        encrypt_key(RING_A, "sk-\ud800-secret", BINDING)
    assert "secret" not in str(info.value)


class FakeKms:
    """Stands in for a KMS or Vault transit backend: only the protocol is used."""

    primary_key_id = "kms-1"

    def __init__(self, fail_with: Exception | None = None) -> None:
        self.fail_with = fail_with
        self.contexts: list[bytes] = []

    def has_key(self, key_id: str) -> bool:
        return key_id == "kms-1"

    def wrap(self, data_key: bytes, aad: bytes) -> tuple[str, bytes]:
        self.contexts.append(aad)
        return "kms-1", bytes(b ^ 0x5A for b in data_key) + aad[:8]

    def unwrap(self, key_id: str, wrapped: bytes, aad: bytes) -> bytes:
        if self.fail_with is not None:
            raise self.fail_with
        self.contexts.append(aad)
        return bytes(b ^ 0x5A for b in wrapped[:32])


def test_another_key_provider_fits_the_protocol() -> None:
    kms = FakeKms()
    assert isinstance(kms, KeyProvider) and isinstance(RING_A, KeyProvider)
    blob = encrypt_key(kms, "sk-kms", BINDING)
    assert blob_key_id(blob) == "kms-1"
    assert decrypt_key(kms, blob, BINDING).get_secret_value() == "sk-kms"
    # The provider gets the binding as its context (a KMS encryption context).
    assert kms.contexts[0] == kms.contexts[1] == BINDING.associated_data()


def test_transient_provider_failure_is_not_reported_as_a_lost_key() -> None:
    blob = encrypt_key(FakeKms(), "sk-kms", BINDING)
    with pytest.raises(ConnectionError):
        decrypt_key(FakeKms(fail_with=ConnectionError("kms down")), blob, BINDING)


@settings(max_examples=300)
@given(first=bindings, second=bindings)
def test_associated_data_is_injective(first: KeyBinding, second: KeyBinding) -> None:
    assert (first.associated_data() == second.associated_data()) == (first == second)
