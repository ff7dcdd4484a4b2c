"""The parent half of the case fold: custody, removal and return, and the situation
the court report files each parent under, kept as intervals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from projections.case_rows import DAWN, CaseRows, ParentRow, Situation, day
from projections.projection import Envelope

Handler = Callable[[CaseRows, Envelope], None]


def situation_of(parent: ParentRow) -> tuple[str, str | None]:
    """The court report's parent category, by precedence, and the removal country."""
    if parent.eligibility == "ineligible":
        return "ineligible", None
    if parent.preference == "waive_child_stays":
        return "waived", parent.removed_to
    if parent.removed_at is not None and parent.returned_at is None:
        return "removed", parent.removed_to
    if parent.custody == "ice":
        return "ice_custody", None
    if parent.custody in ("us_marshals", "state_or_local"):
        return "criminal_custody", None
    if parent.released_at is not None:
        return "released_interior", None
    return "location_unknown", None


def track_situation(rows: CaseRows, parent: ParentRow, on: date | None) -> None:
    """Close the parent's open interval and open another when the category changes."""
    situation, country = situation_of(parent)
    current = rows.open_situations.get(parent.parent_id)
    if current is not None and (current.situation, current.country) == (situation, country):
        return
    start = DAWN if current is None else max(on or current.start_date, current.start_date)
    if current is not None:
        current.end_date = start
    opened = Situation(parent.family_id, parent.parent_id, situation, country, start)
    rows.situations.append(opened)
    rows.open_situations[parent.parent_id] = opened
    parent.situation = situation


def _parent(rows: CaseRows, env: Envelope, attr: str = "parent_id") -> ParentRow | None:
    return rows.parents.get(getattr(env.event, attr))


def _detained(rows: CaseRows, env: Envelope) -> None:
    if (p := _parent(rows, env)) is not None:
        p.custody, p.released_at = env.event.custody.value, None
        p.facility_id, p.facility_name = env.event.facility.id, env.event.facility.name


def _released(rows: CaseRows, env: Envelope) -> None:
    if (p := _parent(rows, env)) is not None:
        p.custody = p.facility_id = p.facility_name = None
        p.released_at, p.released_to = day(env.event.occurred_at) or DAWN, env.event.destination


def _removed(rows: CaseRows, env: Envelope) -> None:
    if (p := _parent(rows, env)) is not None:
        e = env.event
        p.custody = p.facility_id = p.facility_name = None
        p.removed_at, p.removed_to = day(e.occurred_at) or DAWN, e.country.code
        p.times_removed += 1
        p.returned_at = p.return_route = None
        p.children_removed_with = list(e.children_removed_with)


def _returned(rows: CaseRows, env: Envelope) -> None:
    if (p := _parent(rows, env)) is not None:
        p.returned_at, p.return_route = day(env.event.occurred_at) or DAWN, env.event.how.value


def _setter(attr: str, value_of: str, person: str = "parent_id") -> Any:
    def handle(rows: CaseRows, env: Envelope) -> None:
        if (p := _parent(rows, env, person)) is not None:
            setattr(p, attr, getattr(env.event, value_of).value)

    return handle


def _credible_fear(rows: CaseRows, env: Envelope) -> None:
    if (p := _parent(rows, env, "person_id")) is not None:
        p.credible_fear = env.event.outcome.value
        p.credible_fear_while_separated = env.event.while_separated


def _location(rows: CaseRows, env: Envelope) -> None:
    if (p := _parent(rows, env)) is not None:
        p.location_attempts += 1
        p.located = p.located or env.event.outcome.value == "found"


def _eligibility(rows: CaseRows, env: Envelope) -> None:
    if (p := _parent(rows, env)) is not None:
        p.eligibility, p.red_flag = env.event.outcome.value, env.event.red_flag


def _reopened(rows: CaseRows, env: Envelope) -> None:
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
