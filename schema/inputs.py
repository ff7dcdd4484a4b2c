"""Mutation inputs, checked and turned into domain values before the domain is reached."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import TypeVar
from uuid import UUID

import strawberry

from domain import text as rules
from domain import values
from domain.errors import InvalidText, InvalidValue
from domain.values import (
    ANumber,
    Country,
    Evidence,
    Facility,
    MemberRole,
    PersonName,
    Place,
    PlaceKind,
    ProgramType,
    RelationshipKind,
    SeparationReason,
    Sex,
)
from schema.corrections import snake_case
from schema.errors import InputInvalid

# The domain's enumerations are the schema's: one definition, exhaustive on both sides.
for _enum in [
    v
    for v in vars(values).values()
    if isinstance(v, type) and issubclass(v, Enum) and v.__module__ == values.__name__
]:
    strawberry.enum(_enum)

T = TypeVar("T")
CLOCK_SKEW = timedelta(minutes=5)
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)


def when(value: datetime, field: str = "occurredAt") -> datetime:
    """A moment with a time zone, not in the future (small clock skew allowed)."""
    if value.tzinfo is None:
        raise InputInvalid(field, f"{field} must include a time zone offset")
    if value > datetime.now(UTC) + CLOCK_SKEW:
        raise InputInvalid(field, f"{field} {value.isoformat()} is in the future")
    if value < EARLIEST:
        raise InputInvalid(field, f"{field} {value.isoformat()} is before 1990")
    return value


def text(value: str | None, field: str) -> str:
    """Required text under the domain's rules for its field (domain.text), NFC and trimmed."""
    found = maybe_text(value, field)
    if found is None:
        raise InputInvalid(field, f"{field} must not be empty")
    return found


def maybe_text(value: str | None, field: str) -> str | None:
    """Text under the domain's rules for its field, NFC and trimmed; blank means not given.

    Provenance (``provenance.source``, ``provenance.reason``) and ``idempotencyKey`` come
    through here too, so they are refused before anything is appended.
    """
    try:
        return rules.optional(value, field, kind_of(field))
    except InvalidText as e:
        raise InputInvalid(e.field or field, str(e)) from None


def check_texts(data: object, path: str = "") -> None:
    """Refuse a lone surrogate anywhere in an input, naming its field, before anything (the
    command digest) encodes it as UTF-8; every other rule is its field's own, checked after."""
    if isinstance(data, str):
        try:
            rules.check_encodable(data, path or "input")
        except InvalidText as e:
            raise InputInvalid(e.field or path, str(e)) from None
    elif dataclasses.is_dataclass(data) and not isinstance(data, type):
        for f in dataclasses.fields(data):
            check_texts(getattr(data, f.name), _join(path, _camel(f.name)))
    elif isinstance(data, dict):
        for key, value in data.items():
            check_texts(key, path)
            check_texts(value, _join(path, str(key)))
    elif isinstance(data, list | tuple):
        for item in data:
            check_texts(item, path)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


def kind_of(field: str) -> rules.TextKind:
    """The domain's kind of text for an input field: redFlag is red_flag's, a NOTE."""
    return rules.kind_of(snake_case(field.rpartition(".")[2]))


def value_of(build: type[T], field: str, *args: object) -> T:
    """Construct a value object, naming the input field when it is refused."""
    try:
        return build(*args)
    except InvalidValue as e:  # facility.name of the FacilityInput "place" is "place.name"
        part = e.field.rpartition(".")[2] if e.field and "." in e.field else None
        raise InputInvalid(f"{field}.{part}" if part else field, str(e)) from None


@strawberry.input
class PlaceInput:
    """A sector, station, port of entry or facility, by name."""

    kind: PlaceKind
    name: str

    def to_place(self, field: str) -> Place:
        return value_of(Place, field, self.kind, text(self.name, f"{field}.name"))


@strawberry.input
class FacilityInput:
    """An ORR care provider: a stable id, its name and US state."""

    id: str
    name: str
    state: str | None = None

    def to_facility(self) -> Facility:
        return value_of(
            Facility,
            "facility",
            text(self.id, "facility.id"),
            text(self.name, "facility.name"),
            maybe_text(self.state, "facility.state"),
        )


@strawberry.input
class ProvenanceInput:
    """On what authority the entry is made; the actor comes from the caller's token."""

    source: str | None = None
    reason: str | None = None
    correlation_id: UUID | None = None
    causation_id: UUID | None = None


@strawberry.input
class OpenCaseInput:
    """Open a case for a family; the id is generated when not given."""

    case_number: str
    occurred_at: datetime
    source: str
    family_id: UUID | None = None


@strawberry.input
class AddMemberInput:
    """Add a parent, child or other adult to a case."""

    family_id: UUID
    role: MemberRole
    sex: Sex
    occurred_at: datetime
    person_id: UUID | None = None
    name: str | None = None
    birth_date: date | None = None
    age: int | None = None
    country: str | None = None
    a_number: str | None = None

    def check_age(self) -> int | None:
        if self.age is not None and not 0 <= self.age <= 120:
            raise InputInvalid("age", "age must be between 0 and 120")
        if self.birth_date is not None and self.birth_date > date.today():
            raise InputInvalid("birthDate", "birthDate is in the future")
        return self.age


@strawberry.input
class RecordRelationshipInput:
    """Link an adult to a child of the same case."""

    family_id: UUID
    parent_id: UUID
    child_id: UUID
    kind: RelationshipKind
    evidence: Evidence
    occurred_at: datetime


@strawberry.input
class RecordSeparationInput:
    """A child was taken from a parent."""

    family_id: UUID
    parent_id: UUID
    child_id: UUID
    place: PlaceInput
    reason: SeparationReason
    occurred_at: datetime
    parent_notified: bool = False
    note: str | None = None


@strawberry.input
class RecordPlacementInput:
    """A child was placed with a care provider."""

    family_id: UUID
    child_id: UUID
    facility: FacilityInput
    program_type: ProgramType
    occurred_at: datetime


@strawberry.input
class RecordReunificationInput:
    """A child was reunified with a linked parent."""

    family_id: UUID
    child_id: UUID
    parent_id: UUID
    occurred_at: datetime
    place: PlaceInput | None = None


def person_name(value: str | None) -> PersonName | None:
    return None if value is None else value_of(PersonName, "name", value)


def country(value: str | None) -> Country | None:
    return None if value is None else value_of(Country, "country", value.strip().upper())


def a_number(value: str | None) -> ANumber | None:
    return None if value is None else value_of(ANumber, "aNumber", value.strip())
