"""Keyring parsing, the local key provider, and the keyring file."""

from __future__ import annotations

import base64
import copy
import os
import pickle
import stat
import threading
from pathlib import Path

import pytest
from pydantic import SecretStr

from modelgate.keys.crypto import KeyBinding, decrypt_key, encrypt_key
from modelgate.keys.keyring import (
    KeyNotFound,
    KeyringError,
    LocalKeyring,
    UnwrapError,
    generate_keyring_spec,
    load_or_create_keyring_file,
    parse_keyring,
)

# Recognisable key bytes, so a leak of them in any encoding shows up.
CANARY_KEY = b"CANARY-KEY-MATERIAL-0123456789ab"
CANARY_B64 = base64.b64encode(CANARY_KEY).decode()
CANARY_URLSAFE = base64.urlsafe_b64encode(CANARY_KEY).decode().rstrip("=")
LEAKS = (CANARY_B64, CANARY_B64[:16], CANARY_KEY.hex(), CANARY_KEY.decode(), CANARY_URLSAFE)
BINDING = KeyBinding("t_1", "openai", None)


def assert_no_leak(text: str) -> None:
    for leak in LEAKS:
        assert leak not in text


def test_parse_one_key() -> None:
    ring = parse_keyring(f"main:{CANARY_B64}")
    assert ring.primary_key_id == "main"
    assert ring.key_ids == ("main",)
    assert ring.has_key("main") and not ring.has_key("other")


def test_parse_several_keys_first_is_primary() -> None:
    other = base64.b64encode(bytes(32)).decode()
    ring = parse_keyring(f" new:{other} , old:{CANARY_B64} ")
    assert ring.primary_key_id == "new"
    assert ring.key_ids == ("new", "old")


def test_parse_accepts_urlsafe_unpadded_and_secretstr() -> None:
    ring = parse_keyring(SecretStr(f"k1:{CANARY_URLSAFE}"))
    assert ring.key_ids == ("k1",)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (CANARY_B64, "not of the form ID:BASE64KEY"),  # a bare key, no id
        (f":{CANARY_B64}", "not of the form"),
        ("k1:", "not of the form"),
        (f"k1:{CANARY_B64},", "entry 2 of 2 is empty"),
        (f"k1:{CANARY_B64},,k2:{CANARY_B64}", "entry 2 of 3 is empty"),
        (f"k1:{CANARY_B64}!!", "not valid base64"),
        (f"k1:{CANARY_B64[:-4]}", "decodes to 30 bytes"),
        (f"k1:{base64.b64encode(CANARY_KEY + b'x').decode()}", "decodes to 33 bytes"),
        (f"k1:{CANARY_B64},k1:{base64.b64encode(bytes(32)).decode()}", "entries 1 and 2"),
        (f"bad id:{CANARY_B64}", "invalid key id"),
        (f"{CANARY_B64}:{CANARY_B64}", "invalid key id"),  # key pasted as the id
        (f"{'x' * 65}:{CANARY_B64}", "invalid key id"),
    ],
    ids=lambda value: "",  # keep the canary out of test ids and reports
)
def test_parse_errors_are_one_clear_line_without_key_material(spec: str, expected: str) -> None:
    with pytest.raises(KeyringError) as info:
        parse_keyring(spec)
    message = str(info.value)
    assert expected in message
    assert "\n" not in message
    assert_no_leak(message)
    assert_no_leak(repr(info.value))
    # Nothing chained that could carry the input into a traceback.
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__


def test_keyring_error_is_a_value_error() -> None:
    assert issubclass(KeyringError, ValueError)


def test_local_keyring_repr_shows_no_key_material() -> None:
    ring = parse_keyring(f"main:{CANARY_B64}")
    shown = (repr(ring), str(ring), f"{ring}", repr([ring]), repr(vars_or_slots(ring)))
    for text in shown:
        assert_no_leak(text)
    assert "main" in repr(ring) and "***" in repr(ring)


def vars_or_slots(ring: LocalKeyring) -> dict[str, object]:
    return {name: getattr(ring, name) for name in type(ring).__slots__}


def test_local_keyring_cannot_be_pickled_or_copied() -> None:
    ring = parse_keyring(f"main:{CANARY_B64}")
    with pytest.raises(TypeError):
        pickle.dumps(ring)
    with pytest.raises(TypeError):
        copy.deepcopy(ring)


def test_local_keyring_validates_directly() -> None:
    with pytest.raises(KeyringError):
        LocalKeyring([])
    with pytest.raises(KeyringError):
        LocalKeyring([("k", b"short")])
    with pytest.raises(KeyringError):
        LocalKeyring([("k", bytes(32)), ("k", bytes(32))])


def test_wrap_unwrap_and_failures() -> None:
    ring = parse_keyring(f"main:{CANARY_B64}")
    data_key = os.urandom(32)
    key_id, wrapped = ring.wrap(data_key, b"context")
    assert key_id == "main"
    assert len(wrapped) == 12 + 32 + 16
    assert ring.unwrap("main", wrapped, b"context") == data_key
    with pytest.raises(UnwrapError):
        ring.unwrap("main", wrapped, b"other context")
    with pytest.raises(KeyNotFound):
        ring.unwrap("gone", wrapped, b"context")
    with pytest.raises(UnwrapError):
        ring.unwrap("main", wrapped[:20], b"context")


def test_generate_keyring_spec() -> None:
    spec = generate_keyring_spec()
    ring = parse_keyring(spec)
    assert len(ring.key_ids) == 1
    assert generate_keyring_spec() != spec  # fresh key, fresh id
    named = generate_keyring_spec("k2026")
    assert parse_keyring(named).primary_key_id == "k2026"
    with pytest.raises(KeyringError):
        generate_keyring_spec("no:colons")
    # A generated spec is directly usable, and as the new head of a rotation.
    rotated = parse_keyring(f"{named},{spec}")
    blob = encrypt_key(parse_keyring(spec), "sk-1", BINDING)
    assert decrypt_key(rotated, blob, BINDING).get_secret_value() == "sk-1"


def test_keyring_file_created_owner_only_and_reread(tmp_path: Path) -> None:
    path = tmp_path / "modelgate.keyring"
    old_umask = os.umask(0)  # even a permissive umask must not widen the file
    try:
        spec, created = load_or_create_keyring_file(path)
    finally:
        os.umask(old_umask)
    assert created
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    parse_keyring(spec)
    again, created_again = load_or_create_keyring_file(path)
    assert (again, created_again) == (spec, False)


def test_keyring_file_racing_creators_agree(tmp_path: Path) -> None:
    path = tmp_path / "race.keyring"
    results: list[tuple[str, bool]] = []
    threads = [
        threading.Thread(target=lambda: results.append(load_or_create_keyring_file(path)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({spec for spec, _ in results}) == 1
    assert sum(created for _, created in results) == 1


def test_keyring_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "loose.keyring"
    path.write_text(f"k1:{CANARY_B64}\n")
    path.chmod(0o644)
    with pytest.raises(KeyringError) as info:
        load_or_create_keyring_file(path)
    assert "chmod 600" in str(info.value)
    assert_no_leak(str(info.value))


def test_keyring_file_with_bad_content_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.keyring"
    path.write_text(f"k1:{CANARY_B64[:-4]}\n")
    path.chmod(0o600)
    with pytest.raises(KeyringError) as info:
        load_or_create_keyring_file(path)
    assert str(path) in str(info.value) and "30 bytes" in str(info.value)
    assert_no_leak(str(info.value))


def test_empty_keyring_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.keyring"
    path.touch(mode=0o600)
    with pytest.raises(KeyringError, match="is empty"):
        load_or_create_keyring_file(path)


def test_keyring_file_in_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="cannot create keyring file"):
        load_or_create_keyring_file(tmp_path / "nope" / "k.keyring")


def test_keyring_file_never_follows_a_planted_symlink(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    link = tmp_path / "planted.keyring"
    link.symlink_to(target)  # dangling: O_EXCL must refuse to create through it
    with pytest.raises(KeyringError):
        load_or_create_keyring_file(link)
    assert not target.exists()
