"""One human-readable line per event, in the caseworker's words."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import date
from enum import Enum
from typing import Any
from uuid import UUID

from domain import events as e
from domain.family import Family
from domain.values import FieldChange, Place

Labels = Mapping[UUID, str]

# A correction may amend a confidential entry: its values stay out of the timeline.
_CONFIDENTIAL_FIELDS = frozenset(
    name
    for kind in Family.confidential_event_types()
    for name in getattr(Family, kind).__dataclass_fields__
) - frozenset({"originator_id", "originator_version", "timestamp", "occurred_at", "person_id"})


def _who(labels: Labels, person_id: UUID) -> str:
    return labels.get(person_id, f"person {str(person_id)[:8]}")


def _all(labels: Labels, people: list[UUID]) -> str:
    return ", ".join(_who(labels, p) for p in people)


_ACRONYMS = {"ice": "ICE", "us": "US", "dna": "DNA"}


def _words(value: Enum) -> str:
    return " ".join(_ACRONYMS.get(w, w) for w in str(value.value).split("_"))


def _place(place: Place | None) -> str:
    if place is None:
        return "an unrecorded place"
    return f"{place.name} ({_words(place.kind)})"


def _case_opened(ev: e.CaseOpened, who: Labels) -> str:
    return f"Case {ev.case_number} opened (source: {ev.source})"


def _member_added(ev: e.MemberAdded, who: Labels) -> str:
    return f"{_who(who, ev.person_id)} added as {_words(ev.role)}"


def _relationship(ev: e.RelationshipRecorded, who: Labels) -> str:
    return (
        f"{_who(who, ev.parent_id)} recorded as {_words(ev.kind)} of "
        f"{_who(who, ev.child_id)} ({ev.evidence.value})"
    )


def _apprehended(ev: e.Apprehended, who: Labels) -> str:
    return f"{_all(who, ev.person_ids)} apprehended at {_place(ev.place)} by {_words(ev.agency)}"


def _separated(ev: e.Separated, who: Labels) -> str:
    reason = _words(ev.reason) + (f": {ev.note}" if ev.note else "")
    source = f' (source: "{ev.reason_text}")' if ev.reason_text else ""
    return (
        f"{_who(who, ev.child_id)} separated from {_who(who, ev.parent_id)} at "
        f"{_place(ev.place)}; reason: {reason}{source}"
    )


def _referred(ev: e.ChildReferred, who: Labels) -> str:
    hours = ev.hours_in_cbp_custody
    after = f" after {hours} hours in CBP custody" if hours is not None else ""
    return f"{_who(who, ev.child_id)} referred to ORR by {ev.office.name}{after}"


def _placed(ev: e.ChildPlaced, who: Labels) -> str:
    return f"{_who(who, ev.child_id)} placed at {ev.facility.name} ({_words(ev.program_type)})"


def _child_transferred(ev: e.ChildTransferred, who: Labels) -> str:
    return f"{_who(who, ev.child_id)} transferred to {ev.facility.name} ({_words(ev.program_type)})"


def _detained(ev: e.ParentDetained, who: Labels) -> str:
    return f"{_who(who, ev.parent_id)} detained at {ev.facility.name} ({_words(ev.custody)})"


def _parent_transferred(ev: e.ParentTransferred, who: Labels) -> str:
    return f"{_who(who, ev.parent_id)} transferred to {ev.facility.name} ({_words(ev.custody)})"


def _released(ev: e.ParentReleased, who: Labels) -> str:
    return f"{_who(who, ev.parent_id)} released to {ev.destination}"


def _contact(ev: e.ContactEstablished, who: Labels) -> str:
    return (
        f"{_who(who, ev.parent_id)} and {_who(who, ev.child_id)} in contact by {_words(ev.channel)}"
    )


def _credible_fear(ev: e.CredibleFearDecided, who: Labels) -> str:
    return "Credible-fear decision recorded (confidential)"


def _removal_ordered(ev: e.RemovalOrdered, who: Labels) -> str:
    return f"{_who(who, ev.parent_id)} ordered removed ({_words(ev.kind)})"


def _election(ev: e.RemovalElectionSigned, who: Labels) -> str:
    counsel = "with counsel" if ev.counsel_present else "without counsel"
    return (
        f"{_who(who, ev.parent_id)} signed a removal election: {_words(ev.election)} "
        f"(form in {ev.language}, {ev.how_read}, {counsel})"
    )


def _removed(ev: e.ParentRemoved, who: Labels) -> str:
    children = ev.children_removed_with
    along = f" with {_all(who, children)}" if children else " without a child"
    return f"{_who(who, ev.parent_id)} removed to {ev.country.code}{along}"


def _location(ev: e.LocationAttempted, who: Labels) -> str:
    return (
        f"Attempt to locate {_who(who, ev.parent_id)} by {ev.by_whom} ({ev.method}): "
        f"{_words(ev.outcome)}"
    )


def _preference(ev: e.PreferenceRecorded, who: Labels) -> str:
    return f"{_who(who, ev.parent_id)}'s preference recorded: {_words(ev.preference)}"


def _eligibility(ev: e.EligibilityDetermined, who: Labels) -> str:
    flag = f" (red flag: {ev.red_flag})" if ev.red_flag else ""
    return (
        f"{_who(who, ev.parent_id)} found {_words(ev.outcome)} to reunify with "
        f"{_who(who, ev.child_id)}{flag}"
    )


def _settlement(ev: e.SettlementElected, who: Labels) -> str:
    return f"{_who(who, ev.person_id)} made a settlement election: {_words(ev.election)}"


def _reinterviewed(ev: e.Reinterviewed, who: Labels) -> str:
    return "Re-interview recorded (confidential)"


def _reopened(ev: e.AsylumCaseReopened, who: Labels) -> str:
    return f"{_who(who, ev.person_id)}'s asylum case reopened ({ev.proceeding})"


def _returned(ev: e.ParentReturned, who: Labels) -> str:
    return f"{_who(who, ev.parent_id)} returned to the United States ({_words(ev.how)})"


def _reunified(ev: e.Reunified, who: Labels) -> str:
    where = f" at {_place(ev.place)}" if ev.place else ""
    return f"{_who(who, ev.child_id)} reunified with {_who(who, ev.parent_id)}{where}"


def _discharged(ev: e.ChildDischarged, who: Labels) -> str:
    note = f": {ev.note}" if ev.note else ""
    return f"{_who(who, ev.child_id)} discharged from care ({_words(ev.reason)}{note})"


def _shown(value: object) -> str:
    if isinstance(value, Enum):
        return _words(value)
    if isinstance(value, date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # A facility, office or place by its name; a name, country or A-number by its value.
        return str(getattr(value, "name", None) or next(iter(vars(value).values())))
    return str(value)


def _change(change: FieldChange) -> str:
    if change.field in _CONFIDENTIAL_FIELDS:
        return f"{change.field} (value withheld)"
    return f"{change.field} -> {_shown(change.value)}"


def _corrected(ev: e.EntryCorrected, who: Labels) -> str:
    changes = "; ".join(_change(c) for c in ev.changes)
    return f"Entry {ev.version} corrected ({changes}); reason: {ev.reason}"


def _retracted(ev: e.EntryRetracted, who: Labels) -> str:
    return f"Entry {ev.version} retracted; reason: {ev.reason}"


def _closed(ev: e.CaseClosed, who: Labels) -> str:
    return f"Case closed; reason: {ev.reason}"


def _flagged(ev: e.DataQualityFlagged, who: Labels) -> str:
    return f"Entry {ev.about_version} flagged: {ev.rule.replace('_', ' ')} ({ev.detail})"


SUMMARIES: dict[str, Callable[[Any, Labels], str]] = {
    "CaseOpened": _case_opened,
    "MemberAdded": _member_added,
    "RelationshipRecorded": _relationship,
    "Apprehended": _apprehended,
    "Separated": _separated,
    "ChildReferred": _referred,
    "ChildPlaced": _placed,
    "ChildTransferred": _child_transferred,
    "ParentDetained": _detained,
    "ParentTransferred": _parent_transferred,
    "ParentReleased": _released,
    "ContactEstablished": _contact,
    "CredibleFearDecided": _credible_fear,
    "RemovalOrdered": _removal_ordered,
    "RemovalElectionSigned": _election,
    "ParentRemoved": _removed,
    "LocationAttempted": _location,
    "PreferenceRecorded": _preference,
    "EligibilityDetermined": _eligibility,
    "SettlementElected": _settlement,
    "Reinterviewed": _reinterviewed,
    "AsylumCaseReopened": _reopened,
    "ParentReturned": _returned,
    "Reunified": _reunified,
    "ChildDischarged": _discharged,
    "EntryCorrected": _corrected,
    "EntryRetracted": _retracted,
    "CaseClosed": _closed,
    "DataQualityFlagged": _flagged,
}


def summarize(kind: str, event: Any, labels: Labels) -> str:
    """The one-line summary of an event; unknown kinds still get a line."""
    describe = SUMMARIES.get(kind)
    return describe(event, labels) if describe else kind


def label(event: e.MemberAdded) -> str:
    """How the timeline names a member."""
    role = _words(event.role)
    return f"{event.name.value} ({role})" if event.name else f"unidentified {role}"
