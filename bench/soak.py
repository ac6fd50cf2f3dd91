"""Bounded soak (issue 6): many calls and many concurrent streams through the real
gateway to a fake upstream that takes 20 ms to answer, on loopback, then it stops.

    python bench/soak.py [--calls 2000 --concurrency 50 --streams 200] [--sqlite]

The calls (closed loop at ``--concurrency``) and the streams (all at once) run at
the same time, so the gateway holds calls + streams upstream connections together.
A call is an error unless it answers 200, and a stream unless it ends with
``data: [DONE]``. Resident memory is the gateway process's VmRSS after a warm-up
and at the end. The last line is machine-readable:

    errors=N p50_ms=X p99_ms=Y rss_warm_mb=A rss_end_mb=B

(p50/p99 of the non-streaming calls). Exit status 1 when any call failed.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

import procs
from loadgen import Outcome, run_load
from seed import DEFAULT_POSTGRES, seeded_database

HERE = Path(__file__).parent
CHAT = b'{"model":"gpt-5.5","messages":[{"role":"user","content":"Say hello."}],"max_tokens":32}'
STREAM = CHAT[:-1] + b',"stream":true}'


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="non-streaming calls")
    parser.add_argument("--concurrency", type=int, default=50, help="of the calls")
    parser.add_argument("--streams", type=int, default=200, help="streams, all concurrent")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="the fake's delay")
    parser.add_argument("--chunks", type=int, default=10, help="events per stream")
    parser.add_argument("--warmup-calls", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=300.0, help="bound on the whole load")
    parser.add_argument("--sqlite", action="store_true", help="SQLite even if PostgreSQL answers")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    return parser.parse_args(argv)


async def load(
    url: str, headers: dict[str, str], args: argparse.Namespace
) -> tuple[Outcome, Outcome]:
    calls, streams = await asyncio.wait_for(
        asyncio.gather(
            run_load(url, CHAT, concurrency=args.concurrency, total=args.calls, headers=headers),
            run_load(url, STREAM, concurrency=args.streams, total=args.streams,
                     headers=headers, stream=True),
        ),
        timeout=args.timeout,
    )
    return calls, streams


def describe(label: str, outcome: Outcome) -> str:
    s = outcome.summary()
    kinds = ", ".join(f"{k}×{n}" for k, n in s["error_kinds"].items()) or "none"
    return (f"{label}: {s['requests']} in {s['duration_s']} s, errors {s['errors']} ({kinds}), "
            f"p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms")


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
            gateway = procs.start(
                "modelgate",
                [str(Path(sys.executable).with_name("modelgate")), "serve",
                 "--host", "127.0.0.1", "--port", str(port)],
                port=port, log_dir=workdir, env=seeded.env, cwd=workdir, ready_path="/readyz",
            )
            try:
                return drive(gateway, seeded.token, seeded.database, args)
            finally:
                gateway.stop()
    finally:
        upstream.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def drive(gateway: procs.Server, token: str, database: str, args: argparse.Namespace) -> int:
    url = f"{gateway.url}/v1/chat/completions"
    headers = {"Authorization": f"Bearer {token}"}
    print(f"soak: modelgate ({database}) ← {args.calls} calls at c={args.concurrency} + "
          f"{args.streams} concurrent streams; upstream latency {args.latency_ms:g} ms", flush=True)
    warm = asyncio.run(run_load(url, CHAT, concurrency=args.concurrency,
                                total=args.warmup_calls, headers=headers))
    rss_warm = procs.rss_mb(gateway.proc.pid)
    print(describe("warm-up", warm) + f"; rss {rss_warm:.1f} MB", flush=True)
    try:
        calls, streams = asyncio.run(load(url, headers, args))
    except TimeoutError:
        print(f"soak: the load did not finish within {args.timeout:g} s", flush=True)
        calls, streams = Outcome(errors=args.calls), Outcome(errors=args.streams)
    rss_end = procs.rss_mb(gateway.proc.pid)
    print(describe("calls", calls), flush=True)
    print(describe("streams", streams), flush=True)
    errors = calls.errors + streams.errors
    if errors:
        print("gateway log (tail):\n" + gateway.log_tail(20), flush=True)
    p50, p99 = calls.percentile_ms(50), calls.percentile_ms(99)
    print(f"errors={errors} p50_ms={p50 or 0:.2f} p99_ms={p99 or 0:.2f} "
          f"rss_warm_mb={rss_warm:.1f} rss_end_mb={rss_end:.1f}", flush=True)
    return 1 if errors else 0


def main() -> None:
    sys.exit(soak(parse_args()))


if __name__ == "__main__":
    main()
