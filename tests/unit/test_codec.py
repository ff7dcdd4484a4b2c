"""Every Family event survives the mapper: stored in either payload format and read back, it
is the event recorded."""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Iterable, Iterator
from enum import Enum
from types import NoneType
from typing import Any

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent

from domain.family import Family
from service.eventstore.codec import create_mapper
from tests.scenarios.events import (
    CARRIERS,
    ENUM_VALUES,
    WRITERS,
    Event,
    carrying,
    family_event_classes,
    samples_of,
    story,
)


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


formats = pytest.mark.parametrize("written", list(WRITERS))


def round_trip(event: Event, written: str = "typed") -> Event:
    restored: Event = create_mapper().to_domain_event(WRITERS[written].to_stored_event(event))
    return restored


def types_of(event: Event) -> dict[str, type[Any]]:
    return {name: type(value) for name, value in vars(event).items()}


def test_the_family_declares_every_event_of_the_domain() -> None:
    names = {cls.__name__ for cls in family_event_classes()}
    assert names == {
        "CaseOpened",
        "MemberAdded",
        "RelationshipRecorded",
        "Apprehended",
        "Separated",
        "ChildReferred",
        "ChildPlaced",
        "ChildTransferred",
        "ParentDetained",
        "ParentTransferred",
        "ParentReleased",
        "ContactEstablished",
        "CredibleFearDecided",
        "RemovalOrdered",
        "RemovalElectionSigned",
        "ParentRemoved",
        "LocationAttempted",
        "PreferenceRecorded",
        "EligibilityDetermined",
        "SettlementElected",
        "Reinterviewed",
        "AsylumCaseReopened",
        "ParentReturned",
        "Reunified",
        "ChildDischarged",
        "EntryCorrected",
        "EntryRetracted",
        "CaseClosed",
        "DataQualityFlagged",
        "RepresentationRecorded",
        "RepresentationEnded",
        "PersonalDataErased",
    }


@formats
@pytest.mark.parametrize("cls", family_event_classes(), ids=lambda cls: cls.__name__)
def test_a_stored_event_reads_back_as_the_event_recorded(cls: type[Any], written: str) -> None:
    assert samples_of(cls), f"tell {cls.__name__} in story() so the codec is tested on it"
    for event in samples_of(cls):
        restored = round_trip(event, written)
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


@formats
def test_a_case_replayed_from_stored_events_is_the_case_recorded(written: str) -> None:
    restored = [round_trip(e, written) for e in story()]
    assert vars(fold(restored)) == vars(fold(story()))


def test_every_enumeration_an_event_carries_has_a_carrier() -> None:
    carried = {
        t
        for cls in family_event_classes()
        for hint in field_types(cls).values()
        for t in carried_types(hint)
        if issubclass(t, Enum)
    }
    assert carried == set(CARRIERS)


@formats
@pytest.mark.parametrize("value", ENUM_VALUES, ids=str)
def test_every_enum_value_reads_back(value: Enum, written: str) -> None:
    event = carrying(value)
    restored = round_trip(event, written)
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
def test_a_stored_enum_value_the_domain_does_not_know_fails_loudly_when_tagged(
    value: Enum,
) -> None:
    stored = WRITERS["tagged"].to_stored_event(carrying(value))
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
    stored: StoredEvent = WRITERS["tagged"].to_stored_event(samples_of(Family.MemberAdded)[0])
    corrupted = dataclasses.replace(
        stored, state=stored.state.replace(b'"_type_":"Sex"', b'"_type_":"Gender"')
    )
    assert corrupted.state != stored.state
    with pytest.raises(ValueError, match="Gender"):
        create_mapper().to_domain_event(corrupted)
