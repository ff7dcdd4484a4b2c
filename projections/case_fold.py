"""A pure fold from one family's effective history to every row the case read models hold."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from uuid import UUID

from domain import events
from domain.paths import CaseStatus, ChildStatus
from domain.personal import ERASED, clear
from domain.values import MemberRole
from projections.case_rows import (
    OPEN_STATUSES,
    CaseRows,
    ChildRow,
    Flag,
    MemberRow,
    ParentRow,
    StatusChange,
    SummaryRow,
    day,
)
from projections.child_fold import CHILD_HANDLERS
from projections.counsel_fold import COUNSEL_HANDLERS
from projections.dispatch import Handlers, declared
from projections.parent_fold import MOVES_SITUATION, PARENT_HANDLERS, stances, track_situations
from projections.projection import Envelope
from service.eventstore.records import RecordedEvent

REUNIFIED = ChildStatus.REUNIFIED.value


def fold_case(
    history: Sequence[Envelope],
    last: RecordedEvent | None = None,
    asylum_entries: dict[int, UUID] | None = None,
) -> CaseRows:
    """Fold one family's effective events, in version order, into its rows.

    `last` is the stream's newest row (an amendment, perhaps), which dates the summary;
    `asylum_entries` the stream's asylum records, retracted ones too (see asylum_entries).
    """
    rows = CaseRows(asylum_entries=dict(asylum_entries or {}))
    for envelope in history:
        _fold(rows, envelope)
    if history:
        _summarise(rows, last or history[-1].recorded)
    return rows


def fold_more(rows: CaseRows, later: Sequence[Envelope]) -> CaseRows:
    """Go on with a fold: events after those `rows` hold, amending none of them."""
    for envelope in later:
        _fold(rows, envelope)
    if later:
        _summarise(rows, later[-1].recorded)
    return rows


def _fold(rows: CaseRows, envelope: Envelope) -> None:
    """One event: its handler, then the status change and situations it caused."""
    recorded, event = envelope
    kind = declared(event)
    child_id = getattr(event, "child_id", None) or getattr(event, "person_id", None)
    # The child the event names, looked up once: each handler is given it.
    child = rows.children.get(child_id.int) if child_id is not None else None
    before = child.status if child is not None else None
    if (handle := _HANDLERS.get(kind)) is not None:
        handle(event, rows, recorded, child)
    elif child is not None and (move := CHILD_HANDLERS.get(kind)) is not None:
        move(event, rows, recorded, child)
    if event.asylum_record:
        rows.asylum_entries[event.originator_version] = event.person_id
    if child is None and child_id is not None:  # MemberAdded adds the child
        child = rows.children.get(child_id.int)
    if child is not None:
        child.last_version = event.originator_version
        if child.status != before:
            _record_change(rows, envelope, child, before)
    if kind in MOVES_SITUATION:
        track_situations(rows, event)


Effective = Callable[[Sequence[Envelope]], Sequence[Envelope]]


def case_rows(history: Sequence[Envelope], effective: Effective) -> CaseRows:
    """The rows of one family's whole stream: the effective fold, plus the status changes
    retractions cause (the fold cannot see them: what was retracted is simply absent)."""
    rows = fold_case(
        effective(history), history[-1].recorded if history else None, asylum_entries(history)
    )
    kinds = {e.recorded.version: declared(e.event) for e in history}
    for i, envelope in enumerate(history):
        # Two folds of the prefix per retraction: only for those that can move a status.
        retraction = envelope.event
        if (
            isinstance(retraction, events.EntryRetracted)
            and kinds.get(retraction.version) in MOVES_STATUS
        ):
            rows.status_changes += _reverted(history[:i], envelope, effective)
    return rows


def asylum_entries(history: Sequence[Envelope]) -> dict[int, UUID]:
    """The stream's asylum records by version, with the person each is about: retracted ones
    too, since a flag about one still says whose record it was."""
    return {e.recorded.version: e.event.person_id for e in history if e.event.asylum_record}


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
    rows.members.clear()  # made anew each time: a fold may go on after it
    stances(rows)
    children = list(rows.children.values())
    statuses = [c.status for c in children if c.status != ChildStatus.WITH_FAMILY.value]
    status = (
        CaseStatus.CLOSED
        if rows.closed
        else CaseStatus.SEPARATED
        if any(s in OPEN_STATUSES for s in statuses)
        else CaseStatus.REUNIFIED
        if statuses
        else CaseStatus.OPEN
    )
    rows.summary = SummaryRow(
        last.stream_id,
        rows.case_number,
        status.value,
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
                MemberRole.CHILD.value,
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
                child.discharged_at if child.discharge_kind == REUNIFIED else None,
                child.reunified_with,
                rows.ordinals[child.child_id.int],
                child.child_id.int in rows.erased,
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
                adult.parent_id.int in rows.erased,
            )
        )
    rows.members.sort(key=lambda m: m.ordinal)


# The events about the case and its members; the parent half is parent_fold's. Each handler
# is given the event, the rows, the event's row, and the child the event names if known.
CASE_HANDLERS: Handlers[[CaseRows, RecordedEvent, ChildRow | None], None] = Handlers()


@CASE_HANDLERS.on(events.CaseOpened)
def _opened(e: events.CaseOpened, rows: CaseRows, *_: object) -> None:
    rows.case_number, rows.opened_at = e.case_number, e.occurred_at


@CASE_HANDLERS.on(events.CaseClosed)
def _closed(e: events.CaseClosed, rows: CaseRows, *_: object) -> None:
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


@CASE_HANDLERS.on(events.MemberAdded)
def _member_added(e: events.MemberAdded, rows: CaseRows, r: RecordedEvent, *_: object) -> None:
    key = e.person_id.int
    rows.ordinals[key] = e.originator_version
    rows.recorded_on[key] = day(e.occurred_at)
    # An erased value (domain.personal.ERASED) is falsy: it is written as null, and flagged
    # at every point of the history, before the erasure's own entry too.
    if ERASED in (e.name, e.birth_date, e.a_number):
        rows.erased.add(key)
    name = e.name.value if e.name else None
    country = e.country.code if e.country else None
    erased = key in rows.erased
    if e.role is MemberRole.CHILD:
        rows.children[key] = ChildRow(
            r.stream_id, e.person_id, name, e.age, clear(e.birth_date), e.sex.value, country
        )
        rows.children[key].personal_data_erased = erased
    else:
        rows.parents[key] = ParentRow(
            r.stream_id,
            e.person_id,
            name,
            e.sex.value,
            country,
            e.a_number.value if e.a_number else None,
            e.role.value,
        )
        rows.parents[key].personal_data_erased = erased


@CASE_HANDLERS.on(events.PersonalDataErased)
def _erased(e: events.PersonalDataErased, rows: CaseRows, *_: object) -> None:
    key = e.person_id.int
    rows.erased.add(key)
    child, parent = rows.children.get(key), rows.parents.get(key)
    if child is not None:
        child.personal_data_erased = True
        if child.age is None and e.age is not None:
            child.age = e.age  # what the erased birth date gave: the counts by age stay
    if parent is not None:
        parent.personal_data_erased = True


@CASE_HANDLERS.on(events.RelationshipRecorded)
def _linked(
    e: events.RelationshipRecorded, rows: CaseRows, _: object, child: ChildRow | None
) -> None:
    if child is not None and e.parent_id not in child.parent_ids:
        child.parent_ids.append(e.parent_id)


@CASE_HANDLERS.on(events.DataQualityFlagged)
def _flagged(e: events.DataQualityFlagged, rows: CaseRows, r: RecordedEvent, *_: object) -> None:
    about = rows.asylum_entries.get(e.about_version)
    rows.flags.append(Flag(r.stream_id, e.about_version, e.rule, e.detail, about))


_HANDLERS = {**CASE_HANDLERS, **PARENT_HANDLERS, **COUNSEL_HANDLERS}
# The events whose handlers set a child's status: those that move a child, and its arrival.
MOVES_STATUS = frozenset({*CHILD_HANDLERS, events.MemberAdded})
