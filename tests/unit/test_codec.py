"""Every Family event survives the mapper: stored and read back, it is the event recorded."""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from enum import Enum
from functools import cache
from types import NoneType
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate, DomainEventProtocol
from eventsourcing.persistence import StoredEvent

from domain.family import Family, Member
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
from service.codec import create_mapper
from tests.builders import CASA_PADRE, SAN_YSIDRO, T0, at, opened_family

Event = DomainEventProtocol[UUID]

# The library defines these on every aggregate; Family records neither.
SCAFFOLDING: frozenset[type[Any]] = frozenset({Family.Event, Family.Created})


def family_event_classes() -> list[type[Any]]:
    """Every event class declared on Family, found by looking, so new ones are covered."""
    found = [
        cls
        for cls in vars(Family).values()
        if isinstance(cls, type) and issubclass(cls, Aggregate.Event) and cls not in SCAFFOLDING
    ]
    return sorted(found, key=lambda cls: cls.__name__)


def field_types(cls: type[Any]) -> dict[str, Any]:
    """The resolved type of each dataclass field of an event or value object."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def carried_types(hint: Any) -> Iterator[type[Any]]:
    """The types a field's value may hold, looking inside unions and value objects."""
    for member in typing.get_args(hint) or (hint,):
        if isinstance(member, type):
            yield member
            if dataclasses.is_dataclass(member) and member.__module__ == "domain.values":
                for inner in field_types(member).values():
                    yield from carried_types(inner)


@cache
def story() -> tuple[Event, ...]:
    """A case told through the aggregate, each optional field both given and left empty."""
    family, mother, son = opened_family()
    father, daughter = uuid4(), uuid4()
    family.add_member(Member(father, MemberRole.PARENT, None, Sex.UNKNOWN), T0)
    family.add_member(
        Member(
            daughter,
            MemberRole.CHILD,
            PersonName("Eva"),
            Sex.FEMALE,
            date(2010, 3, 4),
            8,
            Country("HN"),
            ANumber("A123456789"),
        ),
        T0,
    )
    family.record_relationship(father, daughter, RelationshipKind.FATHER, Evidence.DNA, T0)
    family.separate(mother, son, SAN_YSIDRO, SeparationReason.ZERO_TOLERANCE, None, False, at(1))
    family.separate(
        father,
        daughter,
        Place(PlaceKind.STATION, "Clint"),
        SeparationReason.OTHER,
        "father hospitalised",
        True,
        at(1),
    )
    family.place_child(son, CASA_PADRE, ProgramType.SHELTER, at(3))
    family.place_child(daughter, Facility("cayuga", "Cayuga Centers"), ProgramType.INFLUX, at(3))
    family.reunify(son, mother, SAN_YSIDRO, at(40))
    family.reunify(daughter, father, None, at(41))
    return tuple(family.collect_events())


def round_trip(event: Event) -> Event:
    mapper = create_mapper()
    return mapper.to_domain_event(mapper.to_stored_event(event))


def types_of(event: Event) -> dict[str, type[Any]]:
    return {name: type(value) for name, value in vars(event).items()}


def samples_of(cls: type[Any]) -> list[Event]:
    return [e for e in story() if type(e) is cls]


def test_the_family_declares_every_event_the_domain_records_so_far() -> None:
    names = {cls.__name__ for cls in family_event_classes()}
    assert names >= {
        "CaseOpened",
        "MemberAdded",
        "RelationshipRecorded",
        "Separated",
        "ChildPlaced",
        "Reunified",
    }


@pytest.mark.parametrize("cls", family_event_classes(), ids=lambda cls: cls.__name__)
def test_a_stored_event_reads_back_as_the_event_recorded(cls: type[Any]) -> None:
    assert samples_of(cls), f"tell {cls.__name__} in story() so the codec is tested on it"
    for event in samples_of(cls):
        restored = round_trip(event)
        assert type(restored) is cls
        assert vars(restored) == vars(event)
        assert types_of(restored) == types_of(event)  # a date stays a date, not a datetime


@pytest.mark.parametrize("cls", family_event_classes(), ids=lambda cls: cls.__name__)
def test_an_optional_field_reads_back_both_given_and_empty(cls: type[Any]) -> None:
    for name, hint in field_types(cls).items():
        if NoneType in typing.get_args(hint):
            values = [getattr(e, name) for e in samples_of(cls)]
            assert None in values, f"story() never leaves {cls.__name__}.{name} empty"
            assert any(v is not None for v in values), f"story() never gives {name}"


def fold(events: Iterable[Event]) -> Family:
    family: Family | None = None
    for event in events:
        assert isinstance(event, Aggregate.Event)
        family = event.mutate(family)
    assert isinstance(family, Family)
    return family


def test_a_case_replayed_from_stored_events_is_the_case_recorded() -> None:
    assert vars(fold(map(round_trip, story()))) == vars(fold(story()))


# Every value of every enumeration an event carries.

Carrier = Callable[[Family, UUID, UUID, Any], None]

CARRIERS: dict[type[Enum], Carrier] = {
    MemberRole: lambda f, _, __, role: f.add_member(Member(uuid4(), role, None, Sex.MALE), at(1)),
    Sex: lambda f, _, __, sex: f.add_member(Member(uuid4(), MemberRole.CHILD, None, sex), at(1)),
    RelationshipKind: lambda f, _, son, kind: linked_adult(f, son, kind, Evidence.CLAIMED),
    Evidence: lambda f, _, son, evidence: linked_adult(f, son, RelationshipKind.UNKNOWN, evidence),
    SeparationReason: lambda f, mother, son, reason: f.separate(
        mother, son, SAN_YSIDRO, reason, None, False, at(1)
    ),
    PlaceKind: lambda f, mother, son, kind: f.reunify(son, mother, Place(kind, "Here"), at(1)),
    ProgramType: lambda f, _, son, program: f.place_child(son, CASA_PADRE, program, at(1)),
}


def linked_adult(family: Family, child: UUID, kind: RelationshipKind, evidence: Evidence) -> None:
    adult = uuid4()
    family.add_member(Member(adult, MemberRole.OTHER_ADULT, None, Sex.UNKNOWN), at(1))
    family.collect_events()
    family.record_relationship(adult, child, kind, evidence, at(1))


def carrying(value: Enum) -> Event:
    """The event the aggregate records when a command is given this enum value."""
    family, mother, son = opened_family()
    family.collect_events()
    CARRIERS[type(value)](family, mother, son, value)
    (event,) = family.collect_events()
    return event


def test_every_enumeration_an_event_carries_has_a_carrier() -> None:
    carried = {
        t
        for cls in family_event_classes()
        for hint in field_types(cls).values()
        for t in carried_types(hint)
        if issubclass(t, Enum)
    }
    assert carried == set(CARRIERS)


ENUM_VALUES = [value for enum in CARRIERS for value in enum]


@pytest.mark.parametrize("value", ENUM_VALUES, ids=str)
def test_every_enum_value_reads_back(value: Enum) -> None:
    event = carrying(value)
    restored = round_trip(event)
    assert vars(restored) == vars(event)
    assert value in list(enums_in(vars(restored)))


def enums_in(state: dict[str, Any]) -> Iterator[Enum]:
    """The enum values held by an event's fields, and inside its value objects."""
    for v in state.values():
        if isinstance(v, Enum):
            yield v
        elif dataclasses.is_dataclass(v) and not isinstance(v, type):
            yield from enums_in(vars(v))


@pytest.mark.parametrize("value", ENUM_VALUES, ids=str)
def test_a_stored_enum_value_the_domain_does_not_know_fails_loudly(value: Enum) -> None:
    stored = create_mapper().to_stored_event(carrying(value))
    known = json.dumps(
        {"_type_": type(value).__name__, "_data_": value.value}, separators=(",", ":")
    )
    unknown = known.replace(f'"{value.value}"', '"no-such-value"')
    assert known.encode() in stored.state
    corrupted = dataclasses.replace(
        stored, state=stored.state.replace(known.encode(), unknown.encode())
    )
    with pytest.raises(ValueError, match="no-such-value"):
        create_mapper().to_domain_event(corrupted)


def test_a_stored_type_the_codec_does_not_know_fails_loudly() -> None:
    stored: StoredEvent = create_mapper().to_stored_event(samples_of(Family.MemberAdded)[0])
    corrupted = dataclasses.replace(
        stored, state=stored.state.replace(b'"_type_":"Sex"', b'"_type_":"Gender"')
    )
    assert corrupted.state != stored.state
    with pytest.raises(ValueError, match="Gender"):
        create_mapper().to_domain_event(corrupted)
