"""The cyclic garbage collector while the service serves (issue #19, ADR 0018)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# Allocations between young collections while serving (CPython's default is 700). Fifty
# requests in flight keep thousands of young objects alive, so at 700 most young passes
# find them all alive and promote them, and the older passes that follow walk them again:
# measured (bench.graphql, cache off) the collector took some 18 % of a timeline
# request's CPU; at 10,000 and with start-up frozen, the timeline's req/s rose about 30 %.
YOUNG_THRESHOLD = 10_000


@contextmanager
def settled(young: int = YOUNG_THRESHOLD) -> Iterator[None]:
    """While the block runs: what start-up built (modules, the schema, pools) frozen out of
    every collection, and the young generation collected every `young` allocations; both
    undone after it, so a process that starts many apps (the tests) frees each one."""
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(young, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
