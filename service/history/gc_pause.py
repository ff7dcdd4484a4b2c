"""Pausing the cyclic garbage collector while a batch of acyclic objects is built."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic collection inside the block; as it was after it.

    A replay builds some twenty objects per event, none in a cycle, and frees them by
    reference counting. Every 700 allocations CPython's collector still walks the young
    objects (and, every few replays, the whole heap): 7 % of a replay's instructions, for
    nothing. Only for synchronous blocks: nothing else runs while the collector waits, and
    anything built that survives is examined at the next collection, as always.
    """
    if not gc.isenabled():  # paused already, by an enclosing block or the process
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
