"""A case fold continued batch by batch, writing only what changed, leaves exactly the rows
of the family folded whole."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from domain.family import Family
from projections.case_fold import case_rows
from projections.case_rows import CaseRows
from projections.cases import KEY, family_rows
from projections.folded import FoldedFamilies
from projections.projection import Envelope, effective_envelopes
from projections.row_changes import Changes, Row, changes, fingerprint
from tests.scenarios.events import stream
from tests.scenarios.family import opened_family
from tests.scenarios.histories import PROPERTY, family_histories


def tables(rows: CaseRows) -> dict[str, list[str]]:
    """What the projection writes of the rows, table by table, in a stable order."""
    return {table: sorted(map(repr, found)) for table, found in family_rows(rows).items()}


def batch_by_batch(history: Sequence[Envelope], cuts: list[int]) -> dict[str, list[str]]:
    """The tables as the projection leaves them, writing only what changed, when it folds a
    stream that arrives in batches ending at the cuts."""
    folds, family_id, start = FoldedFamilies(), history[0].recorded.stream_id, 0
    held: dict[str, list[Row]] = {}
    for end in [*cuts, len(history)]:
        batch = history[start:end]
        kept = folds.resume(family_id, batch)
        rows, before = kept or (case_rows(history[:end], effective_envelopes), {})
        written = {}
        for table, found in family_rows(rows).items():
            key = KEY.get(table)
            held[table] = applied(held.get(table, []), changes(before.get(table), found, key), key)
            written[table] = fingerprint(found, key)
        folds.keep(family_id, batch[-1].recorded.version, rows, written)
        start = end
    return {table: sorted(map(repr, found)) for table, found in held.items()}


def applied(table: list[Row], change: Changes, key: int | None) -> list[Row]:
    """A table's rows after the deletes and the insert `change` asks for."""
    if change.whole:
        table = []
    elif key is not None:
        table = [row for row in table if row[key] not in change.gone]
    return table + change.rows


@PROPERTY
@given(family_histories(), st.data())
def test_a_fold_continued_batch_by_batch_equals_the_family_folded_whole(
    family: Family, data: st.DataObject
) -> None:
    history = stream(family)
    points = st.lists(st.integers(1, max(1, len(history) - 1)), unique=True, max_size=6)
    cuts = sorted(c for c in data.draw(points) if 0 < c < len(history))
    whole = case_rows(history, effective_envelopes)
    assert batch_by_batch(history, cuts) == tables(whole)


def test_a_batch_that_does_not_follow_the_kept_version_is_not_continued() -> None:
    family, *_ = opened_family(uuid4())
    history = stream(family)
    folds = FoldedFamilies()
    folds.keep(family.id, 1, case_rows(history[:1], effective_envelopes), {})
    assert folds.resume(family.id, history[2:]) is None  # version 2 was skipped
    assert len(folds) == 0  # and the kept fold is dropped


def cost_of(history: Sequence[Envelope]) -> int:
    """What one fold of `history` costs the memo."""
    folds = FoldedFamilies()
    folds.keep(
        history[0].recorded.stream_id, len(history), case_rows(history, effective_envelopes), {}
    )
    return folds.held


def test_a_kept_fold_is_continued_from_its_pickle_as_from_the_objects() -> None:
    family, *_ = opened_family(uuid4())
    history = stream(family)
    folds = FoldedFamilies()
    rows = case_rows(history[:-1], effective_envelopes)
    folds.keep(family.id, len(history) - 1, rows, {"family_summary": 1})
    resumed = folds.resume(family.id, history[-1:])
    assert resumed is not None and resumed[1] == {"family_summary": 1}
    assert tables(resumed[0]) == tables(case_rows(history, effective_envelopes))
    assert folds.held == 0  # taken out until kept again


def test_the_kept_folds_are_bounded_by_the_bytes_they_hold() -> None:
    histories = [stream(opened_family(uuid4())[0]) for _ in range(3)]
    costs = [cost_of(history) for history in histories]
    folds = FoldedFamilies(budget=max(costs) + min(costs) // 2)  # room for one, not two
    for history in histories:
        rows = case_rows(history, effective_envelopes)
        folds.keep(history[0].recorded.stream_id, len(history), rows, {})
        assert folds.held <= folds.budget
    assert len(folds) == 1 and folds.held == costs[-1]  # the last one kept


def test_a_fold_larger_than_the_whole_bound_is_not_kept() -> None:
    family, *_ = opened_family(uuid4())
    history = stream(family)
    folds = FoldedFamilies(budget=cost_of(history) - 1)
    folds.keep(family.id, len(history), case_rows(history, effective_envelopes), {})
    assert len(folds) == 0 and folds.held == 0


def test_a_fold_that_cannot_be_pickled_is_not_kept() -> None:
    family, *_ = opened_family(uuid4())
    history = stream(family)
    rows = case_rows(history, effective_envelopes)
    members = list(rows.members)
    rows.case_number = lambda: None  # type: ignore[assignment]
    folds = FoldedFamilies()
    folds.keep(family.id, len(history), rows, {})
    assert len(folds) == 0 and folds.held == 0
    assert rows.members == members  # the caller's rows as they were
