"""Each family's case rows as last folded, so a batch that only adds events folds only those."""

from __future__ import annotations

import logging
import pickle
from collections import OrderedDict
from collections.abc import Sequence
from uuid import UUID

from projections.case_fold import fold_more
from projections.case_rows import CaseRows
from projections.projection import Envelope
from projections.row_changes import Fingerprints

log = logging.getLogger(__name__)

DEFAULT_BYTES = 32 * 2**20

# What an entry holds beside its pickle: the key, the tuple, the ordered dict's links.
ENTRY_BYTES = 300


class FoldedFamilies:
    """A bounded, least-recently-used memo of folds, trusted only for the next version.

    Why it is safe: a kept fold is a pure function of the family's events 1..V, which never
    change, whatever became of the transaction that computed it. So a batch whose first
    event is V+1, and which amends nothing before it, may continue it, whoever applies the
    batch and whether it was tried before; any other batch (a correction or retraction, a
    rebuild from the start, a retry of events already folded) folds the family whole.

    Folds are kept pickled, and bounded by the pickles' bytes. As objects a fold held about
    2.2 KiB a member, pickled about 260 B; and the collector walked the objects of every
    kept fold in each full collection (tens of thousands), while a pickle is one bytes
    object it does not track. Unpickling and pickling again costs about 1.6 ms a batch for a
    family of 200 members; folding it again from its stream, several times that. The
    pickles are only ever this process's own, never read from outside.
    """

    def __init__(self, budget: int = DEFAULT_BYTES) -> None:
        self.budget = budget
        self._kept: OrderedDict[UUID, tuple[int, bytes, int]] = OrderedDict()
        self._held = 0

    @property
    def held(self) -> int:
        """The bytes the kept folds hold (bounded by `budget`)."""
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
        version, pickled, cost = kept
        self._held -= cost
        if new[0].recorded.version != version + 1:
            return None
        # Earlier rows change: an amendment, or an erasure (its person's fields now erased).
        if any(envelope.event.amends or envelope.event.erases for envelope in new):
            return None
        rows, written = pickle.loads(pickled)
        return fold_more(rows, new), written

    def keep(self, family_id: UUID, version: int, rows: CaseRows, written: Fingerprints) -> None:
        """Keep a family's fold through `version` and what was written of it, dropping the
        least recently used."""
        if (old := self._kept.pop(family_id, None)) is not None:
            self._held -= old[2]
        # Without the member rows: the fold makes them anew after each batch (a quarter of
        # the pickle, and of the time it takes).
        members, rows.members = rows.members, []
        try:
            pickled = pickle.dumps((rows, written), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # a memo never fails the batch that fills it: folded whole next
            log.exception("the fold of family %s could not be pickled; not kept", family_id)
            return
        finally:
            rows.members = members
        cost = ENTRY_BYTES + len(pickled)
        if cost > self.budget:
            return
        self._kept[family_id] = (version, pickled, cost)
        self._held += cost
        while self._held > self.budget:
            _, (*_, dropped) = self._kept.popitem(last=False)
            self._held -= dropped

    def __len__(self) -> int:
        return len(self._kept)
