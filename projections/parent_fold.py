"""The parent half of the case fold: custody, removal and return, eligibility per child,
and the situation the court report files each separated child's parent under, kept as
intervals per parent and child."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.paths import Eligibility
from projections.case_rows import (
    DAWN,
    CaseRows,
    ChildRow,
    ParentRow,
    Situation,
    day,
)
from projections.projection import Envelope

# A handler is given the rows, the event, and the child the event names if it is known.
Handler = Callable[[CaseRows, Envelope, ChildRow | None], None]


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


def track_situations(rows: CaseRows, event: Any) -> None:
    """After one event: the category of a parent it names, and the intervals of each child
    separated from that parent."""
    named = vars(event)  # a dict lookup: getattr with a default raises inside when absent
    for attr in NAMED:
        person = named.get(attr)
        adult = rows.parents.get(person.int) if person is not None else None
        if adult is None:
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
    event: Any,
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


def _parent(rows: CaseRows, env: Envelope, attr: str = "parent_id") -> ParentRow | None:
    return rows.parents.get(getattr(env.event, attr).int)


def _detained(rows: CaseRows, env: Envelope, _: ChildRow | None) -> None:
    if (p := _parent(rows, env)) is not None:
        # ._value_: Enum.value without its Python property call, for the commonest events.
        p.custody, p.released_at = env.event.custody._value_, None
        p.facility_id, p.facility_name = env.event.facility.id, env.event.facility.name


def _released(rows: CaseRows, env: Envelope, _: ChildRow | None) -> None:
    if (p := _parent(rows, env)) is not None:
        p.custody = p.facility_id = p.facility_name = None
        p.released_at, p.released_to = day(env.event.occurred_at) or DAWN, env.event.destination


def _removed(rows: CaseRows, env: Envelope, _: ChildRow | None) -> None:
    if (p := _parent(rows, env)) is not None:
        e = env.event
        p.custody = p.facility_id = p.facility_name = None
        p.removed_at, p.removed_to = day(e.occurred_at) or DAWN, e.country.code
        p.times_removed += 1
        p.returned_at = p.return_route = None
        p.children_removed_with = list(e.children_removed_with)


def _returned(rows: CaseRows, env: Envelope, _: ChildRow | None) -> None:
    if (p := _parent(rows, env)) is not None:
        p.returned_at, p.return_route = day(env.event.occurred_at) or DAWN, env.event.how.value


def _setter(attr: str, value_of: str, person: str = "parent_id") -> Handler:
    def handle(rows: CaseRows, env: Envelope, _: ChildRow | None) -> None:
        if (p := _parent(rows, env, person)) is not None:
            setattr(p, attr, getattr(env.event, value_of).value)

    return handle


def _credible_fear(rows: CaseRows, env: Envelope, _: ChildRow | None) -> None:
    if (p := _parent(rows, env, "person_id")) is not None:
        p.credible_fear = env.event.outcome.value
        p.credible_fear_while_separated = env.event.while_separated


def _location(rows: CaseRows, env: Envelope, _: ChildRow | None) -> None:
    if (p := _parent(rows, env)) is not None:
        p.location_attempts += 1
        p.located = p.located or env.event.outcome._value_ == "found"


def _eligibility(rows: CaseRows, env: Envelope, _: ChildRow | None) -> None:
    e = env.event
    if (p := _parent(rows, env)) is None:
        return
    key = (p.parent_id.int, e.child_id.int)
    rows.eligibility.pop(key, None)  # a new determination for the pair becomes the latest
    rows.eligibility[key] = Eligibility(e.outcome, e.red_flag)
    mine = [d for (parent, _), d in rows.eligibility.items() if parent == p.parent_id.int]
    outcomes = {d.outcome.value for d in mine}
    p.eligibility = "ineligible" if "ineligible" in outcomes else "eligible"
    flags = [d.red_flag for d in mine if d.red_flag]
    p.red_flag = flags[-1] if flags else None


def _reopened(rows: CaseRows, env: Envelope, _: ChildRow | None) -> None:
    if (p := _parent(rows, env, "person_id")) is not None:
        p.asylum_reopened = True


PARENT_HANDLERS: dict[str, Handler] = {
    "ParentDetained": _detained,
    "ParentTransferred": _detained,
    "ParentReleased": _released,
    "ParentRemoved": _removed,
    "ParentReturned": _returned,
    "CredibleFearDecided": _credible_fear,
    "RemovalOrdered": _setter("removal_order", "kind"),
    "RemovalElectionSigned": _setter("removal_election", "election"),
    "LocationAttempted": _location,
    "PreferenceRecorded": _setter("preference", "preference"),
    "EligibilityDetermined": _eligibility,
    "SettlementElected": _setter("settlement_election", "election", "person_id"),
    "Reinterviewed": _setter("reinterview_outcome", "outcome", "person_id"),
    "AsylumCaseReopened": _reopened,
}
# The events that can change a category: the parent fold's (parent rows, eligibility), a
# separation (whom from) and a parent's arrival; track_situations runs after these only.
MOVES_SITUATION = frozenset({*PARENT_HANDLERS, "Separated", "MemberAdded"})
