"""Writing only what changed turns the rows last written into exactly the new ones."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from projections.row_changes import Changes, Row, changes, fingerprint

# Rows of (key, value, array): keys unique within a family's rows, as a table's key is.
ROWS = st.dictionaries(
    st.integers(0, 8),
    st.tuples(st.text(max_size=2), st.lists(st.integers(0, 2), max_size=2).map(tuple)),
).map(lambda found: [(k, v, array) for k, (v, array) in found.items()])


def applied(table: list[Row], change: Changes, key: int | None) -> list[Row]:
    if change.whole:
        table = []
    elif key is not None:
        table = [row for row in table if row[key] not in change.gone]
    return table + change.rows


@given(ROWS, ROWS, st.sampled_from([0, None]))
def test_the_changes_turn_the_old_rows_into_the_new(
    before: list[Row], after: list[Row], key: int | None
) -> None:
    change = changes(fingerprint(before, key), after, key)
    assert sorted(applied(before, change, key)) == sorted(after)


@given(ROWS, st.sampled_from([0, None]))
def test_rows_that_did_not_change_are_not_written(rows: list[Row], key: int | None) -> None:
    change = changes(fingerprint(rows, key), rows, key)
    assert change == Changes()


def test_only_the_changed_row_of_a_keyed_table_is_rewritten() -> None:
    before = [(1, "a"), (2, "b"), (3, "c")]
    change = changes(fingerprint(before, 0), [(1, "a"), (2, "B"), (4, "d")], 0)
    assert change == Changes(gone=[2, 3], rows=[(2, "B"), (4, "d")])


def test_unknown_rows_are_written_whole() -> None:
    assert changes(None, [(1, "a")], 0) == Changes(whole=True, rows=[(1, "a")])
