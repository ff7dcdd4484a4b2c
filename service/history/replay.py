"""Replay one family's stream to a point on two clocks, with the fold the read models use.

A point has two clocks, each optional:

- known_at (when recorded): only the events the store had recorded by then count, and only
  the corrections among them. That is the stream's prefix before the first event recorded
  later, so nothing recorded after the moment can leak in.
- on (when it happened): of the events that count, as corrected, those that had happened by
  the end of that day (the calendar day the read models give the event's occurred_at).
  Who the case is about (CaseOpened, MemberAdded, RelationshipRecorded) is not a change in
  the world and counts on every date. An event whose date is unknown counts on no date: it
  is never placed on one, as the court report never invents a discharge date.

The events that count are folded in recording order by projections.case_fold, the fold the
case read models run; the clocks only choose which events count.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from projections.case_fold import fold_case
from projections.case_rows import (
    DAWN,
    CaseRows,
    ChildRow,
    Flag,
    ParentRow,
    Situation,
    Stay,
    SummaryRow,
)
from projections.cases import CHILD_EXTRA, child_record
from projections.projection import Envelope, effective_envelopes
from projections.summaries import label
from projections.timeline import AMENDMENTS, timeline_row

TIMELESS = frozenset({"CaseOpened", "MemberAdded", "RelationshipRecorded"})
CHILD_COLUMNS = (*(f.name for f in fields(ChildRow)), *CHILD_EXTRA)
PARENT_COLUMNS = tuple(f.name for f in fields(ParentRow))


@dataclass(frozen=True)
class Point:
    """A point on the two clocks; None on a clock means no limit on it."""

    known_at: datetime | None = None
    on: date | None = None

    def __str__(self) -> str:
        known = f"as recorded by {self.known_at.isoformat()}" if self.known_at else "as known now"
        return f"on {self.on.isoformat()}, {known}" if self.on else known


def known_by(history: Sequence[Envelope], known_at: datetime | None) -> list[Envelope]:
    """The stream's events up to the first one recorded after known_at."""
    if known_at is None:
        return list(history)
    for index, envelope in enumerate(history):
        if envelope.recorded.recorded_at > known_at:
            return list(history[:index])
    return list(history)


def happened_by(effective: Sequence[Envelope], on: date) -> list[Envelope]:
    """The effective events that count in the world as it stood at the end of a day."""
    # An event's day is its moment's UTC date (case_rows.day): by the end of `on` is before
    # the next day's midnight, UTC; comparing moments spares a conversion per event.
    midnight = datetime.combine(on + timedelta(days=1), time.min, UTC)
    return [
        e
        for e in effective
        if type(e.event).__name__ in TIMELESS  # Envelope.kind, without a call per event
        or (e.event.occurred_at is not None and e.event.occurred_at < midnight)
    ]


def counted(history: Sequence[Envelope], point: Point) -> tuple[list[Envelope], list[Envelope]]:
    """The stream's events known at the point, and the effective events that count there."""
    known = known_by(history, point.known_at)
    effective = effective_envelopes(known)
    if point.on is not None:
        effective = happened_by(effective, point.on)
    return known, effective


@dataclass(frozen=True)
class CaseState:
    """A family case replayed to a point: the rows the case read models would hold."""

    point: Point
    known: list[Envelope]
    counted: list[Envelope]
    rows: CaseRows
    summary: SummaryRow

    def children(self) -> list[dict[str, Any]]:
        """Each child as a child_case row."""
        return [
            dict(zip(CHILD_COLUMNS, child_record(self.rows, c), strict=True))
            for c in self.rows.children.values()
        ]

    def parents(self) -> list[dict[str, Any]]:
        """Each adult as a parent_case row."""
        return [
            dict(zip(PARENT_COLUMNS, astuple(p), strict=True)) for p in self.rows.parents.values()
        ]

    def counted_versions(self) -> set[int]:
        """The stream versions that shape this state: the events counted and the amendments."""
        amendments = {e.recorded.version for e in self.known if e.kind in AMENDMENTS}
        return amendments | {e.event.originator_version for e in self.counted}


def replay(history: Sequence[Envelope], point: Point) -> CaseState | None:
    """The case at a point, or None when nothing of it had been recorded by then."""
    known, effective = counted(history, point)
    if not known:
        return None
    rows = fold_case(effective, known[-1].recorded)
    if rows.summary is None:
        return None
    return CaseState(point, known, effective, rows, rows.summary)


@dataclass(frozen=True)
class Step:
    """One event of a replay and the case just after it."""

    # The event as the timeline shows it: its own stored row, with the content that counts.
    envelope: Envelope
    rows: CaseRows


def steps(history: Sequence[Envelope], point: Point) -> list[Step]:
    """The replay event by event: the case after each step, up to the point.

    Without a date, every recorded event is a step and a correction re-folds the past, as
    the system saw it then. With a date, the steps are the effective events that count, each
    as corrected on the row it was recorded as, in version order.
    """
    known, effective = counted(history, point)
    if point.on is None:
        return [
            Step(e, fold_case(effective_envelopes(known[: i + 1]))) for i, e in enumerate(known)
        ]
    # The fold dates a corrected event at its correction; the step is still the original's.
    stored = {e.recorded.version: e.recorded for e in known}
    return [
        Step(Envelope(stored[e.event.originator_version], e.event), fold_case(effective[: i + 1]))
        for i, e in enumerate(effective)
    ]


def labels(history: Iterable[Envelope]) -> dict[UUID, str]:
    """How the timeline names each member, from the events that added them."""
    return {e.event.person_id: label(e.event) for e in history if e.kind == "MemberAdded"}


def amended_by(history: Iterable[Envelope]) -> dict[int, list[int]]:
    """For each amended version, the versions of the corrections and retractions of it."""
    amending: dict[int, list[int]] = {}
    for e in history:
        if e.kind in AMENDMENTS:
            amending.setdefault(e.event.version, []).append(e.recorded.version)
    return amending


def timeline_entry(
    envelope: Envelope, names: dict[UUID, str], amending: dict[int, list[int]]
) -> dict[str, Any]:
    """An event as a timeline row, computed from the stream rather than read from the table."""
    return {
        **timeline_row(envelope, names),
        "amended_by": amending.get(envelope.recorded.version, []),
    }


# Bookkeeping, not facts: which version last touched a child, whose row it is.
UNCOMPARED = frozenset({"family_id", "child_id", "parent_id", "last_version"})
# A child's care stays and a parent's situations, as the dated intervals the court report reads.
INTERVALS = ("stays", "situations")
COMPARED = (
    *(c for c in dict.fromkeys((*CHILD_COLUMNS, *PARENT_COLUMNS)) if c not in UNCOMPARED),
    *INTERVALS,
)
CASE_FIELDS = ("case_number", "status", "opened_at", "members", "children", "separated", "version")


@dataclass(frozen=True)
class Change:
    """One field that differs between two points."""

    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class MemberChanges:
    """What changed for one member between two points."""

    person_id: UUID
    role: str
    name: str | None
    present_before: bool
    present_after: bool
    changes: list[Change]


@dataclass(frozen=True)
class CaseDiff:
    """What changed in a case between two points, and the events that made the difference."""

    history: list[Envelope]
    before: CaseState | None
    after: CaseState | None
    case: list[Change]
    members: list[MemberChanges]
    flags_raised: list[Flag]
    flags_cleared: list[Flag]
    events: list[Envelope]
    withdrawn: list[Envelope]


def changes(before: dict[str, Any], after: dict[str, Any], names: Iterable[str]) -> list[Change]:
    """The named fields whose values differ; a missing side reads as None."""
    return [
        Change(name, before.get(name), after.get(name))
        for name in names
        if before.get(name) != after.get(name)
    ]


def days(start: date | None, end: date | None) -> str:
    """An interval of days as the read models keep it: DAWN is the start, no end is open."""
    since = "an unknown day" if start is None else "the start" if start == DAWN else start
    return f"{since} to {end or 'open'}"


def stay_text(stay: Stay) -> str:
    """A care stay as one line: where, and the days."""
    return f"{stay.facility_name} ({stay.program_type}): {days(stay.start_date, stay.end_date)}"


def situation_text(situation: Situation, child: str) -> str:
    """A parent's situation, as it bears on one child, over an interval as one line."""
    country = f" ({situation.country})" if situation.country else ""
    when = days(situation.start_date, situation.end_date)
    return f"{situation.situation}{country} for {child}: {when}"


def _members(state: CaseState | None) -> dict[UUID, tuple[str, dict[str, Any]]]:
    if state is None:
        return {}
    found = {r["child_id"]: ("child", r) for r in state.children()}
    found |= {r["parent_id"]: (r["role"], r) for r in state.parents()}
    # A member without intervals has none to compare, as an unset column reads None.
    for stay in state.rows.stays:
        found[stay.child_id][1].setdefault("stays", []).append(stay_text(stay))
    for situation in state.rows.situations:
        # Eligibility is per child, so is the situation: say which child each line is for.
        child = state.rows.children.get(situation.child_id.int)
        named = (child.name if child else None) or str(situation.child_id)
        row = found[situation.parent_id][1]
        row.setdefault("situations", []).append(situation_text(situation, named))
    return found


def member_changes(before: CaseState | None, after: CaseState | None) -> list[MemberChanges]:
    """Each member whose facts differ, in the order they were added."""
    old, new = _members(before), _members(after)
    found = []
    for person in [*new, *(p for p in old if p not in new)]:
        role, row = new.get(person) or old[person]
        was, now = old.get(person, ("", {}))[1], new.get(person, ("", {}))[1]
        names = [c for c in COMPARED if c in was or c in now]
        if delta := changes(was, now, names):
            found.append(
                MemberChanges(person, role, row["name"], person in old, person in new, delta)
            )
    return found


def diff(history: Sequence[Envelope], before: Point, after: Point) -> CaseDiff:
    """Compare the case at two points of the same stream."""
    a, b = replay(history, before), replay(history, after)
    was = vars(a.summary) if a else {}
    now = vars(b.summary) if b else {}
    old_flags = {flag_key(f): f for f in (a.rows.flags if a else [])}
    new_flags = {flag_key(f): f for f in (b.rows.flags if b else [])}
    in_a = a.counted_versions() if a else set()
    in_b = b.counted_versions() if b else set()
    return CaseDiff(
        list(history),
        a,
        b,
        changes(was, now, CASE_FIELDS),
        member_changes(a, b),
        [f for k, f in new_flags.items() if k not in old_flags],
        [f for k, f in old_flags.items() if k not in new_flags],
        [e for e in history if e.recorded.version in in_b - in_a],
        [e for e in history if e.recorded.version in in_a - in_b],
    )


def flag_key(flag: Flag) -> tuple[int, str, str]:
    """A flag's identity within its family."""
    return flag.version, flag.rule, flag.detail
