"""The child half of the case fold: separation, referral, care stays and leaving care."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from domain import events
from domain.paths import ChildStatus
from domain.personal import clear
from domain.values import Facility, ProgramType
from projections.case_rows import CaseRows, ChildRow, Stay, day
from projections.dispatch import Handlers
from service.eventstore.records import RecordedEvent

# The statuses as the status columns hold them.
WITH_FAMILY = ChildStatus.WITH_FAMILY.value
SEPARATED = ChildStatus.SEPARATED.value
REFERRED = ChildStatus.REFERRED.value
IN_CARE = ChildStatus.IN_CARE.value

# The events that move a child the case knows (an event about one it does not know, which
# the aggregate never records, changes nothing).
CHILD_HANDLERS: Handlers[[CaseRows, RecordedEvent, ChildRow], None] = Handlers()


@CHILD_HANDLERS.on(events.Separated)
def _separated(e: events.Separated, rows: CaseRows, _: RecordedEvent, child: ChildRow) -> None:
    if child.separated_at is None and child.separated_from is None:
        child.separated_at, child.separated_from = day(e.occurred_at), e.parent_id
        rows.separated_by.setdefault(e.parent_id.int, []).append(child)
        child.separation_reason = e.reason.value
        child.separation_reason_text = clear(e.reason_text)
    if child.status == WITH_FAMILY:
        child.status = SEPARATED


@CHILD_HANDLERS.on(events.ChildReferred)
def _referred(e: events.ChildReferred, rows: CaseRows, _: RecordedEvent, child: ChildRow) -> None:
    child.referred_at, child.referring_office = day(e.occurred_at), e.office.name
    if child.status in (WITH_FAMILY, SEPARATED):
        child.status = REFERRED


@CHILD_HANDLERS.on(events.ChildPlaced)
def _placed(e: events.ChildPlaced, rows: CaseRows, _: RecordedEvent, child: ChildRow) -> None:
    _place(rows, child, e.facility, e.program_type, e.occurred_at)


@CHILD_HANDLERS.on(events.ChildTransferred)
def _transferred(
    e: events.ChildTransferred, rows: CaseRows, _: RecordedEvent, child: ChildRow
) -> None:
    _place(rows, child, e.facility, e.program_type, e.occurred_at)


def _place(
    rows: CaseRows, child: ChildRow, facility: Facility, program: ProgramType, at: datetime
) -> None:
    """Open a stay with a care provider, ending the child's open ones that day."""
    on = day(at)
    stay = Stay(child.family_id, child.child_id, facility.id, facility.name, program.value, on)
    rows.stays.append(stay)
    _close_stays(rows, child.child_id, on).append(stay)
    child.placed_at = child.placed_at or on
    child.status = IN_CARE
    child.facility_id, child.facility_name = facility.id, facility.name
    child.program_type = program.value


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


def _leave_care(child: ChildRow, rows: CaseRows, at: datetime | None, status: ChildStatus) -> None:
    on = day(at)
    _close_stays(rows, child.child_id, on)
    child.status, child.discharged_at = status.value, on
    child.facility_id = child.facility_name = child.program_type = None


@CHILD_HANDLERS.on(events.Reunified)
def _reunified(e: events.Reunified, rows: CaseRows, _: RecordedEvent, child: ChildRow) -> None:
    _leave_care(child, rows, e.occurred_at, ChildStatus.REUNIFIED)
    child.discharge_kind, child.reunified_with = ChildStatus.REUNIFIED.value, e.parent_id


@CHILD_HANDLERS.on(events.ChildDischarged)
def _discharged(
    e: events.ChildDischarged, rows: CaseRows, _: RecordedEvent, child: ChildRow
) -> None:
    _leave_care(child, rows, e.occurred_at, ChildStatus.DISCHARGED)
    child.discharge_kind = e.reason.value
