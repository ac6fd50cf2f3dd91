"""Portkey's open-source AI gateway as a benchmark peer (issue 17): installed on first
use with npm into ``bench/.cache/portkey`` at a pinned version, run on Node.

It proxies to the fake through its custom-host header: ``x-portkey-provider:
openai``, ``x-portkey-custom-host: http://127.0.0.1:PORT/v1`` and any bearer token
(it has no keys of its own to check). One Node process: it has no worker option.

Version 1.15.2 on Node 20 answers 500 to every stream (its log: ``TypeError:
immutable`` from undici's ``Headers.append`` in its ``updateHeaders``: it edits the
upstream response's headers, which Node's fetch makes immutable); the benchmark
records its stream scenario as failed with what it saw.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

VERSION = "1.15.2"
PACKAGE = f"@portkey-ai/gateway@{VERSION}"
CACHE = Path(__file__).parent / ".cache"
PREFIX = CACHE / "portkey"
SERVER = PREFIX / "node_modules" / "@portkey-ai" / "gateway" / "build" / "start-server.js"
KNOWN_STREAM_FAILURE = (
    f"Portkey {VERSION} on Node answers 500 to every stream (undici's immutable response "
    "headers: 'TypeError: immutable' in its updateHeaders)"
)


class Unavailable(RuntimeError):
    """Node or npm is missing, or the install failed; the run goes on without it."""


def ensure_installed(log: Path = CACHE / "portkey-install.log") -> tuple[Path, str]:
    """``start-server.js`` of the pinned version, installing it first if needed, and
    the Node version that will run it."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing = " and ".join(name for name, path in (("node", node), ("npm", npm)) if not path)
        raise Unavailable(f"{missing} not found on PATH: Portkey's gateway needs Node and npm")
    marker = PREFIX / f".installed-{VERSION}"
    if not (marker.exists() and SERVER.exists()):
        PREFIX.mkdir(parents=True, exist_ok=True)
        print(f"installing {PACKAGE} into {PREFIX} (first use)…", flush=True)
        step = [npm, "install", "--prefix", str(PREFIX), "--no-audit", "--no-fund",
                "--loglevel=error", PACKAGE]
        with log.open("ab") as out:
            try:
                subprocess.run(step, stdout=out, stderr=subprocess.STDOUT, check=True, timeout=900)
            except (subprocess.SubprocessError, OSError) as exc:
                raise Unavailable(f"npm install {PACKAGE} failed: {exc}; see {log}") from None
        if not SERVER.exists():
            raise Unavailable(f"no {SERVER.name} in {PREFIX} after npm install")
        marker.touch()
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    return SERVER, version.stdout.strip()


def command(server: Path, port: int | str) -> list[str]:
    return [shutil.which("node") or "node", str(server), f"--port={port}"]


def headers(upstream: str) -> dict[str, str]:
    return {
        "Authorization": "Bearer sk-bench-portkey",
        "x-portkey-provider": "openai",
        "x-portkey-custom-host": f"{upstream}/v1",
    }
