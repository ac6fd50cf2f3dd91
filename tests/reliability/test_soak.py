"""A small run of the bounded soak (``bench/soak.py``): calls and concurrent streams
through a real ``modelgate serve`` to a fake upstream with 20 ms latency.

It asserts that nothing failed, that memory is read at every checkpoint and the
growth between the last two is printed, and that the last line keeps its format;
timings and memory depend on the machine, so they are printed, never asserted.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SOAK = Path(__file__).resolve().parents[2] / "bench" / "soak.py"
CHECKPOINT = re.compile(
    r"^checkpoint calls=(\d+) rss_mb=\d+\.\d+ vs_warm_pct=[+-]\d+\.\d+ anon_mb=\d+\.\d+"
    r" file_mb=\d+\.\d+ threads=\d+ errors=0$"
)
GROWTH = re.compile(
    r"^rss growth between the last two checkpoints \(300 → 400 calls\): [+-]\d+\.\d+ MB"
)
LAST_LINE = re.compile(
    r"^errors=(\d+) p50_ms=\d+\.\d+ p99_ms=\d+\.\d+ rss_warm_mb=\d+\.\d+ rss_end_mb=\d+\.\d+"
    r" rss_last_growth_pct=-?\d+\.\d+$"
)


def test_small_soak_has_no_errors_and_reports_checkpoints() -> None:
    # SQLite: the soak is about the gateway under concurrency, not the database server.
    out = subprocess.run(
        [sys.executable, str(SOAK), "--calls", "400", "--checkpoint-every", "100",
         "--concurrency", "20", "--streams", "10", "--warmup-calls", "20", "--sqlite",
         "--timeout", "60"],
        capture_output=True, text=True, timeout=180, check=False,
    )
    lines = out.stdout.strip().splitlines()
    assert lines, out.stderr[-2000:]
    print("\n".join(line for line in lines if not line.startswith("{")))
    checkpoints = [int(m.group(1)) for line in lines if (m := CHECKPOINT.match(line))]
    assert checkpoints == [100, 200, 300, 400], out.stdout[-2000:]
    assert any(GROWTH.match(line) for line in lines), out.stdout[-2000:]
    match = LAST_LINE.match(lines[-1])
    assert match, out.stdout[-2000:] + out.stderr[-2000:]
    assert match.group(1) == "0", out.stdout[-2000:]
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
