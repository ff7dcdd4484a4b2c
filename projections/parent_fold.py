"""The parent half of the case fold: custody, removal and return, eligibility per child,
and the situation the court report files each separated child's parent under, kept as
intervals per parent and child."""

from __future__ import annotations

from uuid import UUID

from domain import events
from domain.paths import Eligibility
from domain.personal import clear
from domain.values import CustodyKind, EligibilityOutcome, Facility, LocationOutcome
from projections.case_rows import (
    DAWN,
    CaseRows,
    ChildRow,
    ParentRow,
    Situation,
    day,
)
from projections.dispatch import Handlers
from service.eventstore.records import RecordedEvent


def situation_of(parent: ParentRow, eligibility: str | None) -> tuple[str, str | None]:
    """The court report's parent category, by precedence, and the removal country, given
    the eligibility that applies (one child's, or the parent's summary)."""
    if eligibility == "ineligible":
        return "ineligible", None
    if parent.preference == "waive_child_stays":
        return "waived", parent.removed_to
    if parent.removed_at is not None and parent.returned_at is None:
        return "removed", parent.removed_to
    if parent.custody == "ice":
        return "ice_custody", None
    if parent.custody is not None:
        # The report's other custody line is "other federal, state or local custody":
        # US Marshals, state or local, and any other non-ICE hold all belong there.
        return "criminal_custody", None
    if parent.released_at is not None or parent.returned_at is not None or parent.located:
        # In the US and out of custody: released, returned (parole or court order) and not
        # detained since, or found by a search while not removed. The report's category
        # for a parent at large in the US is "released into the interior".
        return "released_interior", None
    return "location_unknown", None


def stance_of(parent: ParentRow, separated: bool) -> str | None:
    """Where a parent stands in the settlement's class (case_rows.ParentRow), or None when
    outside it: a negative credible-fear decision made while separated from a child, and no
    red flag or ineligibility for any of their children."""
    in_class = (
        separated
        and parent.credible_fear == "negative"
        and parent.credible_fear_while_separated is True
        and parent.red_flag is None
        and parent.eligibility != "ineligible"
    )
    if not in_class:
        return None
    if parent.reinterview_outcome is not None:
        return "decided"
    if parent.settlement_election == "decline_review":
        return "declined"
    return "awaiting"


def stances(rows: CaseRows) -> None:
    """Each parent's stance in the settlement's class, from their row as folded so far."""
    for parent in rows.parents.values():
        parent.reinterview_stance = stance_of(
            parent, bool(rows.separated_by.get(parent.parent_id.int))
        )


def pair_situation(rows: CaseRows, parent: ParentRow, child: ChildRow) -> tuple[str, str | None]:
    """The category of a parent as it bears on one child: with that pair's eligibility."""
    determined = (
        rows.eligibility.get((parent.parent_id.int, child.child_id.int))
        if rows.eligibility
        else None
    )
    return situation_of(parent, determined.outcome.value if determined else None)


def child_situation(rows: CaseRows, child: ChildRow) -> tuple[str, str | None] | None:
    """The category a child is filed under, by its separated parent; None when never
    separated (the report's categories are about separated parents only)."""
    if child.separated_from is None:
        return None
    parent = rows.parents.get(child.separated_from.int)
    if parent is None:  # the parent's entry was retracted: nothing is known of them
        return "location_unknown", None
    return pair_situation(rows, parent, child)


# A category depends on the parent's row, the pair's eligibility and whom the child was
# separated from: only events naming the parent change those (Separated and
# EligibilityDetermined name the parent too), so only their pairs are tracked again.
NAMED = ("parent_id", "person_id")


def track_situations(rows: CaseRows, event: events.Happened) -> None:
    """After one event: the category of a parent it names, and the intervals of each child
    separated from that parent."""
    for attr in NAMED:
        person: UUID | None = getattr(event, attr, None)
        if person is None or (adult := rows.parents.get(person.int)) is None:
            continue
        own = situation_of(adult, adult.eligibility)
        adult.situation = own[0]
        separated = rows.separated_by.get(person.int)
        if not separated:
            continue
        # With no determination for any pair, each pair's category is the parent's own.
        shared = own if adult.eligibility is None and not rows.eligibility else None
        for child in separated:
            _track(rows, adult, child, shared or pair_situation(rows, adult, child), event)


def _track(
    rows: CaseRows,
    parent: ParentRow,
    child: ChildRow,
    found: tuple[str, str | None],
    event: events.Happened,
) -> None:
    """Close the pair's open interval and open another, from the event's day, when the
    category changes."""
    current = rows.open_situations.get(child.child_id.int)
    if current is not None and (current.situation, current.country) == found:
        return
    on = day(event.occurred_at)
    start = DAWN if current is None else max(on or current.start_date, current.start_date)
    if current is not None:
        current.end_date = start
    opened = Situation(child.family_id, parent.parent_id, child.child_id, *found, start)
    rows.situations.append(opened)
    rows.open_situations[child.child_id.int] = opened


# The parent half of the case fold's table; case_fold adds the events about the case and
# its members. Each handler is given the event, the rows, the event's row, and the child
# the event names if the case knows it; `*_` leaves out what a handler does not use.
PARENT_HANDLERS: Handlers[[CaseRows, RecordedEvent, ChildRow | None], None] = Handlers()


def _detain(rows: CaseRows, parent_id: UUID, custody: CustodyKind, facility: Facility) -> None:
    if (p := rows.parents.get(parent_id.int)) is not None:
        p.custody, p.released_at = custody.value, None
        p.facility_id, p.facility_name = facility.id, facility.name


@PARENT_HANDLERS.on(events.ParentDetained)
def _detained(e: events.ParentDetained, rows: CaseRows, *_: object) -> None:
    _detain(rows, e.parent_id, e.custody, e.facility)


@PARENT_HANDLERS.on(events.ParentTransferred)
def _transferred(e: events.ParentTransferred, rows: CaseRows, *_: object) -> None:
    _detain(rows, e.parent_id, e.custody, e.facility)


@PARENT_HANDLERS.on(events.ParentReleased)
def _released(e: events.ParentReleased, rows: CaseRows, *_: object) -> None:
    if (p := rows.parents.get(e.parent_id.int)) is not None:
        p.custody = p.facility_id = p.facility_name = None
        p.released_at, p.released_to = day(e.occurred_at) or DAWN, clear(e.destination)


@PARENT_HANDLERS.on(events.ParentRemoved)
def _removed(e: events.ParentRemoved, rows: CaseRows, *_: object) -> None:
    if (p := rows.parents.get(e.parent_id.int)) is not None:
        p.custody = p.facility_id = p.facility_name = None
        p.removed_at, p.removed_to = day(e.occurred_at) or DAWN, e.country.code
        p.times_removed += 1
        p.returned_at = p.return_route = None
        p.children_removed_with = list(e.children_removed_with)


@PARENT_HANDLERS.on(events.ParentReturned)
def _returned(e: events.ParentReturned, rows: CaseRows, *_: object) -> None:
    if (p := rows.parents.get(e.parent_id.int)) is not None:
        p.returned_at, p.return_route = day(e.occurred_at) or DAWN, e.how.value


@PARENT_HANDLERS.on(events.CredibleFearDecided)
def _credible_fear(e: events.CredibleFearDecided, rows: CaseRows, *_: object) -> None:
    if (p := rows.parents.get(e.person_id.int)) is not None:
        p.credible_fear = e.outcome.value
        p.credible_fear_while_separated = e.while_separated


@PARENT_HANDLERS.on(events.RemovalOrdered)
def _removal_ordered(e: events.RemovalOrdered, rows: CaseRows, *_: object) -> None:
    if (p := rows.parents.get(e.parent_id.int)) is not None:
        p.removal_order = e.kind.value


@PARENT_HANDLERS.on(events.RemovalElectionSigned)
def _election(e: events.RemovalElectionSigned, rows: CaseRows, *_: object) -> None:
    if (p := rows.parents.get(e.parent_id.int)) is not None:
        p.removal_election = e.election.value


@PARENT_HANDLERS.on(events.LocationAttempted)
def _location(e: events.LocationAttempted, rows: CaseRows, *_: object) -> None:
    if (p := rows.parents.get(e.parent_id.int)) is not None:
        p.location_attempts += 1
        p.located = p.located or e.outcome is LocationOutcome.FOUND


@PARENT_HANDLERS.on(events.PreferenceRecorded)
def _preference(e: events.PreferenceRecorded, rows: CaseRows, *_: object) -> None:
    if (p := rows.parents.get(e.parent_id.int)) is not None:
        p.preference = e.preference.value


@PARENT_HANDLERS.on(events.EligibilityDetermined)
def _eligibility(e: events.EligibilityDetermined, rows: CaseRows, *_: object) -> None:
    if (p := rows.parents.get(e.parent_id.int)) is None:
        return
    key = (p.parent_id.int, e.child_id.int)
    rows.eligibility.pop(key, None)  # a new determination for the pair becomes the latest
    rows.eligibility[key] = Eligibility(e.outcome, e.red_flag)
    mine = [d for (parent, _), d in rows.eligibility.items() if parent == p.parent_id.int]
    ineligible = any(d.outcome is EligibilityOutcome.INELIGIBLE for d in mine)
    p.eligibility = "ineligible" if ineligible else "eligible"
    # An erased red flag still stands (it keeps the parent out of the class): its text is
    # the erased marker's, never the flag's words and never nothing.
    flags = [d.red_flag for d in mine if d.red_flag is not None]
    p.red_flag = str(flags[-1]) if flags else None


@PARENT_HANDLERS.on(events.SettlementElected)
def _settlement(e: events.SettlementElected, rows: CaseRows, *_: object) -> None:
    if (p := rows.parents.get(e.person_id.int)) is not None:
        p.settlement_election = e.election.value


@PARENT_HANDLERS.on(events.Reinterviewed)
def _reinterviewed(e: events.Reinterviewed, rows: CaseRows, *_: object) -> None:
    if (p := rows.parents.get(e.person_id.int)) is not None:
        p.reinterview_outcome = e.outcome.value


@PARENT_HANDLERS.on(events.AsylumCaseReopened)
def _reopened(e: events.AsylumCaseReopened, rows: CaseRows, *_: object) -> None:
    if (p := rows.parents.get(e.person_id.int)) is not None:
        p.asylum_reopened = True


# The events that can change a category: the parent fold's (parent rows, eligibility), a
# separation (whom from) and a parent's arrival; track_situations runs after these only.
MOVES_SITUATION = frozenset({*PARENT_HANDLERS, events.Separated, events.MemberAdded})
