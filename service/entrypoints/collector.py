"""The cyclic garbage collector, and the C allocator after it, while the service serves
(issues #19 and #24, ADR 0018)."""

from __future__ import annotations

import ctypes
import gc
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


def trim_after_full(phase: str, info: dict[str, Any]) -> None:
    """After a full collection, the pages glibc holds free handed back to the system.

    Why: objects larger than 512 bytes (a long family's lists and dicts, rows' buffers)
    come from glibc, which keeps what they leave in its heap. Under bench.sustained its free
    space grew from 9 to 22 MiB in ten minutes while what it had allocated stayed at 48,
    and a trim every 30 s (0.1-12 ms each) handed back 8-10 MiB each time. Full
    collections run a few times a minute under load, rarely when idle.
    """
    if phase == "stop" and info["generation"] == 2 and TRIM is not None:
        TRIM(0)


@contextmanager
def settled(young: int = YOUNG_THRESHOLD) -> Iterator[None]:
    """While the block runs: what start-up built (modules, the schema, pools) frozen out of
    every collection, the young generation collected every `young` allocations, and glibc
    trimmed after each full collection; all undone after it, so a process that starts many
    apps (the tests) frees each one."""
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(young, *before[1:])
    gc.callbacks.append(trim_after_full)
    try:
        yield
    finally:
        gc.callbacks.remove(trim_after_full)
        gc.set_threshold(*before)
        gc.unfreeze()
