"""LiteLLM's proxy as a benchmark peer: installed on first use into its own cached
virtual environment at a pinned version, configured to send one model to the fake.

Its own venv, because its dependency pins would fight modelgate's. No database
(LiteLLM then keeps everything in memory). LiteLLM 1.106 refuses to start without
a master key, so it gets one and the load sends it, the way modelgate gets a token.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

VERSION = "1.106.2"
CACHE = Path(__file__).parent / ".cache"
VENV = CACHE / "litellm-venv"
MASTER_KEY = "sk-bench-master-0123456789abcdef0123456789"


class Unavailable(RuntimeError):
    """LiteLLM could not be installed or started; the run goes on without it."""


def ensure_installed(log: Path = CACHE / "litellm-install.log") -> Path:
    """The venv's ``litellm`` executable, installing ``litellm[proxy]==VERSION`` first if
    the venv lacks it (a marker file names the version installed)."""
    marker = VENV / f".installed-{VERSION}"
    executable = VENV / "bin" / "litellm"
    if marker.exists() and executable.exists():
        return executable
    CACHE.mkdir(parents=True, exist_ok=True)
    print(f"installing litellm[proxy]=={VERSION} into {VENV} (first use)…", flush=True)
    with log.open("ab") as out:
        steps = [
            [sys.executable, "-m", "venv", str(VENV)],
            [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
            [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet",
             f"litellm[proxy]=={VERSION}"],
        ]
        for step in steps:
            try:
                subprocess.run(step, stdout=out, stderr=subprocess.STDOUT, check=True, timeout=900)
            except (subprocess.SubprocessError, OSError) as exc:
                failed = " ".join(step[-2:])
                raise Unavailable(f"install failed ({failed}): {exc}; see {log}") from None
    if not executable.exists():
        raise Unavailable(f"no litellm executable in {VENV} after install")
    marker.touch()
    return executable


def write_config(path: Path, upstream: str, model: str) -> Path:
    # YAML by hand: the values are ours, and the bench venv has no YAML library.
    path.write_text(
        "model_list:\n"
        f"  - model_name: {model}\n"
        "    litellm_params:\n"
        f"      model: openai/{model}\n"
        f"      api_base: {upstream}/v1\n"
        "      api_key: sk-bench-upstream-key\n"
        "litellm_settings:\n"
        "  drop_params: true\n"
        "general_settings:\n"
        f"  master_key: {MASTER_KEY}\n"
    )
    return path


def command(executable: Path, config: Path, port: int, workers: int) -> list[str]:
    return [
        str(executable), "--config", str(config), "--host", "127.0.0.1",
        "--port", str(port), "--num_workers", str(workers),
    ]


ENV: dict[str, str | None] = {
    # Read the bundled price map instead of fetching it from GitHub at start-up.
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_MASTER_KEY": MASTER_KEY,
    "DATABASE_URL": None,  # no database, whatever the shell has
}
