"""Each family's case rows as last folded, so a batch that only adds events folds only those."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from uuid import UUID

from projections.case_fold import fold_more
from projections.case_rows import CaseRows
from projections.projection import Envelope
from projections.row_changes import Fingerprints

# Bounded by the events the kept families hold (a family's version counts its events):
# a fold holds about 2 KB an event at most (a member added), so 20,000 is about 40 MB.
DEFAULT_EVENTS = 20_000


class FoldedFamilies:
    """A bounded, least-recently-used memo of folds, trusted only for the next version.

    Why it is safe: a kept fold is a pure function of the family's events 1..V, which never
    change, whatever became of the transaction that computed it. So a batch whose first
    event is V+1, and which amends nothing before it, may continue it, whoever applies the
    batch and whether it was tried before; any other batch (a correction or retraction, a
    rebuild from the start, a retry of events already folded) folds the family whole.
    """

    def __init__(self, events: int = DEFAULT_EVENTS) -> None:
        self.events = events
        self._kept: OrderedDict[UUID, tuple[int, CaseRows, Fingerprints]] = OrderedDict()
        self._held = 0

    @property
    def held(self) -> int:
        """The events the kept folds hold (bounded by `events`)."""
        return self._held

    def resume(
        self, family_id: UUID, new: Sequence[Envelope]
    ) -> tuple[CaseRows, Fingerprints] | None:
        """The family's rows through its newest event, when the kept fold can go on, and
        what was written of it: the rows of a fold through its kept version, since only a
        batch that ended there (and so was committed) can be followed by `new`."""
        kept = self._kept.pop(family_id, None)
        if kept is None:
            return None
        version, rows, written = kept
        self._held -= version
        if new[0].recorded.version != version + 1:
            return None
        # Earlier rows change: an amendment, or an erasure (its person's fields now erased).
        if any(envelope.event.amends or envelope.event.erases for envelope in new):
            return None
        return fold_more(rows, new), written

    def keep(self, family_id: UUID, version: int, rows: CaseRows, written: Fingerprints) -> None:
        """Keep a family's fold through `version` and what was written of it, dropping the
        least recently used."""
        if (old := self._kept.pop(family_id, None)) is not None:
            self._held -= old[0]
        if version > self.events:
            return
        self._kept[family_id] = (version, rows, written)
        self._held += version
        while self._held > self.events:
            _, (dropped, _, _) = self._kept.popitem(last=False)
            self._held -= dropped

    def __len__(self) -> int:
        return len(self._kept)
