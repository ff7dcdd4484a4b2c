"""A pure fold from one family's effective history to its child, parent and interval rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from projections.projection import Envelope

# Before anything is known about a parent, their situation interval starts at -infinity.
DAWN = date.min
OPEN_STATUSES = ("separated", "referred", "in_care")


def day(moment: datetime | None) -> date | None:
    """The calendar day (UTC) of a moment; None stays unknown."""
    return None if moment is None else moment.date()


def age_band(age: int | None) -> str | None:
    """The court report's age bands."""
    if age is None:
        return None
    return "0-4" if age <= 4 else "5-17" if age <= 17 else "18+"


@dataclass
class ChildRow:
    """Where one child stands, and the dates that answer 'as of' questions."""

    family_id: UUID
    child_id: UUID
    name: str | None
    age: int | None
    birth_date: date | None
    sex: str
    country: str | None
    status: str = "with_family"
    separated_at: date | None = None
    separated_from: UUID | None = None
    separation_reason: str | None = None
    separation_reason_text: str | None = None
    referred_at: date | None = None
    referring_office: str | None = None
    placed_at: date | None = None
    facility_id: str | None = None
    facility_name: str | None = None
    program_type: str | None = None
    discharged_at: date | None = None
    discharge_kind: str | None = None
    reunified_with: UUID | None = None
    last_version: int = 0

    @property
    def age_band(self) -> str | None:
        return age_band(self.age)


@dataclass
class Stay:
    """One stay of a child with one care provider."""

    family_id: UUID
    child_id: UUID
    facility_id: str
    facility_name: str
    program_type: str
    start_date: date | None
    end_date: date | None = None


@dataclass
class ParentRow:
    """Where one parent stands on each of the paths the court asks about."""

    family_id: UUID
    parent_id: UUID
    name: str | None
    sex: str
    country: str | None
    a_number: str | None
    custody: str | None = None
    facility_id: str | None = None
    facility_name: str | None = None
    released_at: date | None = None
    released_to: str | None = None
    credible_fear: str | None = None
    credible_fear_while_separated: bool | None = None
    removal_order: str | None = None
    removal_election: str | None = None
    removed_at: date | None = None
    removed_to: str | None = None
    times_removed: int = 0
    children_removed_with: list[UUID] = field(default_factory=list)
    returned_at: date | None = None
    return_route: str | None = None
    location_attempts: int = 0
    located: bool = False
    preference: str | None = None
    eligibility: str | None = None
    red_flag: str | None = None
    settlement_election: str | None = None
    reinterview_outcome: str | None = None
    asylum_reopened: bool = False
    situation: str = "location_unknown"


@dataclass
class Situation:
    """A parent's situation over an interval of days."""

    family_id: UUID
    parent_id: UUID
    situation: str
    country: str | None
    start_date: date
    end_date: date | None = None


@dataclass
class Flag:
    """A data-quality rule a recorded event broke."""

    family_id: UUID
    version: int
    rule: str
    detail: str


@dataclass
class StatusChange:
    """A child's status changed, caused by the event at this place in the log."""

    transaction_id: int
    position: int
    family_id: UUID
    child_id: UUID
    version: int
    from_status: str | None
    to_status: str
    occurred_at: datetime | None


@dataclass
class CaseRows:
    """Everything the case read models hold for one family."""

    children: dict[UUID, ChildRow] = field(default_factory=dict)
    stays: list[Stay] = field(default_factory=list)
    parents: dict[UUID, ParentRow] = field(default_factory=dict)
    situations: list[Situation] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    status_changes: list[StatusChange] = field(default_factory=list)
    open_situations: dict[UUID, Situation] = field(default_factory=dict)


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


def fold_case(history: Sequence[Envelope]) -> CaseRows:
    """Fold one family's effective events, in version order, into its rows."""
    rows = CaseRows()
    for envelope in history:
        child_id = getattr(envelope.event, "child_id", None) or getattr(
            envelope.event, "person_id", None
        )
        before = rows.children[child_id].status if child_id in rows.children else None
        handler = _HANDLERS.get(envelope.kind)
        if handler is not None:
            handler(rows, envelope)
        child = rows.children.get(child_id) if child_id else None
        if child is not None:
            child.last_version = envelope.recorded.version
            if child.status != before:
                _record_change(rows, envelope, child, before)
        for parent in rows.parents.values():
            _track_situation(rows, parent, day(envelope.event.occurred_at))
    return rows


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


def _track_situation(rows: CaseRows, parent: ParentRow, on: date | None) -> None:
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


def _member_added(rows: CaseRows, env: Envelope) -> None:
    e, family_id = env.event, env.recorded.stream_id
    name = e.name.value if e.name else None
    country = e.country.code if e.country else None
    if e.role.value == "child":
        rows.children[e.person_id] = ChildRow(
            family_id, e.person_id, name, e.age, e.birth_date, e.sex.value, country
        )
    else:
        rows.parents[e.person_id] = ParentRow(
            family_id,
            e.person_id,
            name,
            e.sex.value,
            country,
            e.a_number.value if e.a_number else None,
        )


def _separated(rows: CaseRows, env: Envelope) -> None:
    e, child = env.event, rows.children[env.event.child_id]
    if child.separated_at is None and child.separated_from is None:
        child.separated_at, child.separated_from = day(e.occurred_at), e.parent_id
        child.separation_reason = e.reason.value
        child.separation_reason_text = getattr(e, "reason_text", None)
    if child.status == "with_family":
        child.status = "separated"


def _referred(rows: CaseRows, env: Envelope) -> None:
    e, child = env.event, rows.children[env.event.child_id]
    child.referred_at, child.referring_office = day(e.occurred_at), e.office.name
    if child.status in ("with_family", "separated"):
        child.status = "referred"


def _placed(rows: CaseRows, env: Envelope) -> None:
    e, child = env.event, rows.children[env.event.child_id]
    on = day(e.occurred_at)
    _close_stay(rows, child.child_id, on)
    rows.stays.append(
        Stay(
            child.family_id,
            child.child_id,
            e.facility.id,
            e.facility.name,
            e.program_type.value,
            on,
        )
    )
    child.placed_at = child.placed_at or on
    child.status = "in_care"
    child.facility_id, child.facility_name = e.facility.id, e.facility.name
    child.program_type = e.program_type.value


def _close_stay(rows: CaseRows, child_id: UUID, on: date | None) -> None:
    for stay in rows.stays:
        if stay.child_id == child_id and stay.end_date is None:
            stay.end_date = on


def _leave_care(rows: CaseRows, env: Envelope, status: str, kind: str) -> None:
    child = rows.children[env.event.child_id]
    on = day(env.event.occurred_at)
    _close_stay(rows, child.child_id, on)
    child.status, child.discharged_at, child.discharge_kind = status, on, kind
    child.facility_id = child.facility_name = child.program_type = None


def _reunified(rows: CaseRows, env: Envelope) -> None:
    _leave_care(rows, env, "reunified", "reunified")
    rows.children[env.event.child_id].reunified_with = env.event.parent_id


def _discharged(rows: CaseRows, env: Envelope) -> None:
    _leave_care(rows, env, "discharged", env.event.reason.value)


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


def _flagged(rows: CaseRows, env: Envelope) -> None:
    e = env.event
    rows.flags.append(Flag(env.recorded.stream_id, e.about_version, e.rule, e.detail))


_HANDLERS = {
    "MemberAdded": _member_added,
    "Separated": _separated,
    "ChildReferred": _referred,
    "ChildPlaced": _placed,
    "ChildTransferred": _placed,
    "Reunified": _reunified,
    "ChildDischarged": _discharged,
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
    "DataQualityFlagged": _flagged,
}
