"""Families loaded by earlier commands, kept so the next command reads only what is new."""

from __future__ import annotations

import logging
import pickle
from collections import OrderedDict
from dataclasses import dataclass
from uuid import UUID

from domain.family import Family

log = logging.getLogger(__name__)

DEFAULT_FAMILIES = 1024
DEFAULT_BYTES = 32 * 2**20
# Families kept as objects, ready for the next command; the others are kept pickled.
HOT_FAMILIES = 32

# What a family kept as objects costs, estimated from what it holds, as measured with
# tracemalloc (tests/unit/test_cache_weights.py): its members dominate, about 0.85 KiB each
# with the events that added them; a long history of other events adds little.
FAMILY_BYTES, MEMBER_BYTES, EVENT_BYTES = 2_048, 870, 16
# What a pickled entry holds beside its pickle: the key, the head, the ordered dict's links.
ENTRY_BYTES = 300


def weight(family: Family) -> int:
    """The estimated bytes a loaded family holds as objects."""
    return FAMILY_BYTES + MEMBER_BYTES * len(family.members) + EVENT_BYTES * family.version


@dataclass(frozen=True)
class Loaded:
    """A family as of its last event, and the hash that event's row holds."""

    family: Family
    head: bytes


class FamilyCache:
    """A bounded, least-recently-used set of loaded families, one user at a time.

    Bounded twice: by families, and by the bytes they hold, so a few very large families
    cannot grow the process without limit. `take` removes the entry, so two commands never
    share (and mutate) one aggregate; a command gives its family back with `keep` only once
    its events are stored.

    The `hot` most recently kept are objects; older ones are pickled. As objects a family
    of 200 members held about 170 KiB in some 2,000 objects, which the collector walked
    while they were kept and again when they were dropped: under bench.sustained the
    collector took 15 % of the process, in pauses of up to 600 ms. Pickled it is about
    70 KB in one bytes object the collector does not track, and is loaded again in about
    1.3 ms, where reading and replaying its stream took ten times as long. The pickles are
    only ever this process's own, never read from outside.
    """

    def __init__(
        self, families: int = DEFAULT_FAMILIES, budget: int = DEFAULT_BYTES, hot: int = HOT_FAMILIES
    ) -> None:
        self.families = families
        self.budget = budget
        self.hot = hot
        self._objects: OrderedDict[UUID, tuple[Loaded, int]] = OrderedDict()
        self._pickled: OrderedDict[UUID, tuple[bytes, bytes, int]] = OrderedDict()
        self._held = 0

    def take(self, family_id: UUID) -> Loaded | None:
        """The family as last kept, now the caller's alone; None when not kept."""
        if (kept := self._objects.pop(family_id, None)) is not None:
            self._held -= kept[1]
            return kept[0]
        if (pickled := self._pickled.pop(family_id, None)) is not None:
            family, head, cost = pickled
            self._held -= cost
            return Loaded(pickle.loads(family), head)
        return None

    def clear(self) -> None:
        """Forget every family kept."""
        self._objects.clear()
        self._pickled.clear()
        self._held = 0

    def keep(self, family_id: UUID, loaded: Loaded) -> None:
        """Keep a family for the next command, pickling the least recently kept beyond the
        hot ones, and dropping them beyond the bounds."""
        self.forget(family_id)
        cost = weight(loaded.family)
        if cost > self.budget or self.families <= 0:
            return
        self._objects[family_id] = (loaded, cost)
        self._held += cost
        while len(self._objects) > self.hot:
            self._pickle_oldest()
        while len(self) > self.families or self._held > self.budget:
            oldest = self._pickled or self._objects
            *_, dropped = oldest.popitem(last=False)[1]
            self._held -= dropped

    def _pickle_oldest(self) -> None:
        family_id, (loaded, cost) = self._objects.popitem(last=False)
        try:
            pickled = pickle.dumps(loaded.family, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # a cache never fails the command that fills it: not kept
            log.exception("family %s could not be pickled; it is no longer kept", family_id)
            self._held -= cost
            return
        now = ENTRY_BYTES + len(pickled)
        self._pickled[family_id] = (pickled, loaded.head, now)
        self._held += now - cost

    def forget(self, family_id: UUID) -> None:
        """Forget one family, without loading it (an erasure in it, say)."""
        if (kept := self._objects.pop(family_id, None)) is not None:
            self._held -= kept[1]
        if (pickled := self._pickled.pop(family_id, None)) is not None:
            self._held -= pickled[2]

    def __len__(self) -> int:
        return len(self._objects) + len(self._pickled)

    @property
    def held(self) -> int:
        """The bytes the kept families hold, pickled or estimated (bounded by `budget`)."""
        return self._held
