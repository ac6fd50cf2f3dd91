"""Usage metering in the real ``modelgate serve`` process (issue 13, item 2 and item 5):

- SIGTERM writes every event still in the buffer before the process exits: with
  the longest flush interval (2 s), calls just answered and calls still in flight
  when the signal comes are all in ``usage_events`` once it has exited, each once.
- ``--workers 2``: both workers serve calls, one scrape of ``/metrics`` counts
  every call once (the workers share prometheus_client's multiprocess directory),
  and every call has its one event.

The gateway is a subprocess, as an operator runs it, on each database backend;
its upstream is the loopback fake (OpenAI style, hosted key).
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from modelgate.metering.models import UsageEventRow
from tests.fakes.upstream import FakeUpstream, Script, json_script, openai_answer, run_fake_upstream
from tests.metering.usage_helpers import rollup_requests
from tests.metering.serve_harness import CHAT, serve
from tests.support import SeededTenant

def call(url: str, tenant: SeededTenant, request_id: str, *, stream: bool = False) -> None:
    """One chat call on a fresh connection, answered in full and 200."""
    headers = {**tenant.headers("write"), "x-request-id": request_id}
    body = {**CHAT, "stream": True} if stream else CHAT
    with httpx.Client(timeout=30) as client:
        if stream:
            with client.stream("POST", f"{url}/v1/chat/completions", json=body,
                               headers=headers) as answer:
                text = answer.read().decode()
            assert answer.status_code == 200, text
            assert text.rstrip().endswith("data: [DONE]"), text[-300:]
        else:
            answer = client.post(f"{url}/v1/chat/completions", json=body, headers=headers)
            assert answer.status_code == 200, answer.text
            assert answer.headers["x-request-id"] == request_id


async def recorded_request_ids(engine: AsyncEngine, tenant_id: str) -> list[str]:
    query = select(UsageEventRow.request_id).where(UsageEventRow.tenant_id == tenant_id)
    async with engine.connect() as connection:
        return sorted((await connection.execute(query)).scalars())


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeUpstream]:
    with run_fake_upstream() as fake:
        yield fake


@pytest.fixture
def upstream(fake: FakeUpstream) -> Iterator[FakeUpstream]:
    fake.reset()
    yield fake
    fake.reset()


@pytest.fixture
def workdir() -> Iterator[Path]:
    # Not pytest's tmp_path: a log and a server TMPDIR per test, removed at the end.
    path = Path(tempfile.mkdtemp(prefix="mg-usage-proc-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def test_sigterm_writes_every_buffered_event_once(
    database_url: str, clean_engine: AsyncEngine, tenant: SeededTenant,
    upstream: FakeUpstream, workdir: Path,
) -> None:
    answered, in_flight = 30, 6
    with serve(database_url, upstream.url, workdir, usage_flush_interval=2.0) as served:
        sent = [f"sigterm-{database_url[:6]}-{i}" for i in range(answered + in_flight)]
        # Answered calls, plain and streamed, all ended before the signal…
        await asyncio.to_thread(lambda: [
            call(served.url, tenant, rid, stream=i % 3 == 0)
            for i, rid in enumerate(sent[:answered])
        ])
        # …and calls the upstream is still answering (1 s) when it comes: uvicorn lets
        # them finish, and their events are recorded after the last call has ended.
        upstream.next(*[
            Script(body=json_script(openai_answer("gpt-4o")).body, delay=1.0)
            for _ in range(in_flight)
        ])
        with ThreadPoolExecutor(in_flight) as pool:
            pending = [pool.submit(call, served.url, tenant, rid) for rid in sent[answered:]]
            deadline = time.monotonic() + 10
            while upstream.active < in_flight:
                assert time.monotonic() < deadline, "the slow calls never reached the upstream"
                await asyncio.sleep(0.01)
            status = await asyncio.to_thread(served.terminate)
            for future in pending:
                future.result(timeout=30)  # each answered 200 despite the signal
        assert status in (0, -signal.SIGTERM), served.log_tail()
        assert "events unwritten" not in served.log_path.read_text(), served.log_tail()
    recorded = await recorded_request_ids(clean_engine, tenant.id)
    assert recorded == sorted(sent)  # none lost, none twice
    assert await rollup_requests(clean_engine, tenant.id) == len(sent)


def requests_total(exposition: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == "modelgate_requests_total"
    )


def requests_per_worker(metrics_dir: Path) -> dict[str, float]:
    """modelgate_requests_total as each worker's own counter file holds it."""
    counts: dict[str, float] = {}
    for path in metrics_dir.glob("counter_*.db"):
        alone = Path(tempfile.mkdtemp(prefix="mg-one-worker-"))
        try:
            shutil.copy(path, alone / path.name)
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=str(alone))
            counts[path.stem] = requests_total(generate_latest(registry).decode())
        finally:
            shutil.rmtree(alone, ignore_errors=True)
    return counts


async def test_two_workers_are_each_counted_once_per_scrape(
    database_url: str, clean_engine: AsyncEngine, tenant: SeededTenant,
    upstream: FakeUpstream, workdir: Path,
) -> None:
    with serve(database_url, upstream.url, workdir, workers=2,
               usage_flush_interval=0.2) as served:
        directories = list(served.tmpdir.glob("modelgate-metrics-*"))
        assert len(directories) == 1, "serve --workers 2 made no shared metrics directory"
        metrics_dir = directories[0]
        sent: list[str] = []
        per_worker: dict[str, float] = {}
        # Concurrent calls on fresh connections until both workers have served some
        # (the kernel hands each connection to one of them).
        while len([n for n in per_worker.values() if n > 0]) < 2:
            assert len(sent) < 400, f"one worker served everything: {per_worker}"
            batch = [f"workers-{database_url[:6]}-{len(sent) + i}" for i in range(16)]
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda rid: call(served.url, tenant, rid, stream=rid[-1] == "0"),
                              batch))
            sent += batch
            per_worker = requests_per_worker(metrics_dir)
        assert sum(per_worker.values()) == len(sent)
        scrape = httpx.get(f"{served.url}/metrics", timeout=10)
        assert scrape.status_code == 200, scrape.text
        assert requests_total(scrape.text) == len(sent)  # every worker, each once
        status = await asyncio.to_thread(served.terminate)
        assert status in (0, -signal.SIGTERM), served.log_tail()
    assert not metrics_dir.exists()  # a run's values never leak into the next run's
    recorded = await recorded_request_ids(clean_engine, tenant.id)
    assert recorded == sorted(sent)
