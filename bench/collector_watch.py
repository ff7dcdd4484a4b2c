"""The service's app with its cyclic collector timed: each collection's pause, by generation.

`bench.sustained --watch-collector` starts the server on `app_from_env` below; each
collection is appended to the file REUNITE_BENCH_GC_LOG names (generation, milliseconds),
and `summary` reads it back after the load.
"""

from __future__ import annotations

import gc
import os
import statistics
import time
from typing import Any

from starlette.applications import Starlette

FACTORY = "bench.collector_watch:app_from_env"
LOG = "REUNITE_BENCH_GC_LOG"


class Stopwatch:
    """A gc.callbacks hook writing each collection's generation and pause to a file."""

    def __init__(self, path: str) -> None:
        self.out = open(path, "a", buffering=1)  # noqa: SIM115 (open while the server runs)
        self.started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
        else:
            pause = (time.perf_counter() - self.started) * 1000
            self.out.write(f"{info['generation']} {pause:.2f}\n")


def app_from_env() -> Starlette:
    """The service's app, its collections timed."""
    from service.entrypoints.app import app_from_env as service_app

    gc.callbacks.insert(0, Stopwatch(os.environ[LOG]))
    return service_app()


def summary(path: str, seconds: float) -> str:
    """Full collections' longest and median pause, and the collector's share of the time."""
    pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
    with open(path) as log:
        for line in log:
            generation, pause = line.split()
            pauses[int(generation)].append(float(pause))
    share = sum(map(sum, pauses.values())) / (seconds * 1000)
    full = pauses[2]
    longest = (
        f"longest {max(full):.0f} ms, median {statistics.median(full):.0f} ms" if full else "none"
    )
    return f"collector: {len(full)} full collections ({longest}); all {share:.1%} of the time"
