"""One human-readable line per event, in the caseworker's words."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date
from enum import Enum
from uuid import UUID

from domain import events as e
from domain.family import Family
from domain.personal import ERASED, erased
from domain.values import FieldChange, Place
from projections.dispatch import Handlers, declared

Labels = Mapping[UUID, str]
# One line per event class, each given the event and the labels of the members it names.
DESCRIBE: Handlers[[Labels], str] = Handlers()

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


@DESCRIBE.on(e.CaseOpened)
def _case_opened(ev: e.CaseOpened, who: Labels) -> str:
    return f"Case {ev.case_number} opened (source: {ev.source})"


@DESCRIBE.on(e.MemberAdded)
def _member_added(ev: e.MemberAdded, who: Labels) -> str:
    return f"{_who(who, ev.person_id)} added as {_words(ev.role)}"


@DESCRIBE.on(e.RelationshipRecorded)
def _relationship(ev: e.RelationshipRecorded, who: Labels) -> str:
    return (
        f"{_who(who, ev.parent_id)} recorded as {_words(ev.kind)} of "
        f"{_who(who, ev.child_id)} ({ev.evidence.value})"
    )


@DESCRIBE.on(e.Apprehended)
def _apprehended(ev: e.Apprehended, who: Labels) -> str:
    return f"{_all(who, ev.person_ids)} apprehended at {_place(ev.place)} by {_words(ev.agency)}"


@DESCRIBE.on(e.Separated)
def _separated(ev: e.Separated, who: Labels) -> str:
    reason = _words(ev.reason) + (f": {ev.note}" if ev.note else "")
    source = f' (source: "{ev.reason_text}")' if ev.reason_text else ""
    return (
        f"{_who(who, ev.child_id)} separated from {_who(who, ev.parent_id)} at "
        f"{_place(ev.place)}; reason: {reason}{source}"
    )


@DESCRIBE.on(e.ChildReferred)
def _referred(ev: e.ChildReferred, who: Labels) -> str:
    hours = ev.hours_in_cbp_custody
    after = f" after {hours} hours in CBP custody" if hours is not None else ""
    return f"{_who(who, ev.child_id)} referred to ORR by {ev.office.name}{after}"


@DESCRIBE.on(e.ChildPlaced)
def _placed(ev: e.ChildPlaced, who: Labels) -> str:
    return f"{_who(who, ev.child_id)} placed at {ev.facility.name} ({_words(ev.program_type)})"


@DESCRIBE.on(e.ChildTransferred)
def _child_transferred(ev: e.ChildTransferred, who: Labels) -> str:
    return f"{_who(who, ev.child_id)} transferred to {ev.facility.name} ({_words(ev.program_type)})"


@DESCRIBE.on(e.ParentDetained)
def _detained(ev: e.ParentDetained, who: Labels) -> str:
    return f"{_who(who, ev.parent_id)} detained at {ev.facility.name} ({_words(ev.custody)})"


@DESCRIBE.on(e.ParentTransferred)
def _parent_transferred(ev: e.ParentTransferred, who: Labels) -> str:
    return f"{_who(who, ev.parent_id)} transferred to {ev.facility.name} ({_words(ev.custody)})"


@DESCRIBE.on(e.ParentReleased)
def _released(ev: e.ParentReleased, who: Labels) -> str:
    return f"{_who(who, ev.parent_id)} released to {ev.destination}"


@DESCRIBE.on(e.ContactEstablished)
def _contact(ev: e.ContactEstablished, who: Labels) -> str:
    return (
        f"{_who(who, ev.parent_id)} and {_who(who, ev.child_id)} in contact by {_words(ev.channel)}"
    )


@DESCRIBE.on(e.CredibleFearDecided)
def _credible_fear(ev: e.CredibleFearDecided, who: Labels) -> str:
    return "Credible-fear decision recorded (confidential)"


@DESCRIBE.on(e.RemovalOrdered)
def _removal_ordered(ev: e.RemovalOrdered, who: Labels) -> str:
    return f"{_who(who, ev.parent_id)} ordered removed ({_words(ev.kind)})"


@DESCRIBE.on(e.RemovalElectionSigned)
def _election(ev: e.RemovalElectionSigned, who: Labels) -> str:
    counsel = "with counsel" if ev.counsel_present else "without counsel"
    return (
        f"{_who(who, ev.parent_id)} signed a removal election: {_words(ev.election)} "
        f"(form in {ev.language}, {ev.how_read}, {counsel})"
    )


@DESCRIBE.on(e.ParentRemoved)
def _removed(ev: e.ParentRemoved, who: Labels) -> str:
    children = ev.children_removed_with
    along = f" with {_all(who, children)}" if children else " without a child"
    return f"{_who(who, ev.parent_id)} removed to {ev.country.code}{along}"


@DESCRIBE.on(e.LocationAttempted)
def _location(ev: e.LocationAttempted, who: Labels) -> str:
    return (
        f"Attempt to locate {_who(who, ev.parent_id)} by {ev.by_whom} ({ev.method}): "
        f"{_words(ev.outcome)}"
    )


@DESCRIBE.on(e.PreferenceRecorded)
def _preference(ev: e.PreferenceRecorded, who: Labels) -> str:
    return f"{_who(who, ev.parent_id)}'s preference recorded: {_words(ev.preference)}"


@DESCRIBE.on(e.EligibilityDetermined)
def _eligibility(ev: e.EligibilityDetermined, who: Labels) -> str:
    flag = f" (red flag: {ev.red_flag})" if ev.red_flag else ""
    return (
        f"{_who(who, ev.parent_id)} found {_words(ev.outcome)} to reunify with "
        f"{_who(who, ev.child_id)}{flag}"
    )


@DESCRIBE.on(e.SettlementElected)
def _settlement(ev: e.SettlementElected, who: Labels) -> str:
    return f"{_who(who, ev.person_id)} made a settlement election: {_words(ev.election)}"


@DESCRIBE.on(e.Reinterviewed)
def _reinterviewed(ev: e.Reinterviewed, who: Labels) -> str:
    return "Re-interview recorded (confidential)"


@DESCRIBE.on(e.AsylumCaseReopened)
def _reopened(ev: e.AsylumCaseReopened, who: Labels) -> str:
    return f"{_who(who, ev.person_id)}'s asylum case reopened ({ev.proceeding})"


@DESCRIBE.on(e.ParentReturned)
def _returned(ev: e.ParentReturned, who: Labels) -> str:
    return f"{_who(who, ev.parent_id)} returned to the United States ({_words(ev.how)})"


@DESCRIBE.on(e.Reunified)
def _reunified(ev: e.Reunified, who: Labels) -> str:
    where = f" at {_place(ev.place)}" if ev.place else ""
    return f"{_who(who, ev.child_id)} reunified with {_who(who, ev.parent_id)}{where}"


@DESCRIBE.on(e.ChildDischarged)
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


@DESCRIBE.on(e.EntryCorrected)
def _corrected(ev: e.EntryCorrected, who: Labels) -> str:
    changes = "; ".join(_change(c) for c in ev.changes)
    return f"Entry {ev.version} corrected ({changes}); reason: {ev.reason}"


@DESCRIBE.on(e.EntryRetracted)
def _retracted(ev: e.EntryRetracted, who: Labels) -> str:
    return f"Entry {ev.version} retracted; reason: {ev.reason}"


@DESCRIBE.on(e.RepresentationRecorded)
def _represented(ev: e.RepresentationRecorded, who: Labels) -> str:
    reference = f", {ev.reference}" if ev.reference else ""
    consent = "consents" if ev.consent_to_disclosure else "does not consent"
    return (
        f"{ev.counsel} recorded as counsel of record for {_who(who, ev.person_id)} "
        f"({_words(ev.basis)}{reference}); the client {consent} to disclosure of asylum records"
    )


@DESCRIBE.on(e.RepresentationEnded)
def _representation_ended(ev: e.RepresentationEnded, who: Labels) -> str:
    return (
        f"{ev.counsel} no longer counsel of record for {_who(who, ev.person_id)}; "
        f"reason: {ev.reason}"
    )


@DESCRIBE.on(e.CaseClosed)
def _closed(ev: e.CaseClosed, who: Labels) -> str:
    return f"Case closed; reason: {ev.reason}"


@DESCRIBE.on(e.PersonalDataErased)
def _erased(ev: e.PersonalDataErased, who: Labels) -> str:
    return (
        f"Personal data of {_who(who, ev.person_id)} erased, ordered by {ev.ordered_by}; "
        f"authority: {ev.authority}"
    )


@DESCRIBE.on(e.DataQualityFlagged)
def _flagged(ev: e.DataQualityFlagged, who: Labels) -> str:
    return f"Entry {ev.about_version} flagged: {ev.rule.replace('_', ' ')} ({ev.detail})"


# By the name the timeline's event_type column holds: the event types a filter may name.
SUMMARIES = {cls.__name__: describe for cls, describe in DESCRIBE.items()}


def summarize(event: object, labels: Labels) -> str:
    """The one-line summary of an event; unknown kinds still get a line."""
    describe = DESCRIBE.get(declared(event))
    return describe(event, labels) if describe else type(event).__name__


def label(event: e.MemberAdded) -> str:
    """How the timeline names a member."""
    role = _words(event.role)
    if erased(event.name):
        return f"{ERASED} ({role})"
    return f"{event.name.value} ({role})" if event.name else f"unidentified {role}"
