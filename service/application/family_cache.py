"""Families loaded by earlier commands, kept so the next command reads only what is new."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from uuid import UUID

from domain.family import Family

DEFAULT_FAMILIES = 1024
DEFAULT_BYTES = 32 * 2**20

# What a kept family costs, estimated from what it holds, as measured with tracemalloc
# (tests/unit/test_cache_weights.py): its members dominate, about 0.85 KiB each with the
# events that added them; a long history of other events adds little. Counting events
# instead let a full cache triple in memory as its families filled with members.
FAMILY_BYTES, MEMBER_BYTES, EVENT_BYTES = 2_048, 870, 16


def weight(family: Family) -> int:
    """The estimated bytes a loaded family holds."""
    return FAMILY_BYTES + MEMBER_BYTES * len(family.members) + EVENT_BYTES * family.version


@dataclass(frozen=True)
class Loaded:
    """A family as of its last event, and the hash that event's row holds."""

    family: Family
    head: bytes


class FamilyCache:
    """A bounded, least-recently-used set of loaded families, one user at a time.

    Bounded twice: by families, and by the bytes they are estimated to hold (`weight`), so
    a few very large families cannot grow the process without limit. `take` removes the
    entry, so two commands never share (and mutate) one aggregate; a command gives its
    family back with `keep` only once its events are stored.
    """

    def __init__(self, families: int = DEFAULT_FAMILIES, budget: int = DEFAULT_BYTES) -> None:
        self.families = families
        self.budget = budget
        self._kept: OrderedDict[UUID, tuple[Loaded, int]] = OrderedDict()
        self._held = 0

    def take(self, family_id: UUID) -> Loaded | None:
        """The family as last kept, now the caller's alone; None when not kept."""
        kept = self._kept.pop(family_id, None)
        if kept is None:
            return None
        self._held -= kept[1]
        return kept[0]

    def take_any(self) -> Loaded | None:
        """The least recently kept family, taken (None when none is kept)."""
        if not self._kept:
            return None
        return self.take(next(iter(self._kept)))

    def keep(self, family_id: UUID, loaded: Loaded) -> None:
        """Keep a family for the next command, dropping the least recently used beyond the
        bounds."""
        self.take(family_id)
        cost = weight(loaded.family)
        if cost > self.budget or self.families <= 0:
            return
        self._kept[family_id] = (loaded, cost)
        self._held += cost
        while len(self._kept) > self.families or self._held > self.budget:
            _, (_, dropped) = self._kept.popitem(last=False)
            self._held -= dropped

    def __len__(self) -> int:
        return len(self._kept)

    @property
    def held(self) -> int:
        """The bytes the kept families are estimated to hold (bounded by `budget`)."""
        return self._held
