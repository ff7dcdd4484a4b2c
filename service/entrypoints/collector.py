"""The cyclic garbage collector, and the C allocator after it, while the service serves
(issues #19 and #24, ADR 0018)."""

from __future__ import annotations

import ctypes
import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

# Allocations between young collections while serving (CPython's default is 700). Fifty
# requests in flight keep thousands of young objects alive, so at 700 most young passes
# find them all alive and promote them, and the older passes that follow walk them again:
# measured (bench.graphql, cache off) the collector took some 18 % of a timeline
# request's CPU; at 10,000 and with start-up frozen, the timeline's req/s rose about 30 %.
YOUNG_THRESHOLD = 10_000


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None where the C library has none (musl, macOS)."""
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


TRIM = _malloc_trim()


# Seconds between full collections that walk every object: in between, each full
# collection walks only what survived since the last one (see AfterFull).
THAW_SECONDS = 300.0


class AfterFull:
    """What follows each full collection: glibc trimmed, and the survivors frozen.

    Why trim: objects larger than 512 bytes (a long family's lists and dicts, rows' buffers)
    come from glibc, which keeps what they leave in its heap. Under bench.sustained its free
    space grew from 9 to 22 MiB in ten minutes while what it had allocated stayed at 48,
    and a trim every 30 s (0.1-12 ms each) handed back 8-10 MiB each time.

    Why freeze: with the command cache full (some 400,000 objects), every full collection
    walked all of them, 400-600 ms during which nothing was served, every 10-15 s under
    bench.sustained. Frozen objects are still freed by reference counting when dropped;
    what the collector alone frees, garbage in reference cycles, is not found while frozen.
    The caches hold none (tests/unit/test_collector.py), but other survivors may (a
    closed connection's objects), so every `thaw_every` seconds the survivors are thawed
    instead, and the next full collection walks, and frees, everything.
    """

    def __init__(
        self, thaw_every: float = THAW_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.thaw_every = thaw_every
        self.clock = clock
        self.thawed = clock()

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase != "stop" or info["generation"] != 2:
            return
        if TRIM is not None:
            TRIM(0)
        if self.clock() - self.thawed >= self.thaw_every:
            gc.unfreeze()
            self.thawed = self.clock()
        else:
            gc.freeze()


@contextmanager
def settled(young: int = YOUNG_THRESHOLD, after_full: AfterFull | None = None) -> Iterator[None]:
    """While the block runs: what start-up built (modules, the schema, pools) frozen out of
    every collection, the young generation collected every `young` allocations, and after
    each full collection glibc trimmed and the survivors frozen (AfterFull); all undone
    after it, so a process that starts many apps (the tests) frees each one."""
    callback = after_full or AfterFull()
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(young, *before[1:])
    gc.callbacks.append(callback)
    try:
        yield
    finally:
        gc.callbacks.remove(callback)
        gc.set_threshold(*before)
        gc.unfreeze()
