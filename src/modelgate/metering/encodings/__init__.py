"""OpenAI's BPE encodings, shipped in the package: tiktoken with no download.

``tiktoken.get_encoding`` fetches its rank files from the internet on first
use, which a gateway must not depend on (it may have no route out, and a
stalled download would stall the call that needed it). The two rank files we
use are vendored here, gzipped (see NOTICE.md for their source and hashes), and
turned into ``tiktoken.Encoding`` objects by tiktoken's OWN constructors in
``tiktoken_ext.openai_public``: the same split regex, special tokens and
expected sha256, with only the download swapped for a read of our file. So a
tiktoken upgrade that changes an encoding changes ours too, and a rank file that
does not match the hash tiktoken expects is refused.

Each encoding is built once per process, on first use or by ``preload`` (about
a second of CPU for o200k), under a lock so that concurrent first calls build it
once.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import threading
import types
import zlib
from collections.abc import Callable
from importlib import resources
from typing import Any

import tiktoken
from tiktoken_ext import openai_public

# Our name -> tiktoken's constructor for it. Only the encodings whose rank file
# is vendored; o200k_harmony (gpt-oss) shares o200k_base's ranks and differs
# only in special tokens, which counting never uses (see estimate.py).
VENDORED: dict[str, Callable[[], dict[str, Any]]] = {
    "o200k_base": openai_public.o200k_base,
    "cl100k_base": openai_public.cl100k_base,
}

_lock = threading.Lock()
_built: dict[str, tiktoken.Encoding] = {}


class VendoredEncodingError(RuntimeError):
    """A vendored rank file is missing or is not the one tiktoken expects."""


def get(name: str) -> tiktoken.Encoding:
    """The encoding ``name`` (a key of ``VENDORED``), built on first use."""
    encoding = _built.get(name)
    if encoding is not None:
        return encoding
    if name not in VENDORED:
        raise KeyError(f"no vendored encoding named {name!r}")
    with _lock:
        encoding = _built.get(name)
        if encoding is None:
            encoding = tiktoken.Encoding(**_offline(VENDORED[name])())
            _built[name] = encoding
    return encoding


def preload() -> None:
    """Build every vendored encoding now (e.g. in a thread at start-up), so
    that the first estimate does not pay for it."""
    for name in VENDORED:
        get(name)


def _offline(constructor: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """tiktoken's constructor with its module's loaders rebound to local files.

    A copy of the function with its own globals, so nothing shared is patched
    (other code calling tiktoken sees tiktoken unchanged). The data-gym loader
    (GPT-2's format, which we never vendor) is rebound to a refusal so that no
    path can reach the network.
    """
    namespace = {
        **constructor.__globals__,
        "load_tiktoken_bpe": load_vendored_ranks,
        "data_gym_to_mergeable_bpe_ranks": _refuse_download,
    }
    return types.FunctionType(
        constructor.__code__, namespace, constructor.__name__, constructor.__defaults__
    )


def load_vendored_ranks(url: str, expected_hash: str | None = None) -> dict[bytes, int]:
    """``tiktoken.load.load_tiktoken_bpe`` for a vendored file: the file named as
    the URL's last part (plus ``.gz``), checked against tiktoken's expected hash."""
    filename = url.rsplit("/", 1)[-1] + ".gz"
    path = resources.files(__name__).joinpath(filename)
    try:
        contents = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as exc:  # absent, or a truncated or corrupt gzip
        raise VendoredEncodingError(
            f"vendored rank file {filename} is missing or unreadable"
        ) from exc
    actual = hashlib.sha256(contents).hexdigest()
    if expected_hash is not None and actual != expected_hash:
        raise VendoredEncodingError(
            f"vendored rank file {filename} has sha256 {actual}, tiktoken expects {expected_hash}"
        )
    # tiktoken's own format: one "<base64 token> <rank>" per line.
    return {
        base64.b64decode(token): int(rank)
        for token, rank in (line.split() for line in contents.splitlines() if line)
    }


def _refuse_download(**_: object) -> dict[bytes, int]:
    raise VendoredEncodingError("this encoding is not vendored; modelgate never downloads one")
