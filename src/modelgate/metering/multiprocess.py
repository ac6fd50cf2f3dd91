"""The metrics directory that ``modelgate serve --workers N`` shares between workers.

prometheus_client's multiprocess mode is switched on by the environment variable
``PROMETHEUS_MULTIPROC_DIR``, read when it is first imported: it must be set
before a worker starts. uvicorn starts its workers as fresh interpreters that
inherit the environment, so the serve command sets it in its own process just
before ``uvicorn.run`` (this module imports nothing of prometheus_client, so it
is safe to use there).

- One worker: nothing to share; values stay in memory (no directory, no files).
- N workers: a fresh, private directory per run, so that no value of an earlier
  run is counted again, removed when the server stops. A worker that dies and
  is restarted by uvicorn leaves its files behind, on purpose: its counts are
  part of the totals, and removing them would make counters go backwards. (We
  use no live gauges, so prometheus_client's ``mark_process_dead`` has nothing
  to do.)
- The operator set the variable already (e.g. serving under gunicorn): their
  directory is used and left alone; clearing it between runs is theirs to do,
  as prometheus_client's documentation says.

This is the one place besides ``config.py`` that touches the environment: the
variable is prometheus_client's, not a setting of ours.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ENV_VAR = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def shared_metrics_dir(workers: int) -> Iterator[Path | None]:
    """Around ``uvicorn.run``: the directory the workers share (None with one worker)."""
    given = os.environ.get(ENV_VAR)
    if given:
        yield Path(given)
        return
    if workers <= 1:
        yield None
        return
    path = Path(tempfile.mkdtemp(prefix="modelgate-metrics-"))
    os.environ[ENV_VAR] = str(path)
    try:
        yield path
    finally:
        os.environ.pop(ENV_VAR, None)
        shutil.rmtree(path, ignore_errors=True)
