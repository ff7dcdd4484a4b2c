"""Corrections, never edits: which events count, as amended, and what an amendment may touch."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from types import NoneType, UnionType
from typing import Any, TypeVar
from uuid import UUID

from domain import text
from domain.errors import InvalidAmendment, InvalidValue
from domain.events import (
    CaseOpened,
    EntryCorrected,
    EntryRetracted,
    Happened,
    MemberAdded,
    RelationshipRecorded,
)
from domain.paths import ADULTS
from domain.personal import personal_fields
from domain.values import FieldChange, MemberRole

E = TypeVar("E", bound=Happened)

# Fields that say which event, aggregate or person an entry is about. To change one,
# retract the entry and record it anew.
PEOPLE = ("person_id", "parent_id", "child_id", "person_ids", "children_removed_with")
# Counsel of record is who may read the family (schema/policy.py): a representation
# recorded for the wrong lawyer is retracted, never turned into another lawyer's.
STRUCTURAL = frozenset(
    {"originator_id", "originator_version", "originator_topic", "timestamp"}
    | {"version", "about_version", "counsel", *PEOPLE}
)
# A case is known by its number; correcting it would make it another case.
IDENTITY = frozenset({"case_number"})


@dataclass
class Amendments:
    """The corrections and retractions recorded so far, by the stream version they amend."""

    amending: dict[int, list[int]] = field(default_factory=dict)
    changes: dict[int, list[FieldChange]] = field(default_factory=dict)
    retracted: set[int] = field(default_factory=set)

    def correct(self, version: int, by: int, changes: Iterable[FieldChange]) -> None:
        self.amending.setdefault(version, []).append(by)
        self.changes.setdefault(version, []).extend(changes)

    def retract(self, version: int, by: int) -> None:
        self.amending.setdefault(version, []).append(by)
        self.retracted.add(version)

    def record(self, event: Happened) -> None:
        """Take in an event of the stream; only corrections and retractions amend."""
        if not event.amends:
            return
        if isinstance(event, EntryCorrected):
            self.correct(event.version, event.originator_version, event.changes)
        elif isinstance(event, EntryRetracted):
            self.retract(event.version, event.originator_version)

    def touched(self) -> set[int]:
        """The versions whose events do not count as they stand: amended or amendments."""
        return {*self.amending, *(by for amendments in self.amending.values() for by in amendments)}

    def counted(self, event: Happened) -> Happened | None:
        """The event as it counts (itself when not corrected), or None when it does not:
        retracted, or an amendment itself."""
        version = event.originator_version
        if version in self.retracted or event.amends:
            return None
        changes = self.changes.get(version)
        return event if changes is None else amended(event, changes)

    def apply(self, events: Iterable[Happened]) -> list[Happened]:
        """The events that count, each as corrected; amendments themselves left out."""
        return [c for c in map(self.counted, events) if c is not None]


def effective_history(events: Iterable[Happened]) -> list[Happened]:
    """A stream's events as they now count: retracted ones dropped, corrected ones amended."""
    events = list(events)
    amendments = Amendments()
    for e in events:
        amendments.record(e)
    return amendments.apply(events)


def amended(event: E, changes: Iterable[FieldChange]) -> E:
    """The event with each changed field replaced; a later change to a field wins."""
    # Any: check_changes matched each value to its field's type when it was recorded.
    replacements: dict[str, Any] = {c.field: c.value for c in changes}
    return dataclasses.replace(event, **replacements) if replacements else event


@cache
def field_types(cls: type[Happened]) -> dict[str, Any]:
    """The resolved type of each field of an event class."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def accepts(hint: Any, value: object) -> bool:
    """Whether a field of this type may hold the value (a bool is no int, a datetime no date)."""
    options = typing.get_args(hint) if isinstance(hint, UnionType) else (hint,)
    return any(_is_a(value, option) for option in options)


def _is_a(value: object, option: Any) -> bool:
    if option is NoneType:
        return value is None
    if not isinstance(option, type) or typing.get_origin(option) is not None:
        return False  # collections only hold people, which are never corrected
    if isinstance(value, bool) and option is not bool:
        return False
    if isinstance(value, datetime) and option is date:
        return False
    return isinstance(value, option)


def personal_subject(event: Happened, changes: Iterable[FieldChange]) -> UUID | None:
    """The person whose personal data a correction's new values are (domain.personal), so
    they are sealed under that person's key; None when it changes none."""
    personal = personal_fields(type(event))
    for change in changes:
        if change.field in personal:
            subject: UUID | None = vars(event)[personal[change.field]]
            return subject
    return None


def check_changes(event: Happened, changes: Sequence[FieldChange]) -> None:
    """Each change names a correctable field of the event and a value that field takes."""
    name = type(event).__name__
    if not changes:
        raise InvalidAmendment("a correction changes at least one field")
    if len({c.field for c in changes}) != len(changes):
        raise InvalidAmendment("a correction names each field once")
    types = field_types(type(event))
    for change in changes:
        if change.field not in types:
            raise InvalidAmendment(f"{name} has no field {change.field!r}")
        if change.field in STRUCTURAL or (
            isinstance(event, CaseOpened) and change.field in IDENTITY
        ):
            raise InvalidAmendment(
                f"{name}.{change.field} says what the entry is about and cannot be corrected; "
                "retract the entry and record it anew"
            )
        if not accepts(types[change.field], change.value):
            raise InvalidAmendment(
                f"{name}.{change.field} does not take {change.value!r} "
                f"({type(change.value).__name__})"
            )
        check_plausible(name, change, required=types[change.field] is str)


def cleaned(event: Happened, changes: Iterable[FieldChange]) -> tuple[FieldChange, ...]:
    """Each corrected text as the command that first recorded its field would hold it: under
    the same rules (domain.text), NFC and trimmed, blank meaning None where None is taken."""
    types = field_types(type(event))
    return tuple(_cleaned(change, types.get(change.field)) for change in changes)


def _cleaned(change: FieldChange, hint: Any) -> FieldChange:
    if not isinstance(change.value, str) or hint is None or not accepts(hint, change.value):
        return change  # check_changes says what is wrong with it
    if accepts(hint, None):
        return FieldChange(change.field, text.optional(change.value, change.field))
    return FieldChange(change.field, text.required(change.value, change.field))


def check_plausible(name: str, change: FieldChange, required: bool) -> None:
    """What commands refuse, a correction may not bring in: text an event cannot hold, blank
    text, negative counts."""
    value = change.value
    if isinstance(value, str):
        text.clean(value, change.field)
    if required and isinstance(value, str) and not value.strip():
        raise InvalidValue(f"{name}.{change.field} must not be empty")
    # Every number an event holds is an age, a count of hours or a stream version.
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        raise InvalidValue(f"{name}.{change.field} cannot be negative")


def check_history_holds(events: Iterable[Happened]) -> None:
    """Every entry still names members in the right roles, and linked pairs where it must."""
    roles: dict[UUID, MemberRole] = {}
    links: set[tuple[UUID, UUID]] = set()
    for e in events:
        if isinstance(e, MemberAdded):
            roles[e.person_id] = e.role
            continue
        where, state = f"entry {e.originator_version} ({type(e).__name__})", vars(e)
        for person in _named(state, "person_id", "person_ids"):
            _check_role(roles, person, tuple(MemberRole), where)
        for parent in _named(state, "parent_id"):
            _check_role(roles, parent, ADULTS, where)
        for child in _named(state, "child_id", "children_removed_with"):
            _check_role(roles, child, (MemberRole.CHILD,), where)
            if "parent_id" in state and not isinstance(e, RelationshipRecorded):
                _check_linked(links, state["parent_id"], child, where)
        if isinstance(e, RelationshipRecorded):
            links.add((e.parent_id, e.child_id))


def _named(state: dict[str, Any], *fields: str) -> list[UUID]:
    """The people an event's fields name, whether one id or a list of them."""
    found: list[UUID] = []
    for name in fields:
        value = state.get(name)
        if isinstance(value, list):
            found.extend(value)
        elif value is not None:
            found.append(value)
    return found


def _check_role(
    roles: dict[UUID, MemberRole], person: UUID, allowed: Sequence[MemberRole], where: str
) -> None:
    role = roles.get(person)
    if role is None:
        raise InvalidAmendment(f"{where} would name {person}, who would not be a member")
    if role not in allowed:
        raise InvalidAmendment(f"{where} would name {person} as a {role.value} there")


def _check_linked(links: set[tuple[UUID, UUID]], parent: UUID, child: UUID, where: str) -> None:
    if (parent, child) not in links:
        raise InvalidAmendment(f"{where} would name {parent} and {child}, who would not be linked")
