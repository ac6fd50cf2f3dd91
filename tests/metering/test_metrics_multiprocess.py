"""--workers N: every worker writes to the shared directory and one scrape, from
any of them, sums them all. The workers here are separate interpreters, as
uvicorn's are (it spawns them)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from modelgate.metering.multiprocess import ENV_VAR, shared_metrics_dir

ROOT = Path(__file__).resolve().parents[2]

WORKER = """
import sys
from modelgate.metering import metrics
from modelgate.metering.metrics import UsageMetrics
from tests.metering.usage_helpers import make_event
assert metrics.is_multiprocess()
observer = UsageMetrics(models=["gpt-4o"], providers=["openai"])
calls, tokens = int(sys.argv[1]), int(sys.argv[2])
for _ in range(calls):
    observer.observe(make_event("t1", model="gpt-4o", base_model="gpt-4o", output_tokens=tokens,
                                credits_n=500_000_000))
metrics.count_dropped(1)
print("done")
"""

SCRAPER = """
import sys
from modelgate.metering import metrics
body, content_type = metrics.render(None)
sys.stdout.write(body.decode())
"""


def python(code: str, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{ROOT}/src:{ROOT}", **env},
    )


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_one_scrape_sums_every_worker(tmp_path: Path) -> None:
    env = {ENV_VAR: str(tmp_path)}
    workers = [python(WORKER, "3", "10", env=env), python(WORKER, "4", "100", env=env)]
    for worker in workers:
        out, err = worker.communicate(timeout=60)
        assert worker.returncode == 0 and out.strip() == "done", err[-2000:]
    assert len(list(tmp_path.glob("*.db"))) >= 2  # one file per worker and kind
    scraper = python(SCRAPER, env=env)
    out, err = scraper.communicate(timeout=60)
    assert scraper.returncode == 0, err[-2000:]
    found = samples(out)
    labels = frozenset({"gen_ai_operation_name": "chat", "gen_ai_provider_name": "openai",
                        "gen_ai_request_model": "gpt-4o", "error_type": ""}.items())
    output = labels | {("gen_ai_token_type", "output")}
    assert found[("modelgate_requests_total", frozenset({("status", "200")}))] == 7
    assert found[("gen_ai_client_operation_duration_seconds_count", labels)] == 7
    assert found[("gen_ai_client_token_usage_sum", output)] == 3 * 10 + 4 * 100
    assert found[("gen_ai_client_token_usage_bucket", output | {("le", "16.0")})] == 3
    assert found[("gen_ai_client_token_usage_bucket", output | {("le", "+Inf")})] == 7
    assert found[("modelgate_credits_total", frozenset({("source", "hosted")}))] == pytest.approx(3.5)
    assert found[("modelgate_usage_events_dropped_total", frozenset())] == 2


def test_without_the_directory_a_process_counts_only_itself(tmp_path: Path) -> None:
    worker = python(WORKER.replace("assert metrics.is_multiprocess()",
                                   "assert not metrics.is_multiprocess()"), "2", "5", env={})
    out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err[-2000:]
    assert list(tmp_path.iterdir()) == []


def test_serve_gets_a_fresh_private_directory_only_with_several_workers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    with shared_metrics_dir(1) as path:
        assert path is None and ENV_VAR not in os.environ
    with shared_metrics_dir(4) as path:
        assert path is not None and path.is_dir() and list(path.iterdir()) == []
        assert os.environ[ENV_VAR] == str(path)
        (path / "counter_123.db").write_bytes(b"x")  # what a worker leaves
    assert not path.exists() and ENV_VAR not in os.environ
    with shared_metrics_dir(4) as second:
        assert second != path  # never an earlier run's values
    # The operator's own directory: used as given, and left alone.
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    (tmp_path / "counter_1.db").write_bytes(b"x")
    with shared_metrics_dir(4) as given:
        assert given == tmp_path
    assert (tmp_path / "counter_1.db").exists() and os.environ[ENV_VAR] == str(tmp_path)
