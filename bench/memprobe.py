"""Run the ``modelgate`` command with memory probes, for the soak's ``--tracemalloc``
and ``--trim``.

    python bench/memprobe.py OUT_DIR FRAMES serve --host 127.0.0.1 --port 8080

With FRAMES > 0, tracemalloc traces that many frames, and each SIGUSR1 writes a
snapshot of the Python-level allocations still alive to ``OUT_DIR/snapshot-<n>``
(written aside, then renamed, so a reader never sees half a file). Each SIGUSR2
runs a full garbage collection and glibc's ``malloc_trim(0)``, which hands freed
heap pages back to the system, then writes ``OUT_DIR/trimmed-<n>``: what RSS drops
by then was free memory the allocator kept, not live objects. With one worker,
``serve`` runs in this very process, so the probes see the gateway itself.
Tracing slows the gateway down: use it to find where memory goes, never for timings.
"""

from __future__ import annotations

import ctypes
import gc
import signal
import sys
import tracemalloc
from pathlib import Path


def main() -> None:
    out, frames, command = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    counts = {"snapshot": 0, "trimmed": 0}

    def written(kind: str) -> tuple[Path, Path]:
        counts[kind] += 1
        return out / f".{kind}-{counts[kind]}", out / f"{kind}-{counts[kind]}"

    def snapshot(signum: int, frame: object) -> None:
        aside, final = written("snapshot")
        tracemalloc.take_snapshot().dump(str(aside))
        aside.rename(final)

    def trim(signum: int, frame: object) -> None:
        gc.collect()
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        aside, final = written("trimmed")
        aside.write_text("done")
        aside.rename(final)

    if frames > 0:
        tracemalloc.start(frames)
        signal.signal(signal.SIGUSR1, snapshot)
    signal.signal(signal.SIGUSR2, trim)
    from modelgate.cli import app

    app(command)


if __name__ == "__main__":
    main()
