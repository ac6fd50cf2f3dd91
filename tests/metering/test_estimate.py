"""Token estimates: the vendored encodings are tiktoken's own, counts are the
documented ones, and nothing is ever downloaded."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import subprocess
import sys
import textwrap
from importlib import resources
from pathlib import Path

import pytest
import tiktoken

from modelgate.metering import encodings
from modelgate.metering.estimate import (
    TOKENS_PER_IMAGE,
    count_messages,
    count_text,
    estimate_output,
    tokenizer_for,
)

ROOT = Path(__file__).resolve().parents[2]
# Where tiktoken itself would download each file from (tiktoken_ext/openai_public.py).
TIKTOKEN_URLS = {
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
}
SAMPLES = [
    "hello world",
    "tiktoken is great!",
    "antidisestablishmentarianism",
    "2 + 2 = 4",
    "お誕生日おめでとう",
    "def f(x):\n    return {'a': [1, 2, 3]}\n\n\n",
    "Ünïcödé, emoji 🦊 and <|endoftext|> as plain text",
]
# OpenAI cookbook, "How to count tokens with tiktoken": these messages are 129
# prompt tokens for gpt-4-0613 / gpt-3.5-turbo-0613 (cl100k_base) and 124 for
# gpt-4o / gpt-4o-mini (o200k_base), as the OpenAI API reported them.
COOKBOOK_MESSAGES = [
    {"role": "system", "content": "You are a helpful, pattern-following assistant that "
     "translates corporate jargon into plain English."},
    {"role": "system", "name": "example_user",
     "content": "New synergies will help drive top-line growth."},
    {"role": "system", "name": "example_assistant",
     "content": "Things working well together will increase revenue."},
    {"role": "system", "name": "example_user", "content": "Let's circle back when we have more "
     "bandwidth to touch base on opportunities for increased leverage."},
    {"role": "system", "name": "example_assistant",
     "content": "Let's talk later when we're less busy about how to do better."},
    {"role": "user", "content": "This late pivot means we don't have time to boil the ocean for "
     "the client deliverable."},
]


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter, so that nothing is loaded or cached yet."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
    )


# Imported first by every child: any attempt to reach the network fails loudly.
NO_NETWORK = """
import socket
def _refuse(*args, **kwargs):
    raise AssertionError(f"network access attempted: {args[:2]!r}")
socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
socket.create_connection = _refuse
socket.getaddrinfo = _refuse
"""


@pytest.fixture(scope="module")
def tiktoken_own(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tiktoken.Encoding]:
    """tiktoken's own encodings, built by tiktoken's own loader from a cache we
    seed with our files. tiktoken re-downloads a cached file whose sha256 is not
    the one it expects, so in a child with the network forbidden this only
    works if our files are exactly the ones it expects."""
    cache = tmp_path_factory.mktemp("tiktoken-cache")
    for name, url in TIKTOKEN_URLS.items():
        data = gzip.decompress(resources.files(encodings).joinpath(f"{name}.tiktoken.gz").read_bytes())
        (cache / hashlib.sha1(url.encode()).hexdigest()).write_bytes(data)
    result = run_python(
        NO_NETWORK
        + """
import tiktoken
for name in ("o200k_base", "cl100k_base"):
    tiktoken.get_encoding(name)
print("ok")
""",
        TIKTOKEN_CACHE_DIR=str(cache),
        PYTHONPATH=str(ROOT / "src"),
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]
    # Proven offline above; here the same cache serves tiktoken in this process.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
        return {name: tiktoken.get_encoding(name) for name in TIKTOKEN_URLS}


@pytest.mark.parametrize("name", sorted(TIKTOKEN_URLS))
def test_vendored_encodings_are_tiktokens_own(name: str, tiktoken_own: dict[str, tiktoken.Encoding]) -> None:
    ours, theirs = encodings.get(name), tiktoken_own[name]
    assert ours.name == theirs.name == name
    assert ours._pat_str == theirs._pat_str
    assert ours._special_tokens == theirs._special_tokens
    assert ours._mergeable_ranks == theirs._mergeable_ranks
    assert ours.n_vocab == theirs.n_vocab
    for sample in SAMPLES:
        assert ours.encode_ordinary(sample) == theirs.encode_ordinary(sample), sample


def test_a_rank_file_that_tiktoken_does_not_expect_is_refused() -> None:
    with pytest.raises(encodings.VendoredEncodingError, match="sha256"):
        encodings.load_vendored_ranks(TIKTOKEN_URLS["cl100k_base"], expected_hash="0" * 64)
    with pytest.raises(encodings.VendoredEncodingError, match="missing"):
        encodings.load_vendored_ranks("https://example.invalid/r50k_base.tiktoken")


def test_known_counts() -> None:
    # tiktoken's README and tests: "hello world" is [15339, 1917] in cl100k_base;
    # the cookbook: "tiktoken is great!" is [83, 1609, 5963, 374, 2294, 0].
    assert encodings.get("cl100k_base").encode_ordinary("hello world") == [15339, 1917]
    assert count_text("openai", "gpt-4", "hello world") == 2
    assert count_text("openai", "gpt-3.5-turbo", "tiktoken is great!") == 6
    assert count_text("openai", "gpt-4o", "hello world") == 2
    assert count_text("openai", "gpt-4o", "") == 0
    # The cookbook's chat example, counted as the OpenAI API counted it.
    assert count_messages("openai", "gpt-4-0613", COOKBOOK_MESSAGES) == 129
    assert count_messages("openai", "gpt-3.5-turbo", COOKBOOK_MESSAGES) == 129
    assert count_messages("openai", "gpt-4o", COOKBOOK_MESSAGES) == 124
    assert count_messages("openai", "gpt-4o-mini", COOKBOOK_MESSAGES) == 124


def test_o200k_counts_match_tiktoken(tiktoken_own: dict[str, tiktoken.Encoding]) -> None:
    theirs = tiktoken_own["o200k_base"]
    for sample in SAMPLES:
        assert count_text("openai", "gpt-5", sample) == len(theirs.encode_ordinary(sample))
    # CJK: one of the cases where chars/4 is far off and a real BPE is not.
    text = "お誕生日おめでとう" * 50
    assert count_text("anthropic", "claude-sonnet-4-5", text) == len(theirs.encode_ordinary(text))


@pytest.mark.parametrize(
    ("provider", "model", "encoding", "exact"),
    [
        ("openai", "gpt-4o", "o200k_base", True),
        ("openai", "gpt-4o-mini", "o200k_base", True),
        ("openai", "gpt-4.1-nano", "o200k_base", True),
        ("openai", "gpt-5.5", "o200k_base", True),
        ("openai", "o3-pro", "o200k_base", True),
        ("openai", "o1", "o200k_base", True),
        ("openai", "o4-mini-deep-research", "o200k_base", True),
        ("openai", "gpt-4-turbo", "cl100k_base", True),
        ("openai", "gpt-4", "cl100k_base", True),
        ("openai", "gpt-3.5-turbo", "cl100k_base", True),
        ("openai", "text-embedding-3-small", "cl100k_base", True),
        ("openai", "GPT-4o", "o200k_base", True),
        ("groq", "openai/gpt-oss-120b", "o200k_base", True),  # o200k_harmony's ranks
        ("anthropic", "claude-sonnet-4-5", "o200k_base", False),
        ("google", "gemini-2.5-flash", "o200k_base", False),
        ("groq", "meta-llama/llama-3.3-70b-versatile", "o200k_base", False),
        ("openai", "davinci", "o200k_base", False),  # r50k_base: not vendored, the stand-in
        ("openrouter", "some/unknown-model", "o200k_base", False),
    ],
)
def test_tokenizer_choice(provider: str, model: str, encoding: str, exact: bool) -> None:
    chosen = tokenizer_for(provider, model)
    assert (chosen.encoding, chosen.exact) == (encoding, exact)


def test_special_token_text_counts_as_plain_text() -> None:
    # tiktoken's encode() would raise on it; a prompt may contain it and is counted.
    count = count_text("openai", "gpt-4o", "<|endoftext|>")
    assert count > 1


def test_messages_with_parts_names_tools_and_tool_calls() -> None:
    model = "gpt-4o"
    text = "Describe this picture in one word."
    plain = count_messages("openai", model, [{"role": "user", "content": text}])
    assert plain == 3 + count_text("openai", model, "user") + count_text("openai", model, text) + 3
    parts = count_messages(
        "openai",
        model,
        [{"role": "user", "content": [
            {"type": "text", "text": text},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        ]}],
    )
    assert parts == plain + TOKENS_PER_IMAGE
    named = count_messages("openai", model, [{"role": "user", "name": "ann", "content": text}])
    assert named == plain + count_text("openai", model, "ann") + 1
    tool_call = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"x\":1}"}}
    ]}
    assert count_messages("openai", model, [tool_call]) > 3 + 3 + 1
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    with_tools = count_messages("openai", model, [{"role": "user", "content": text}], tools=tools)
    assert with_tools > plain


def test_estimate_output_counts_text_reasoning_and_tool_arguments() -> None:
    model = "deepseek-reasoner"
    counts = estimate_output(
        "deepseek", model, text="The answer is 4.", reasoning="2 plus 2 is 4.",
        tool_arguments=['{"city": "Paris"}'],
    )
    text, reasoning, args = (
        count_text("deepseek", model, "The answer is 4."),
        count_text("deepseek", model, "2 plus 2 is 4."),
        count_text("deepseek", model, '{"city": "Paris"}'),
    )
    assert counts.reasoning_tokens == reasoning > 0
    assert counts.output_tokens == text + reasoning + args
    assert counts.input_tokens == 0
    assert estimate_output("openai", "gpt-4o").output_tokens == 0


def test_no_network_and_one_build_under_concurrent_first_use(tmp_path: Path) -> None:
    """In a fresh process with every socket connect forbidden and tiktoken's
    cache pointed at an empty directory: both encodings load, count, and are
    built once even when eight threads ask for them at the same moment."""
    cache = tmp_path / "empty-cache"
    cache.mkdir()
    result = run_python(
        NO_NETWORK
        + """
import threading
from modelgate.metering import encodings
from modelgate.metering.estimate import count_text
barrier = threading.Barrier(8)
seen = []
def first_use(name):
    barrier.wait()
    seen.append((name, id(encodings.get(name))))
threads = [threading.Thread(target=first_use, args=(n,)) for n in ["o200k_base", "cl100k_base"] * 4]
for t in threads: t.start()
for t in threads: t.join()
assert len({i for n, i in seen if n == "o200k_base"}) == 1, seen
assert len({i for n, i in seen if n == "cl100k_base"}) == 1, seen
print(count_text("openai", "gpt-4", "hello world"), count_text("openai", "gpt-4o", "tiktoken is great!"))
""",
        TIKTOKEN_CACHE_DIR=str(cache),
        PYTHONPATH=str(ROOT / "src"),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["2", str(len(encodings.get("o200k_base").encode_ordinary("tiktoken is great!")))]
    assert list(cache.iterdir()) == []  # tiktoken's download cache never used


def test_a_broken_install_falls_back_to_chars_over_four(tmp_path: Path) -> None:
    """A copy of the package with a truncated rank file: the estimate still
    answers (ceil(chars/4)) and says why in the log, instead of failing the
    recording of the call."""
    package = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "modelgate", package / "modelgate")
    broken = package / "modelgate" / "metering" / "encodings" / "o200k_base.tiktoken.gz"
    broken.write_bytes(broken.read_bytes()[:1000])
    result = run_python(
        NO_NETWORK
        + """
import logging
logging.basicConfig(level=logging.ERROR)
from modelgate.metering.estimate import count_text
print(count_text("openai", "gpt-4o", "x" * 10), count_text("openai", "gpt-4o", "y" * 7))
print(count_text("openai", "gpt-4", "hello world"))
""",
        PYTHONPATH=str(package),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["3", "2", "2"]  # ceil(10/4), ceil(7/4); cl100k intact
    assert result.stderr.count("falls back to chars/4") == 1  # logged once, not per call
