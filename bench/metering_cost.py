"""What usage metering costs per call, in CPU µs: the chat path's metering work,
run in one process, with metering and without, in one run (issue 13, item 7).

    python bench/metering_cost.py [--calls 100000] [--postgres URL | --sqlite]

Per call, "metered" does what ``chat/router.py`` does for a call: ``CallMeter.open``,
``requested``, ``settle`` (a priced catalog model, hosted: pricing and credits run),
``sent``, then the answer (``answered`` for a plain call; for a stream, the 10
events of the benchmark's fake upstream relayed through ``stream_tap.metered``,
the last one carrying usage, which the tap reads and strips), and
``UsageSink.finish``: the Prometheus updates and the recorder's buffer. The
recorder is real and running: its background task writes every event to a
throwaway database (an SQLite file, or a fresh PostgreSQL database) in batches
while the calls go on, and the measurement ends only after ``close()`` has
written the last one, so the cost of writing is in the figure.

"Unmetered" runs the same loop without any of it: for a stream, the same 10
events relayed through the same async generator. The difference, over ``--calls``
calls of each kind, is metering's CPU per call. CPU is ``time.process_time()``:
every thread of this process (aiosqlite's writer thread included; with PostgreSQL
the server's own CPU is another process, as it is for the gateway in bench/run.py).

Each call also yields to the event loop once (``asyncio.sleep(0)``), in both
loops, so that the recorder's writer runs between calls as it does in the gateway.
The last line is machine-readable:

    plain_us=A stream_us=B plain_unmetered_us=C stream_unmetered_us=D
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import uvloop
from fake_upstream import completion_body, stream_events
from seed import DEFAULT_POSTGRES, _admin

from modelgate import migrate
from modelgate.catalog import load_catalog
from modelgate.config import load_settings
from modelgate.db import create_engine
from modelgate.logs import request_id_var
from modelgate.metering.meter import CallMeter
from modelgate.metering.metrics import UsageMetrics
from modelgate.metering.recorder import UsageRecorder
from modelgate.metering.sink import UsageSink
from modelgate.metering.stream_tap import metered
from modelgate.tenants.auth import Principal
from modelgate.tenants.tokens import Scope

MODEL = "gpt-4o"  # priced in the catalog: the cost and credits are computed
CHUNKS = 10  # as bench/run.py's stream_c16
BODY = {"model": MODEL, "messages": [{"role": "user", "content": "Say hello."}],
        "max_tokens": 32}
PRINCIPAL = Principal(
    tenant_id="tn_bench_metering", token_prefix="mg_benchmtr", scopes=frozenset({Scope.RUNS_WRITE}),
    api_version="2026-05-01", hosted_keys_enabled=True,
)


@dataclass
class Figures:
    calls: int
    seconds: float  # CPU

    @property
    def us_per_call(self) -> float:
        return self.seconds * 1e6 / self.calls


async def relay(events: list[bytes]) -> AsyncIterator[bytes]:
    """The adapter's side of a stream: one SSE event at a time."""
    for event in events:
        yield event


class Bench:
    def __init__(self, url: str, calls: int) -> None:
        self.url = url
        self.calls = calls
        self.settings = load_settings(database_url=url)
        self.catalog = load_catalog()
        spec = self.catalog.get(MODEL)
        assert spec is not None and spec.list_price is not None, f"{MODEL} is not priced"
        self.spec = spec
        self.answer = orjson.loads(completion_body())
        self.events = stream_events(CHUNKS)

    async def unmetered(self, stream: bool) -> Figures:
        started = time.process_time()
        for _ in range(self.calls):
            if stream:
                async for _chunk in relay(self.events):
                    pass
            await asyncio.sleep(0)
        return Figures(self.calls, time.process_time() - started)

    async def metered(
        self, stream: bool, calls: int | None = None
    ) -> tuple[Figures, UsageRecorder]:
        calls = calls or self.calls
        engine = create_engine(self.url)
        recorder = UsageRecorder.from_settings(engine, self.settings)
        sink = UsageSink(recorder, UsageMetrics.for_catalog(self.catalog),
                         self.settings.credit_margin)
        try:
            sink.start()
            started = time.process_time()
            for _ in range(calls):
                meter = CallMeter.open(PRINCIPAL, endpoint="chat")
                meter.requested(BODY, stream=stream)
                meter.settle(spec=self.spec, provider="openai", source="hosted")
                meter.sent()
                if stream:
                    async for _chunk in metered(relay(self.events), meter,
                                                client_wants_usage=False):
                        pass
                else:
                    meter.answered(self.answer)
                sink.finish(meter, 200)
                await asyncio.sleep(0)
            await sink.close()  # every event written: their writes are in the figure
            return Figures(calls, time.process_time() - started), recorder
        finally:
            await engine.dispose()


async def measure(url: str, calls: int) -> dict[str, float]:
    request_id_var.set("req_bench_metering")
    bench = Bench(url, calls)
    out: dict[str, float] = {}
    for stream in (False, True):
        kind = "stream" if stream else "plain"
        await bench.metered(stream, calls=min(calls, 5000))  # warm-up: caches, the partition
        off = await bench.unmetered(stream)
        on, recorder = await bench.metered(stream)
        if recorder.dropped or recorder.rejected or recorder.pending:
            raise SystemExit(f"{kind}: events not all written: dropped {recorder.dropped}, "
                             f"rejected {recorder.rejected}, pending {recorder.pending}")
        out[f"{kind}_us"] = round(on.us_per_call - off.us_per_call, 1)
        out[f"{kind}_unmetered_us"] = round(off.us_per_call, 1)
        print(f"{kind:<6} {calls:,} calls: metered {on.us_per_call:.1f} µs/call, unmetered "
              f"{off.us_per_call:.1f} µs/call → metering {out[f'{kind}_us']} µs/call "
              f"({recorder.written:,} events written)", flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100_000, help="calls of each kind")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES,
                        help="PostgreSQL server for the throwaway database")
    parser.add_argument("--sqlite", action="store_true", help="an SQLite file instead")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="modelgate-metering-cost-"))
    name = f"modelgate_metering_{uuid.uuid4().hex[:12]}"
    created = False
    try:
        if args.sqlite:
            url = f"sqlite+aiosqlite:///{workdir / 'usage.db'}"
        else:
            asyncio.run(_admin(args.postgres, f'CREATE DATABASE "{name}"'))
            created = True
            url = f"{args.postgres.rsplit('/', 1)[0]}/{name}"
        migrate.upgrade(url)
        print(f"metering cost: {args.calls:,} calls of each kind, "
              f"{'postgresql' if created else 'sqlite'}, uvloop", flush=True)
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            figures = runner.run(measure(url, args.calls))
        print(" ".join(f"{key}={value}" for key, value in figures.items()))
    finally:
        if created:
            asyncio.run(_admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
