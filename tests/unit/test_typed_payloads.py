"""Typed payloads: plain JSON, read back exactly, and loud about anything they cannot read."""

from __future__ import annotations

import dataclasses
import json
from enum import Enum
from typing import Any

import pytest
from eventsourcing.persistence import MapperDeserialisationError, StoredEvent

from domain.family import Family
from service.codec import create_mapper
from service.typed_payloads import TYPED
from tests.unit.test_codec import (
    ENUM_VALUES,
    WRITERS,
    carrying,
    family_event_classes,
    samples_of,
)

MAPPER = create_mapper()


def stored(cls: type[Any]) -> StoredEvent:
    return WRITERS["typed"].to_stored_event(samples_of(cls)[0])


def edited(record: StoredEvent, edit: Any) -> StoredEvent:
    """The record with its payload decoded, edited in place and written back compactly."""
    state = json.loads(record.state)
    edit(state)
    payload = json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode()
    return dataclasses.replace(record, state=payload)


def test_every_class_with_concrete_field_types_is_written_typed() -> None:
    tagged = {
        cls.__name__ for cls in family_event_classes() if not stored(cls).state.startswith(TYPED)
    }
    # A correction's values may be of any field's type: only the tags say which.
    assert tagged == {"EntryCorrected"}


def test_a_typed_payload_is_plain_json_without_tags() -> None:
    record = stored(Family.ChildPlaced)
    assert b"_type_" not in record.state
    state = json.loads(record.state)
    event: Any = samples_of(Family.ChildPlaced)[0]
    assert state["child_id"] == str(event.child_id)
    assert state["facility"] == dataclasses.asdict(event.facility)
    assert state["program_type"] == event.program_type.value
    assert state["occurred_at"] == event.occurred_at.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize("written", list(WRITERS))
def test_a_value_object_breaking_todays_rule_still_reads_back(written: str) -> None:
    # Stored facts are not re-validated: a rule made stricter later must not lose history.
    record = WRITERS[written].to_stored_event(samples_of(Family.ChildPlaced)[0])
    blank = dataclasses.replace(record, state=record.state.replace(b'"casa-padre"', b'" "'))
    assert blank.state != record.state
    restored = MAPPER.to_domain_event(blank)
    assert restored.facility.id == " "


@pytest.mark.parametrize("value", ENUM_VALUES, ids=str)
def test_a_typed_enum_value_the_domain_does_not_know_fails_loudly(value: Enum) -> None:
    event = carrying(value)

    def unknown(state: dict[str, Any], held: Any = event) -> None:
        for name, inner in vars(held).items():
            if inner is value:
                state[name] = "no-such-value"
            elif dataclasses.is_dataclass(inner) and isinstance(state.get(name), dict):
                unknown(state[name], inner)

    corrupted = edited(WRITERS["typed"].to_stored_event(event), unknown)
    assert b"no-such-value" in corrupted.state
    with pytest.raises(MapperDeserialisationError, match="no-such-value"):
        MAPPER.to_domain_event(corrupted)


@pytest.mark.parametrize(
    ("edit", "complaint"),
    [
        (lambda s: s.update(age="five"), r"Expected `int \| null`, got `str` - at `\$.age`"),
        (lambda s: s.pop("sex"), "missing required field `sex`"),
        (lambda s: s.update(person_id="not-a-uuid"), r"Invalid UUID - at `\$.person_id`"),
        (lambda s: s.update(class_version=2), "version 2 of .*MemberAdded, which is at version 1"),
    ],
    ids=["wrong type", "missing field", "bad uuid", "newer version"],
)
def test_a_typed_payload_that_is_not_its_class_fails_loudly(edit: Any, complaint: str) -> None:
    corrupted = edited(stored(Family.MemberAdded), edit)
    assert corrupted.state.startswith(TYPED)
    with pytest.raises(MapperDeserialisationError, match=complaint):
        MAPPER.to_domain_event(corrupted)


def test_a_typed_payload_of_a_class_with_no_typed_format_fails_loudly() -> None:
    record = WRITERS["tagged"].to_stored_event(samples_of(Family.EntryCorrected)[0])
    typed = dataclasses.replace(record, state=TYPED + record.state[1:])
    with pytest.raises(MapperDeserialisationError, match="EntryCorrected"):
        MAPPER.to_domain_event(typed)
