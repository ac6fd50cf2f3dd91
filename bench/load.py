"""One load run against one target: wrk when it is installed, else ``loadgen.py``.

Both are closed loops with keep-alive connections, run as a separate process (so
their CPU is never counted as the server's) for a bounded time against 127.0.0.1.
The result is the same either way: calls, errors, calls per second, p50 and p99,
and the load generator's own CPU (``client_cpu_s``: it shares the machine's cores
with the servers, so a scaling run must count it). loadgen also gives the time to
the first byte of each answer's body (``ttfb_p50_ms``; wrk: None). wrk judges a
call by its status only; loadgen also checks that a stream ends with
``data: [DONE]``.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

LOADGEN = Path(__file__).with_name("loadgen.py")

# wrk's Lua hook: the body and headers of every call, and one JSON line at the end.
_WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
{headers}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {{"requests":%d,"duration_us":%d,"errors":%d,"non_2xx":%d,' ..
    '"p50_us":%d,"p99_us":%d}}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout,
    e.status, latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass(frozen=True)
class Load:
    url: str  # http://127.0.0.1:PORT/v1/chat/completions
    body: bytes
    headers: dict[str, str]
    concurrency: int
    duration: float
    stream: bool


def tool() -> str:
    return "wrk" if shutil.which("wrk") else "loadgen"


def run(load: Load, *, use: str | None = None) -> dict:
    """``{"requests", "errors", "rps", "p50_ms", "p99_ms", "ttfb_p50_ms", "duration_s",
    "client_cpu_s"}``."""
    if not load.url.startswith("http://127.0.0.1:"):
        raise ValueError("load is only ever sent to 127.0.0.1")
    before = _children_cpu()
    result = _wrk(load) if (use or tool()) == "wrk" else _loadgen(load)
    # The generator is a child that has been waited for: its whole CPU is counted here.
    result["client_cpu_s"] = round(_children_cpu() - before, 3)
    return result


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal here


def _wrk(load: Load) -> dict:
    headers = "\n".join(
        f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}"
        for name, value in load.headers.items()
    )
    script = _WRK_SCRIPT.format(body=_lua_string(load.body.decode()), headers=headers)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        argv = [
            "wrk", f"-t{min(2, load.concurrency)}", f"-c{load.concurrency}",
            f"-d{max(1, round(load.duration))}s", "--timeout", "30s",
            "-s", handle.name, load.url,
        ]
        out = subprocess.run(
            argv, capture_output=True, text=True, timeout=load.duration + 60, check=False
        )
    finally:
        Path(handle.name).unlink(missing_ok=True)
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result: {out.stdout[-500:]} {out.stderr[-500:]}")
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    seconds = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "errors": raw["errors"] + raw["non_2xx"],
        "duration_s": round(seconds, 3),
        "rps": round(raw["requests"] / seconds, 1) if seconds else 0.0,
        "p50_ms": round(raw["p50_us"] / 1000, 3),
        "p99_ms": round(raw["p99_us"] / 1000, 3),
        "ttfb_p50_ms": None,
    }


def _loadgen(load: Load) -> dict:
    argv = [
        sys.executable, str(LOADGEN), load.url, "--body", load.body.decode(),
        "-c", str(load.concurrency), "-d", str(load.duration),
        *(arg for name, value in load.headers.items() for arg in ("--header", f"{name}: {value}")),
        *(["--stream"] if load.stream else []),
    ]
    out = subprocess.run(
        argv, capture_output=True, text=True, timeout=load.duration + 60, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"loadgen failed: {out.stderr[-800:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])
