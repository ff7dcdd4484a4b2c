"""A pure fold from one family's effective history to every row the case read models hold."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from uuid import UUID

from projections.case_rows import (
    OPEN_STATUSES,
    CaseRows,
    ChildRow,
    Flag,
    MemberRow,
    ParentRow,
    StatusChange,
    Stay,
    SummaryRow,
    day,
)
from projections.parent_fold import MOVES_SITUATION, PARENT_HANDLERS, Handler, track_situations
from projections.projection import Envelope
from service.eventstore.records import RecordedEvent


def fold_case(history: Sequence[Envelope], last: RecordedEvent | None = None) -> CaseRows:
    """Fold one family's effective events, in version order, into its rows.

    `last` is the stream's newest row (an amendment, perhaps), which dates the summary.
    """
    rows = CaseRows()
    children = rows.children
    for envelope in history:
        event = envelope.event
        named = vars(event)  # a dict lookup: getattr with a default raises inside when absent
        child_id = named.get("child_id") or named.get("person_id")
        # The child the event names, looked up once: each handler is given it.
        child = children.get(child_id.int) if child_id is not None else None
        before = child.status if child is not None else None
        kind = type(event).__name__  # Envelope.kind, without a call per event
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(rows, envelope, child)
        elif child is not None and (moves := _CHILD_HANDLERS.get(kind)) is not None:
            moves(rows, envelope, child)
        if child is None and child_id is not None:  # MemberAdded adds the child
            child = children.get(child_id.int)
        if child is not None:
            child.last_version = event.originator_version
            if child.status != before:
                _record_change(rows, envelope, child, before)
        if kind in MOVES_SITUATION:
            track_situations(rows, event)
    if history:
        _summarise(rows, last or history[-1].recorded)
    return rows


Effective = Callable[[Sequence[Envelope]], Sequence[Envelope]]


def case_rows(history: Sequence[Envelope], effective: Effective) -> CaseRows:
    """The rows of one family's whole stream: the effective fold, plus the status changes
    retractions cause (the fold cannot see them: what was retracted is simply absent)."""
    rows = fold_case(effective(history), history[-1].recorded if history else None)
    kinds = {e.recorded.version: e.kind for e in history}
    for i, envelope in enumerate(history):
        # Two folds of the prefix per retraction: only for those that can move a status.
        if envelope.kind == "EntryRetracted" and kinds.get(envelope.event.version) in MOVES_STATUS:
            rows.status_changes += _reverted(history[:i], envelope, effective)
    return rows


def _reverted(
    before: Sequence[Envelope], retraction: Envelope, effective: Effective
) -> list[StatusChange]:
    """Children whose status the retraction changed, dated at the retraction."""
    then = fold_case(effective(before)).children
    now = fold_case(effective([*before, retraction])).children
    r = retraction.recorded
    return [
        StatusChange(
            r.transaction_id,
            r.position,
            r.stream_id,
            child.child_id,
            r.version,
            then[key].status,
            child.status,
            retraction.event.occurred_at,
        )
        for key, child in now.items()
        if key in then and then[key].status != child.status
    ]


def _summarise(rows: CaseRows, last: RecordedEvent) -> None:
    """The family view: the summary row and the members in the order they were added."""
    children = list(rows.children.values())
    statuses = [c.status for c in children if c.status != "with_family"]
    status = (
        "closed"
        if rows.closed
        else "separated"
        if any(s in OPEN_STATUSES for s in statuses)
        else "reunified"
        if statuses
        else "open"
    )
    rows.summary = SummaryRow(
        last.stream_id,
        rows.case_number,
        status,
        rows.opened_at,
        len(rows.ordinals),
        len(children),
        sum(c.status in OPEN_STATUSES for c in children),
        last.version,
        last.position,
        last.recorded_at,
    )
    for child in children:
        rows.members.append(
            MemberRow(
                child.family_id,
                child.child_id,
                "child",
                child.name,
                child.sex,
                child.birth_date,
                child.age,
                child.country,
                None,
                child.status,
                child.facility_id,
                child.facility_name,
                child.separated_at,
                child.discharged_at if child.discharge_kind == "reunified" else None,
                child.reunified_with,
                rows.ordinals[child.child_id.int],
            )
        )
    for adult in rows.parents.values():
        rows.members.append(
            MemberRow(
                adult.family_id,
                adult.parent_id,
                adult.role,
                adult.name,
                adult.sex,
                None,
                None,
                adult.country,
                adult.a_number,
                None,
                None,
                None,
                None,
                None,
                None,
                rows.ordinals[adult.parent_id.int],
            )
        )
    rows.members.sort(key=lambda m: m.ordinal)


def _opened(rows: CaseRows, env: Envelope, _: ChildRow | None) -> None:
    rows.case_number, rows.opened_at = env.event.case_number, env.event.occurred_at


def _closed(rows: CaseRows, env: Envelope, _: ChildRow | None) -> None:
    rows.closed = True


def _record_change(rows: CaseRows, env: Envelope, child: ChildRow, before: str | None) -> None:
    r = env.recorded
    rows.status_changes.append(
        StatusChange(
            r.transaction_id,
            r.position,
            r.stream_id,
            child.child_id,
            r.version,
            before,
            child.status,
            env.event.occurred_at,
        )
    )


def _member_added(rows: CaseRows, env: Envelope, _: ChildRow | None) -> None:
    e, family_id = env.event, env.recorded.stream_id
    key = e.person_id.int
    rows.ordinals[key] = e.originator_version
    rows.recorded_on[key] = day(e.occurred_at)
    name = e.name.value if e.name else None
    country = e.country.code if e.country else None
    if e.role.value == "child":
        rows.children[key] = ChildRow(
            family_id, e.person_id, name, e.age, e.birth_date, e.sex.value, country
        )
    else:
        rows.parents[key] = ParentRow(
            family_id,
            e.person_id,
            name,
            e.sex.value,
            country,
            e.a_number.value if e.a_number else None,
            e.role.value,
        )


def _linked(rows: CaseRows, env: Envelope, child: ChildRow | None) -> None:
    e = env.event
    if child is not None and e.parent_id not in child.parent_ids:
        child.parent_ids.append(e.parent_id)


def _separated(rows: CaseRows, env: Envelope, child: ChildRow) -> None:
    e = env.event
    if child.separated_at is None and child.separated_from is None:
        child.separated_at, child.separated_from = day(e.occurred_at), e.parent_id
        rows.separated_by.setdefault(e.parent_id.int, []).append(child)
        child.separation_reason = e.reason.value
        child.separation_reason_text = getattr(e, "reason_text", None)
    if child.status == "with_family":
        child.status = "separated"


def _referred(rows: CaseRows, env: Envelope, child: ChildRow) -> None:
    e = env.event
    child.referred_at, child.referring_office = day(e.occurred_at), e.office.name
    if child.status in ("with_family", "separated"):
        child.status = "referred"


def _placed(rows: CaseRows, env: Envelope, child: ChildRow) -> None:
    e = env.event
    on = day(e.occurred_at)
    # ._value_ is Enum.value without its Python property call: placements and transfers are
    # a long history's most common events.
    program = e.program_type._value_
    stay = Stay(child.family_id, child.child_id, e.facility.id, e.facility.name, program, on)
    rows.stays.append(stay)
    _close_stays(rows, child.child_id, on).append(stay)
    child.placed_at = child.placed_at or on
    child.status = "in_care"
    child.facility_id, child.facility_name = e.facility.id, e.facility.name
    child.program_type = program


def _close_stays(rows: CaseRows, child_id: UUID, on: date | None) -> list[Stay]:
    """End the child's open stays on a day; the list of its open stays, to add to."""
    # Only the child's open stays: scanning every stay made a long history quadratic.
    open_stays = rows.open_stays.get(child_id.int)
    if open_stays is None:
        open_stays = rows.open_stays[child_id.int] = []
    for stay in open_stays:
        stay.end_date = on
    if on is not None:  # closed on an unknown day, a stay is still open to the next close
        open_stays.clear()
    return open_stays


def _leave_care(rows: CaseRows, env: Envelope, child: ChildRow, status: str, kind: str) -> None:
    on = day(env.event.occurred_at)
    _close_stays(rows, child.child_id, on)
    child.status, child.discharged_at, child.discharge_kind = status, on, kind
    child.facility_id = child.facility_name = child.program_type = None


def _reunified(rows: CaseRows, env: Envelope, child: ChildRow) -> None:
    _leave_care(rows, env, child, "reunified", "reunified")
    child.reunified_with = env.event.parent_id


def _discharged(rows: CaseRows, env: Envelope, child: ChildRow) -> None:
    _leave_care(rows, env, child, "discharged", env.event.reason.value)


def _flagged(rows: CaseRows, env: Envelope, _: ChildRow | None) -> None:
    e = env.event
    rows.flags.append(Flag(env.recorded.stream_id, e.about_version, e.rule, e.detail))


_HANDLERS: dict[str, Handler] = {
    "CaseOpened": _opened,
    "CaseClosed": _closed,
    "MemberAdded": _member_added,
    "RelationshipRecorded": _linked,
    "DataQualityFlagged": _flagged,
    **PARENT_HANDLERS,
}
# The events that move a child the case knows (an event about one it does not know, which
# the aggregate never records, changes nothing).
_CHILD_HANDLERS: dict[str, Callable[[CaseRows, Envelope, ChildRow], None]] = {
    "Separated": _separated,
    "ChildReferred": _referred,
    "ChildPlaced": _placed,
    "ChildTransferred": _placed,
    "Reunified": _reunified,
    "ChildDischarged": _discharged,
}
# The events whose handlers set a child's status: those that move a child, and its arrival.
MOVES_STATUS = frozenset({*_CHILD_HANDLERS, "MemberAdded"})
