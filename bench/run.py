"""The benchmark of issues 7 and 17: the same closed-loop load, in turn, against the
fake upstream itself (``direct``), a minimal FastAPI proxy (``passthrough``, the
floor), modelgate (metering on, tenant limits on Redis), Portkey's gateway and
LiteLLM's proxy, all on 127.0.0.1.

    python bench/run.py [--quick] [--json FILE] [--targets direct,modelgate] ...

For each target and scenario it records calls per second, p50 and p99 latency, the
time to the first streamed byte (stream scenarios), the server's CPU per call
(utime+stime from /proc, its process tree, over the run) and the load generator's.
Every run is bounded in time; every process started here is stopped at the end,
whatever happens (each lives in its own process group).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import http.client
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import load
import procs
import report
import targets
from loadgen import run_load
from seed import DEFAULT_POSTGRES

HERE = Path(__file__).parent
MODEL = "gpt-5.5"
_CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 32}
# name → (concurrency, stream)
SCENARIOS = {
    "chat_c1": (1, False),
    "chat_c16": (16, False),
    "chat_c64": (64, False),
    "stream_c1": (1, True),  # the time to the first streamed byte, without queueing
    "stream_c16": (16, True),
}
STREAM_CHUNKS = 10


def body(stream: bool) -> bytes:
    return json.dumps({**_CHAT, "stream": True} if stream else _CHAT).encode()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 s runs (about 2 minutes in all)")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--duration", type=float, help="seconds per measured run (10; quick: 3)")
    parser.add_argument("--warmup", type=float,
                        help="seconds of unmeasured load first (2; quick: 1)")
    parser.add_argument("--targets", help="comma-separated subset of the targets, in order")
    parser.add_argument("--scenarios", help=f"comma-separated subset of {', '.join(SCENARIOS)}")
    parser.add_argument("--workers", type=int, default=1,
                        help="server processes of modelgate and the passthroughs (and LiteLLM); "
                        "direct and Portkey stay one process")
    parser.add_argument("--floor-transport", choices=("httpx", "aiohttp"), default="aiohttp",
                        help="the passthrough reported as 'passthrough' (default: aiohttp, "
                        "as modelgate uses)")
    parser.add_argument("--postgres", default=os.environ.get("MODELGATE_BENCH_POSTGRES_URL",
                                                             DEFAULT_POSTGRES),
                        help="PostgreSQL server for modelgate's database (SQLite if unreachable)")
    parser.add_argument("--sqlite", action="store_true",
                        help="use SQLite even if PostgreSQL answers")
    parser.add_argument("--metering-calls", type=int, default=100_000,
                        help="calls of each kind for metering_cost.py, run after the targets "
                        "when modelgate is one (0: skip)")
    parser.add_argument("--limits-calls", type=int, default=50_000,
                        help="calls per concurrency for limits_cost.py, run after the targets "
                        "when modelgate is one (0: skip)")
    parser.add_argument("--tool", choices=("wrk", "loadgen"), default=load.tool(),
                        help="load generator (default: wrk when installed)")
    args = parser.parse_args()
    args.duration = args.duration or (3.0 if args.quick else 10.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 2.0)
    return args


def smoke(running: targets.Running) -> str | None:
    """One call must succeed before the target is measured (else it is unavailable).
    Then one stream: None if it succeeds, else why it failed (its stream scenarios
    are then recorded as failed, with that reason, and not run)."""
    import asyncio

    for stream in (False, True):
        outcome = asyncio.run(run_load(running.url, body(stream), concurrency=1, total=2,
                                       headers=running.headers, stream=stream))
        if not outcome.errors:
            continue
        kinds = ", ".join(f"{k}×{n}" for k, n in outcome.error_kinds.items())
        if not stream:
            raise RuntimeError(f"call failed ({kinds}):\n{running.server.log_tail()}")
        seen = probe_stream(running)
        logged = next((found.group(0) for line in running.server.log_tail(60).splitlines()
                       if (found := re.search(r"\w*Error\b.*", line))), None)
        return "; ".join(filter(None, [f"every stream failed ({kinds}): {seen}",
                                       f"server log: {logged[:200]}" if logged else None,
                                       running.stream_failure]))
    return None


def probe_stream(running: targets.Running) -> str:
    """One stream's status and the start of its body, as the target answered it."""
    connection = http.client.HTTPConnection("127.0.0.1", running.server.port, timeout=10)
    try:
        connection.request("POST", targets.CHAT_PATH, body=body(True),
                           headers={"Content-Type": "application/json", **running.headers})
        answer = connection.getresponse()
        head = answer.read(200).decode(errors="replace")
        return f"HTTP {answer.status} {head!r}"
    except OSError as exc:
        return f"no answer ({exc})"
    finally:
        connection.close()


def measure(running: targets.Running, scenario: str, args: argparse.Namespace) -> dict:
    concurrency, stream = SCENARIOS[scenario]
    spec = {"url": running.url, "body": body(stream), "headers": running.headers,
            "concurrency": concurrency, "stream": stream}
    pid = running.server.proc.pid
    if args.warmup > 0:
        load.run(load.Load(duration=args.warmup, **spec), use=args.tool)
        # The calls the warm-up's end cut off finish, and what they started (modelgate's
        # first usage estimate loads a tokenizer: ~0.3 s of CPU, once) is not measured.
        procs.wait_idle(pid)
    before = procs.cpu_by_process(pid)
    result = load.run(load.Load(duration=args.duration, **spec), use=args.tool)
    after = procs.cpu_by_process(pid)
    per_process = {member: after[member] - before.get(member, 0.0) for member in after}
    used = sum(per_process.values())
    calls = result["requests"]
    result["cpu_us_per_req"] = round(used * 1e6 / calls, 1) if calls else None
    # Where the machine's cores went: the server's, and the load generator's (it shares them).
    seconds = result["duration_s"] or args.duration
    result["server_cores"] = round(used / seconds, 2)
    # Each busy process's share (a supervisor's idle CPU left out): are the workers balanced?
    result["process_cores"] = sorted(
        (round(cpu / seconds, 2) for cpu in per_process.values() if cpu / seconds >= 0.02),
        reverse=True)
    result["client_cores"] = round(result["client_cpu_s"] / seconds, 2)
    result["client_cpu_us_per_req"] = (
        round(result["client_cpu_s"] * 1e6 / calls, 1) if calls else None)
    if stream and result.get("ttfb_p50_ms") is None:
        # wrk cannot time the first byte: a short loadgen run at the same concurrency does.
        extra = load.run(load.Load(duration=max(1.0, args.warmup), **spec), use="loadgen")
        result["ttfb_p50_ms"] = extra["ttfb_p50_ms"]
    return result


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text()
                .splitlines() if line.startswith("model name")), platform.processor())
    return {"cores": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
            "python": platform.python_version(), "loadavg_at_start": os.getloadavg()}


def versions() -> dict:
    found = {}
    for name in ("modelgate", "fastapi", "starlette", "uvicorn", "httpx", "httpcore",
                 "httpx-aiohttp", "aiohttp", "uvloop", "httptools"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    found["git"] = git_state()
    if shutil.which("wrk"):
        out = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
        found["wrk"] = (out.stdout + out.stderr).split("[")[0].strip()
    return found


def git_state() -> str | None:
    """The commit measured, with ``+dirty`` when src/ has uncommitted changes (the hot
    path is being optimised while this runs: say which code the figures belong to)."""
    def git(*argv: str) -> str:
        out = subprocess.run(["git", *argv], cwd=HERE.parent, capture_output=True, text=True,
                             check=False)
        return out.stdout.strip() if out.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return None
    return commit + ("+dirty" if git("status", "--porcelain", "--", "src") else "")


def _terminate_on_sigterm() -> None:
    # SIGTERM unwinds like Ctrl-C, so every finally block still stops its servers.
    def handler(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def main() -> int:
    args = parse_args()
    _terminate_on_sigterm()
    registry = targets.registry(args.floor_transport)
    chosen = args.targets.split(",") if args.targets else list(registry)
    scenarios = args.scenarios.split(",") if args.scenarios else list(SCENARIOS)
    for name in chosen:
        if name not in registry:
            sys.exit(f"unknown target {name!r}; known: {', '.join(registry)}")
    for name in scenarios:
        if name not in SCENARIOS:
            sys.exit(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")

    def empty(scenario: str) -> dict:
        stream = SCENARIOS[scenario][1]
        return {k: None for k in report.METRICS if stream or k != "ttfb_p50_ms"}

    results = {s: {t: empty(s) for t in chosen} for s in scenarios}
    runs: dict[str, dict[str, dict]] = {s: {} for s in scenarios}
    meta: dict = {
        "tool": args.tool, "duration_s": args.duration, "warmup_s": args.warmup,
        "quick": args.quick, "workers": args.workers,
        "floor": f"passthrough = FastAPI + httpx.AsyncClient, {args.floor_transport} transport",
        "scenarios": {
            s: {"concurrency": c, "stream": st, "stream_chunks": STREAM_CHUNKS if st else 0}
            for s, (c, st) in SCENARIOS.items() if s in scenarios
        },
        "machine": machine(), "versions": versions(),
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "targets": {}, "unavailable": {}, "failed": {},
    }
    print(f"bench: {args.tool}, {args.duration:g} s per run (+{args.warmup:g} s warm-up), "
          f"{args.workers} worker(s) per proxy, targets {', '.join(chosen)}", flush=True)

    workdir = Path(tempfile.mkdtemp(prefix="modelgate-bench-"))
    try:
        upstream_port = procs.free_port()
        upstream = procs.start(
            "fake-upstream",
            [sys.executable, str(HERE / "fake_upstream.py"), "--port", str(upstream_port),
             "--chunks", str(STREAM_CHUNKS)],
            port=upstream_port, log_dir=workdir,
        )
        try:
            ctx = targets.Context(upstream=upstream, workdir=workdir, workers=args.workers,
                                  postgres=None if args.sqlite else args.postgres)
            for name in chosen:
                run_target(name, registry[name], ctx, scenarios, args, results, runs, meta)
        finally:
            upstream.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    if "modelgate" in chosen and args.metering_calls > 0:
        database = meta["targets"].get("modelgate", {}).get("database")
        meta["metering"] = metering_cost(args, sqlite=args.sqlite or database == "sqlite")
    if "modelgate" in chosen and args.limits_calls > 0:
        meta["limits"] = limits_cost(args)
    meta["runs"] = runs
    meta["goals"] = report.with_verdicts(
        report.goals_17(results, runs) + report.goals(results)
        + report.metering_goals(results, meta.get("metering"))
        + report.limits_goals(results, meta.get("limits")))
    print(report.table(results, runs))
    print(report.goals_text(meta["goals"]))
    print(f"\n(load: {args.tool}; 2 shared cores: client, fake upstream and server compete, "
          "so figures are noisy)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"scenarios": results, "meta": meta}, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


def cost_script(what: str, script: str, options: list[str]) -> tuple[dict, str] | None:
    """Run one in-process cost script (metering_cost.py, limits_cost.py): its last
    line's ``key=value`` figures and its whole output; None (and why) if it failed."""
    done = subprocess.run(
        [sys.executable, str(HERE / script), *options],
        capture_output=True, text=True, timeout=900, check=False, cwd=HERE,
    )
    print(done.stdout.rstrip(), flush=True)
    if done.returncode != 0:
        print(f"   {what} failed: {done.stderr.strip()[-2000:]}", flush=True)
        return None
    last = done.stdout.strip().splitlines()[-1]
    return {key: float(value) for key, value in (item.split("=", 1) for item in last.split())}, \
        done.stdout


def metering_cost(args: argparse.Namespace, *, sqlite: bool) -> dict | None:
    """Metering's CPU per call, metered against unmetered (metering_cost.py), on the
    same database kind as the modelgate target; None (and why) if it failed."""
    print(f"-- metering cost: {args.metering_calls:,} calls of each kind", flush=True)
    database = ["--sqlite"] if sqlite else ["--postgres", args.postgres]
    ran = cost_script("metering cost", "metering_cost.py",
                      ["--calls", str(args.metering_calls), *database])
    if ran is None:
        return None
    figures, output = ran
    figures["calls"] = args.metering_calls
    figures["database"] = "sqlite" if "sqlite" in output.splitlines()[0] else "postgresql"
    return figures


def limits_cost(args: argparse.Namespace) -> dict | None:
    """The limits' CPU per call on Redis, limited against unlimited (limits_cost.py),
    at concurrency 1 and 16; None (and why) if it failed."""
    print(f"-- limits cost: {args.limits_calls:,} calls per concurrency", flush=True)
    ran = cost_script("limits cost", "limits_cost.py",
                      ["--calls", str(args.limits_calls), "--concurrency", "1,16"])
    if ran is None:
        return None
    figures, _ = ran
    figures["calls"] = args.limits_calls
    return figures


def run_target(name, starter, ctx, scenarios, args, results, runs, meta) -> None:
    print(f"-- {name}: starting", flush=True)
    try:
        with starter(ctx) as running:
            meta["targets"][name] = running.notes
            stream_failure = smoke(running)
            for scenario in scenarios:
                if stream_failure and SCENARIOS[scenario][1]:
                    meta["failed"].setdefault(name, {})[scenario] = stream_failure
                    print(f"   {scenario:<11} failed: {stream_failure}", flush=True)
                    continue
                result = measure(running, scenario, args)
                runs[scenario][name] = {k: result.get(k) for k in report.RUN_FIGURES}
                results[scenario][name] = {k: result.get(k) for k in report.METRICS}
                if not SCENARIOS[scenario][1]:
                    results[scenario][name].pop("ttfb_p50_ms")
                ttfb = result.get("ttfb_p50_ms")
                print(f"   {scenario:<11} {result['rps']:>9,.0f} rps  p50 {result['p50_ms']:.2f} ms"
                      f"  p99 {result['p99_ms']:.2f} ms"
                      + (f"  ttfb {ttfb:.2f} ms" if SCENARIOS[scenario][1] and ttfb else "")
                      + f"  cpu {result['cpu_us_per_req']} µs/req"
                      f"  (server {result['server_cores']} {result['process_cores']} + client {result['client_cores']} cores)"
                      f"  errors {result['errors']}", flush=True)
    except Exception as exc:  # noqa: BLE001  any failure of one target must not stop the rest
        # A peer that cannot be installed or started is recorded, and the run goes on.
        reason = str(exc).strip()
        meta["unavailable"][name] = reason
        print(f"   {name} unavailable: {reason}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
