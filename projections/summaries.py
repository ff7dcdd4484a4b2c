"""One human-readable line per event, in the caseworker's words."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

from domain.family import Family

Labels = Mapping[UUID, str]


def _who(labels: Labels, person_id: UUID) -> str:
    return labels.get(person_id, f"person {str(person_id)[:8]}")


def _place(place: Any) -> str:
    if place is None:
        return "an unrecorded place"
    return f"{place.name} ({place.kind.value.replace('_', ' ')})"


def _case_opened(e: Family.CaseOpened, who: Labels) -> str:
    return f"Case {e.case_number} opened (source: {e.source})"


def _member_added(e: Family.MemberAdded, who: Labels) -> str:
    return f"{_who(who, e.person_id)} added as {e.role.value.replace('_', ' ')}"


def _relationship(e: Family.RelationshipRecorded, who: Labels) -> str:
    return (
        f"{_who(who, e.parent_id)} recorded as {e.kind.value.replace('_', ' ')} of "
        f"{_who(who, e.child_id)} ({e.evidence.value})"
    )


def _separated(e: Family.Separated, who: Labels) -> str:
    reason = e.reason.value.replace("_", " ") + (f": {e.note}" if e.note else "")
    return (
        f"{_who(who, e.child_id)} separated from {_who(who, e.parent_id)} at "
        f"{_place(e.place)}; reason: {reason}"
    )


def _placed(e: Family.ChildPlaced, who: Labels) -> str:
    return (
        f"{_who(who, e.child_id)} placed at {e.facility.name} "
        f"({e.program_type.value.replace('_', ' ')})"
    )


def _reunified(e: Family.Reunified, who: Labels) -> str:
    where = f" at {_place(e.place)}" if e.place else ""
    return f"{_who(who, e.child_id)} reunified with {_who(who, e.parent_id)}{where}"


SUMMARIES: dict[str, Callable[[Any, Labels], str]] = {
    "CaseOpened": _case_opened,
    "MemberAdded": _member_added,
    "RelationshipRecorded": _relationship,
    "Separated": _separated,
    "ChildPlaced": _placed,
    "Reunified": _reunified,
}


def summarize(kind: str, event: Any, labels: Labels) -> str:
    """The one-line summary of an event; unknown kinds still get a line."""
    describe = SUMMARIES.get(kind)
    return describe(event, labels) if describe else kind


def label(event: Family.MemberAdded) -> str:
    """How the timeline names a member."""
    role = event.role.value.replace("_", " ")
    return f"{event.name.value} ({role})" if event.name else f"unidentified {role}"
