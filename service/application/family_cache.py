"""Families loaded by earlier commands, kept so the next command reads only what is new."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from uuid import UUID

from domain.family import Family

# Bounded twice: by families, and by the events they hold (a family's version counts its
# events), so a few very long histories cannot grow the process without limit. An
# aggregate holds about 1.4 KB an event at most (a member added): 20,000 is about 28 MB.
DEFAULT_FAMILIES = 1024
DEFAULT_EVENTS = 20_000


@dataclass(frozen=True)
class Loaded:
    """A family as of its last event, and the hash that event's row holds."""

    family: Family
    head: bytes


class FamilyCache:
    """A bounded, least-recently-used set of loaded families, one user at a time.

    `take` removes the entry, so two commands never share (and mutate) one aggregate; a
    command gives its family back with `keep` only once its events are stored.
    """

    def __init__(self, families: int = DEFAULT_FAMILIES, events: int = DEFAULT_EVENTS) -> None:
        self.families = families
        self.events = events
        self._kept: OrderedDict[UUID, Loaded] = OrderedDict()
        self._events = 0

    def take(self, family_id: UUID) -> Loaded | None:
        """The family as last kept, now the caller's alone; None when not kept."""
        loaded = self._kept.pop(family_id, None)
        if loaded is not None:
            self._events -= loaded.family.version
        return loaded

    def take_any(self) -> Loaded | None:
        """The least recently kept family, taken (None when none is kept)."""
        if not self._kept:
            return None
        return self.take(next(iter(self._kept)))

    def keep(self, family_id: UUID, loaded: Loaded) -> None:
        """Keep a family for the next command, dropping the least recently used beyond the
        bounds."""
        self.take(family_id)
        if loaded.family.version > self.events or self.families <= 0:
            return
        self._kept[family_id] = loaded
        self._events += loaded.family.version
        while len(self._kept) > self.families or self._events > self.events:
            _, dropped = self._kept.popitem(last=False)
            self._events -= dropped.family.version

    def __len__(self) -> int:
        return len(self._kept)

    @property
    def held(self) -> int:
        """The events the kept families hold (bounded by `events`)."""
        return self._events
