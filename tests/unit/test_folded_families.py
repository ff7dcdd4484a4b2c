"""A case fold continued batch by batch gives exactly the rows of the family folded whole."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from domain.family import Family
from projections.case_fold import case_rows
from projections.case_rows import CaseRows
from projections.cases import ROW, child_record
from projections.folded import FoldedFamilies
from projections.projection import Envelope, effective_envelopes
from tests.scenarios.events import stream
from tests.scenarios.family import opened_family
from tests.scenarios.histories import PROPERTY, family_histories


def tables(rows: CaseRows) -> dict[str, list[str]]:
    """What the projection writes of the rows, table by table, in a stable order."""
    found: dict[str, Any] = {
        "family_members": rows.members,
        "care_stays": rows.stays,
        "parent_case": rows.parents.values(),
        "parent_situations": rows.situations,
        "data_quality_flags": rows.flags,
        "status_changes": rows.status_changes,
    }
    written = {table: sorted(map(repr, map(ROW[table], items))) for table, items in found.items()}
    written["child_case"] = sorted(repr(child_record(rows, c)) for c in rows.children.values())
    written["family_summary"] = [repr(ROW["family_summary"](rows.summary))]
    return written


def batch_by_batch(history: Sequence[Envelope], cuts: list[int]) -> CaseRows:
    """As the projection folds a stream that arrives in batches ending at the cuts."""
    folds, family_id, start = FoldedFamilies(), history[0].recorded.stream_id, 0
    rows = CaseRows()
    for end in [*cuts, len(history)]:
        batch = history[start:end]
        rows = folds.resume(family_id, batch) or case_rows(history[:end], effective_envelopes)
        folds.keep(family_id, batch[-1].recorded.version, rows)
        start = end
    return rows


@PROPERTY
@given(family_histories(), st.data())
def test_a_fold_continued_batch_by_batch_equals_the_family_folded_whole(
    family: Family, data: st.DataObject
) -> None:
    history = stream(family)
    points = st.lists(st.integers(1, max(1, len(history) - 1)), unique=True, max_size=6)
    cuts = sorted(c for c in data.draw(points) if 0 < c < len(history))
    whole = case_rows(history, effective_envelopes)
    assert tables(batch_by_batch(history, cuts)) == tables(whole)


def test_a_batch_that_does_not_follow_the_kept_version_is_not_continued() -> None:
    family, *_ = opened_family(uuid4())
    history = stream(family)
    folds = FoldedFamilies()
    folds.keep(family.id, 1, case_rows(history[:1], effective_envelopes))
    assert folds.resume(family.id, history[2:]) is None  # version 2 was skipped
    assert len(folds) == 0  # and the kept fold is dropped


def test_the_kept_folds_are_bounded_by_the_events_they_hold() -> None:
    folds = FoldedFamilies(events=5)
    for _ in range(3):
        family, *_ = opened_family(uuid4())
        history = stream(family)
        folds.keep(family.id, len(history), case_rows(history, effective_envelopes))
    assert len(folds) == 1  # four events each: only the last one fits
