"""What a family's read-model rows changed by, so a batch writes only that.

A long family (thousands of members) would otherwise have every row deleted and copied
again for each batch that adds one event to it: the cases projection's cost would grow
with the family, not with what is new.

What was written is remembered as fingerprints, not rows: per keyed table, each row's key
and the hash of its values; per other table, one hash of all its rows. Python's hashes are
64 bits and, for text, keyed per process (PYTHONHASHSEED), so a caller cannot choose
values that collide; a collision by chance (about 2**-64 per row compared) would leave one
row as it was, until the family is next folded whole (a correction, a restart, a rebuild).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

Row = tuple[Any, ...]  # hashable: array columns as tuples (projections.cases)
# Per keyed table: key -> hash of the row; per other table: hash of all the family's rows.
Fingerprint = dict[Any, int] | int
Fingerprints = dict[str, Fingerprint]


@dataclass
class Changes:
    """What to do to one table for one family: delete its rows whole, or by key; insert."""

    whole: bool = False
    gone: list[Any] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)


def fingerprint(rows: Sequence[Row], key: int | None) -> Fingerprint:
    """What to remember of a family's rows in one table."""
    if key is None:
        return hash(tuple(rows))
    return {row[key]: hash(row) for row in rows}


def changes(before: Fingerprint | None, rows: Sequence[Row], key: int | None) -> Changes:
    """What turns the rows last written (`before`; None when unknown) into `rows`."""
    if before is None:
        return Changes(whole=True, rows=list(rows))
    if key is None or isinstance(before, int):
        same = isinstance(before, int) and before == fingerprint(rows, None)
        return Changes() if same else Changes(whole=True, rows=list(rows))
    now = {row[key]: (hash(row), row) for row in rows}
    return Changes(
        gone=[k for k, h in before.items() if k not in now or now[k][0] != h],
        rows=[row for k, (h, row) in now.items() if before.get(k) != h],
    )
