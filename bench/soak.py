"""Bounded soak (issues 6 and 12): many calls and many concurrent streams through the
real gateway to a fake upstream that takes 20 ms to answer, on loopback, then it stops.

    python bench/soak.py [--calls 20000 --checkpoint-every 5000 --concurrency 50
                          --streams 200] [--sqlite] [--env MALLOC_ARENA_MAX=2]
                         [--tracemalloc 1] [--trim]

The calls run in segments of ``--checkpoint-every`` (closed loop at ``--concurrency``),
each with ``--streams`` concurrent streams beside it, so every segment is the same
load. A call is an error unless it answers 200, and a stream unless it ends with
``data: [DONE]``. Resident memory is the gateway process's VmRSS after a warm-up and
at each checkpoint (the end of a segment); the growth between the last two
checkpoints shows whether memory still grows once the process is warm. The last
line is machine-readable:

    errors=N p50_ms=X p99_ms=Y rss_warm_mb=A rss_end_mb=B rss_last_growth_pct=C

(p50/p99 of the non-streaming calls). Exit status 1 when any call failed.

``--tracemalloc N`` serves through ``memprobe.py`` (N frames per trace) and prints,
at each checkpoint, the Python-level allocations that grew most since the warm-up.
``--trim`` (also through ``memprobe.py``) asks the gateway, after the last
checkpoint, to collect garbage and ``malloc_trim(0)``, and prints RSS after it: what
that gives back was freed memory the allocator had kept, not live objects.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import procs
from loadgen import Outcome, run_load
from seed import DEFAULT_POSTGRES, seeded_database

HERE = Path(__file__).parent
CHAT = b'{"model":"gpt-5.5","messages":[{"role":"user","content":"Say hello."}],"max_tokens":32}'
STREAM = CHAT[:-1] + b',"stream":true}'
# The soak's one tenant stands for every tenant at once, and its BYOK base_url is the
# fake: the per-tenant and per-host fair shares of custom endpoints (issue 12, item 4)
# would turn most of its load into 429s, so they are lifted to the upstream pool size.
ONE_TENANT_IS_EVERYONE = {
    "MODELGATE_CUSTOM_ENDPOINT_TENANT_CONCURRENCY": "100000",
    "MODELGATE_CUSTOM_ENDPOINT_MAX_PER_HOST": "200",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20000, help="non-streaming calls in all")
    parser.add_argument("--checkpoint-every", type=int, default=5000,
                        help="calls per segment; RSS is read after each")
    parser.add_argument("--concurrency", type=int, default=50, help="of the calls")
    parser.add_argument("--streams", type=int, default=200,
                        help="streams per segment, all concurrent")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="the fake's delay")
    parser.add_argument("--chunks", type=int, default=10, help="events per stream")
    parser.add_argument("--warmup-calls", type=int, default=200)
    parser.add_argument("--warmup-streams", type=int, default=0,
                        help="concurrent streams beside the warm-up calls (its peak concurrency)")
    parser.add_argument("--timeout", type=float, default=600.0, help="bound on the whole load")
    parser.add_argument("--sqlite", action="store_true", help="SQLite even if PostgreSQL answers")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the gateway, e.g. MALLOC_ARENA_MAX=2")
    parser.add_argument("--tracemalloc", type=int, default=0, metavar="FRAMES",
                        help="trace the gateway's Python allocations (slow; not for timings)")
    parser.add_argument("--trim", action="store_true",
                        help="at the end, gc + malloc_trim(0) in the gateway, then RSS again")
    args = parser.parse_args(argv)
    if args.calls <= 0 or args.checkpoint_every <= 0:
        parser.error("--calls and --checkpoint-every must be positive")
    return args


def segments(total: int, every: int) -> list[int]:
    """``total`` calls cut into segments of ``every`` (the last one may be shorter)."""
    return [min(every, total - done) for done in range(0, total, every)]


async def load(
    url: str, headers: dict[str, str], calls: int, args: argparse.Namespace, timeout: float,
    *, streams: int,
) -> tuple[Outcome, Outcome]:
    work = [run_load(url, CHAT, concurrency=args.concurrency, total=calls, headers=headers)]
    if streams:
        work.append(run_load(url, STREAM, concurrency=streams, total=streams,
                             headers=headers, stream=True))
    done = await asyncio.wait_for(asyncio.gather(*work), timeout=max(timeout, 1.0))
    return done[0], done[1] if streams else Outcome()


def merge(into: Outcome, part: Outcome) -> None:
    into.latencies.extend(part.latencies)
    into.errors += part.errors
    for kind, count in part.error_kinds.items():
        into.error_kinds[kind] = into.error_kinds.get(kind, 0) + count
    into.elapsed += part.elapsed


def describe(label: str, outcome: Outcome) -> str:
    s = outcome.summary()
    kinds = ", ".join(f"{k}×{n}" for k, n in s["error_kinds"].items()) or "none"
    return (f"{label}: {s['requests']} in {s['duration_s']} s, errors {s['errors']} ({kinds}), "
            f"p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms")


def gateway_command(args: argparse.Namespace, port: int, probe_dir: Path) -> list[str]:
    serve = ["serve", "--host", "127.0.0.1", "--port", str(port)]
    if args.tracemalloc or args.trim:
        return [sys.executable, str(HERE / "memprobe.py"), str(probe_dir),
                str(args.tracemalloc), *serve]
    return [str(Path(sys.executable).with_name("modelgate")), *serve]


def soak(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="modelgate-soak-"))
    upstream_port = procs.free_port()
    upstream = procs.start(
        "fake-upstream",
        [sys.executable, str(HERE / "fake_upstream.py"), "--port", str(upstream_port),
         "--latency-ms", str(args.latency_ms), "--chunks", str(args.chunks)],
        port=upstream_port, log_dir=workdir,
    )
    try:
        with seeded_database(workdir, upstream.url,
                             postgres=None if args.sqlite else args.postgres) as seeded:
            port = procs.free_port()
            extra = {**ONE_TENANT_IS_EVERYONE, **dict(item.split("=", 1) for item in args.env)}
            gateway = procs.start(
                "modelgate", gateway_command(args, port, workdir),
                port=port, log_dir=workdir, env={**seeded.env, **extra}, cwd=workdir,
                ready_path="/readyz",
            )
            try:
                probe = Snapshots(gateway.proc.pid, workdir, args.tracemalloc)
                return drive(gateway, seeded.token, seeded.database, args, probe)
            finally:
                gateway.stop()
    finally:
        upstream.stop()
        shutil.rmtree(workdir, ignore_errors=True)


class Snapshots:
    """tracemalloc snapshots of the gateway (see memprobe.py), the first as the base."""

    def __init__(self, pid: int, directory: Path, frames: int) -> None:
        self.pid, self.directory, self.frames = pid, directory, frames
        self.signalled = {signal.SIGUSR1: 0, signal.SIGUSR2: 0}
        self.base: tracemalloc.Snapshot | None = None

    def ask(self, sig: signal.Signals, answer: str) -> Path:
        """Signal the gateway and wait for the file it answers with."""
        self.signalled[sig] += 1
        os.kill(self.pid, sig)
        path = self.directory / f"{answer}-{self.signalled[sig]}"
        deadline = time.monotonic() + 60
        while not path.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the gateway wrote no {answer} file")
            time.sleep(0.1)
        return path

    def trim(self) -> float:
        """RSS in MiB after a gc and malloc_trim(0) in the gateway."""
        self.ask(signal.SIGUSR2, "trimmed")
        return procs.rss_mb(self.pid)

    def report(self, top: int = 8) -> str:
        if not self.frames:
            return ""
        snapshot = tracemalloc.Snapshot.load(str(self.ask(signal.SIGUSR1, "snapshot")))
        if self.base is None:
            self.base = snapshot
            total = sum(s.size for s in snapshot.statistics("filename"))
            return f"  python heap (traced) {total / 2**20:.1f} MB"
        diff = snapshot.compare_to(self.base, "lineno")
        total = sum(s.size for s in snapshot.statistics("filename"))
        lines = [f"  python heap (traced) {total / 2**20:.1f} MB; grown most since warm-up:"]
        for stat in diff[:top]:
            where = stat.traceback[0]
            lines.append(f"    {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks  "
                         f"{where.filename.split('site-packages/')[-1]}:{where.lineno}")
        return "\n".join(lines)


def drive(
    gateway: procs.Server, token: str, database: str, args: argparse.Namespace,
    probe: Snapshots | None,
) -> int:
    url = f"{gateway.url}/v1/chat/completions"
    headers = {"Authorization": f"Bearer {token}"}
    env = " ".join(args.env) or "default environment"
    print(f"soak: modelgate ({database}, {env}) ← {args.calls} calls at c={args.concurrency} "
          f"in segments of {args.checkpoint_every}, each with {args.streams} concurrent "
          f"streams; upstream latency {args.latency_ms:g} ms", flush=True)
    warm, _ = asyncio.run(load(url, headers, args.warmup_calls, args, args.timeout,
                               streams=args.warmup_streams))
    rss_warm = procs.rss_mb(gateway.proc.pid)
    print(describe("warm-up", warm) + f"; rss {rss_warm:.1f} MB "
          f"({memory_kinds(gateway.proc.pid)})", flush=True)
    if probe and probe.frames:
        print(probe.report(), flush=True)

    calls, streams = Outcome(), Outcome()
    checkpoints: list[tuple[int, float]] = [(0, rss_warm)]
    deadline = time.monotonic() + args.timeout
    for size in segments(args.calls, args.checkpoint_every):
        try:
            part_calls, part_streams = asyncio.run(
                load(url, headers, size, args, deadline - time.monotonic(), streams=args.streams))
        except TimeoutError:
            print(f"soak: the load did not finish within {args.timeout:g} s", flush=True)
            part_calls, part_streams = Outcome(errors=size), Outcome(errors=args.streams)
        merge(calls, part_calls)
        merge(streams, part_streams)
        rss = procs.rss_mb(gateway.proc.pid)
        done = checkpoints[-1][0] + size
        checkpoints.append((done, rss))
        print(f"checkpoint calls={done} rss_mb={rss:.1f} vs_warm_pct={pct(rss, rss_warm):+.1f} "
              f"{memory_kinds(gateway.proc.pid)} errors={calls.errors + streams.errors}",
              flush=True)
        if probe and probe.frames:
            print(probe.report(), flush=True)
        if part_calls.errors == size:
            break  # the gateway is not answering at all: no point going on

    print(describe("calls", calls), flush=True)
    print(describe("streams", streams), flush=True)
    (before_calls, before), (last_calls, rss_end) = checkpoints[-2], checkpoints[-1]
    growth = pct(rss_end, before)
    print(f"rss growth between the last two checkpoints ({before_calls} → {last_calls} calls): "
          f"{rss_end - before:+.1f} MB ({growth:+.1f}%)", flush=True)
    if args.trim and probe:
        trimmed = probe.trim()
        print(f"after gc + malloc_trim(0): rss {trimmed:.1f} MB "
              f"({trimmed - rss_end:+.1f} MB; {pct(trimmed, rss_warm):+.1f}% vs warm-up)",
              flush=True)
    errors = calls.errors + streams.errors
    if errors:
        print("gateway log (tail):\n" + gateway.log_tail(20), flush=True)
    p50, p99 = calls.percentile_ms(50), calls.percentile_ms(99)
    print(f"errors={errors} p50_ms={p50 or 0:.2f} p99_ms={p99 or 0:.2f} "
          f"rss_warm_mb={rss_warm:.1f} rss_end_mb={rss_end:.1f} "
          f"rss_last_growth_pct={growth:.1f}", flush=True)
    return 1 if errors else 0


def memory_kinds(pid: int) -> str:
    """Of the gateway's resident memory: anonymous (heap, stacks) and file-backed
    (code and data of .so and mapped files, paged in on first use), and its threads."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return "anon_mb=? file_mb=? threads=?"
    kb = {line.split(":")[0]: int(line.split()[1]) for line in rollup if line.endswith(" kB")}
    threads = next(line.split()[1] for line in status if line.startswith("Threads:"))
    return (f"anon_mb={kb.get('Anonymous', 0) / 1024:.1f} "
            f"file_mb={(kb.get('Rss', 0) - kb.get('Anonymous', 0)) / 1024:.1f} threads={threads}")


def pct(value: float, base: float) -> float:
    return (value - base) / base * 100 if base else 0.0


def main() -> None:
    sys.exit(soak(parse_args()))


if __name__ == "__main__":
    main()
