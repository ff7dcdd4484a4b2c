"""Typed payloads: plain JSON, read back exactly, and loud about anything they cannot read."""

from __future__ import annotations

import dataclasses
import itertools
import json
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any

import pytest
from eventsourcing.persistence import MapperDeserialisationError, StoredEvent
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.family import Family
from domain.values import Facility
from service.eventstore.codec import create_mapper
from service.eventstore.typed_payloads import TYPED
from tests.scenarios.events import ENUM_VALUES, WRITERS, carrying, family_event_classes, samples_of

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


def with_fields(cls: type[Any], **changes: Any) -> Any:
    """A sample event of the class with some fields replaced, unchecked."""
    event = object.__new__(cls)
    object.__setattr__(event, "__dict__", {**vars(samples_of(cls)[0]), **changes})
    return event


def as_version_1(state: dict[str, Any]) -> None:
    """A Separated as written before it had reason_text."""
    del state["class_version"], state["reason_text"]


@pytest.mark.parametrize(
    ("field", "value"), [("parent_notified", "false"), ("occurred_at", 1528000000)]
)
def test_an_older_version_is_typed_as_strictly_as_the_current_one(field: str, value: Any) -> None:
    record = stored(Family.Separated)

    def current(state: dict[str, Any]) -> None:
        state[field] = value

    def older(state: dict[str, Any]) -> None:
        as_version_1(state)
        state[field] = value

    for edit in (current, older):
        with pytest.raises(MapperDeserialisationError, match=field):
            MAPPER.to_domain_event(edited(record, edit))


@pytest.mark.parametrize("version", ["2", None, 0, -1, 1.5, True])
def test_a_class_version_that_is_no_version_fails_loudly(version: Any) -> None:
    record = edited(stored(Family.MemberAdded), lambda s: s.update(class_version=version))
    with pytest.raises(MapperDeserialisationError):
        MAPPER.to_domain_event(record)


@pytest.mark.parametrize(
    ("old", "new"),
    [(b'"_typed_":1', b'"_typed_":2'), (b'"_typed_":1', b'"_typed_": 1')],
    ids=["another format", "another spelling"],
)
def test_a_payload_marked_typed_is_never_read_as_tagged(old: bytes, new: bytes) -> None:
    record = stored(Family.ChildPlaced)
    odd = dataclasses.replace(record, state=record.state.replace(old, new, 1))
    with pytest.raises(MapperDeserialisationError, match="typed payload of another form"):
        MAPPER.to_domain_event(odd)


@pytest.mark.parametrize(
    ("cls", "changes"),
    [
        (Family.ChildReferred, {"hours_in_cbp_custody": 52.5}),
        (Family.MemberAdded, {"age": True}),
        (Family.MemberAdded, {"birth_date": datetime(2010, 3, 4)}),
        (Family.ParentReleased, {"destination": None}),
    ],
    ids=["float for int", "bool for int", "datetime for date", "None for text"],
)
def test_a_value_its_field_cannot_hold_is_refused_when_written(cls: Any, changes: Any) -> None:
    # Rows are chained and never edited: one that cannot be read back must not be written.
    with pytest.raises(ValueError, match="cannot be stored"):
        WRITERS["typed"].to_stored_event(with_fields(cls, **changes))


def test_a_moment_with_an_offset_in_seconds_keeps_its_instant() -> None:
    # msgspec writes offsets to the minute; such a moment is written in UTC instead.
    lmt = timezone(timedelta(hours=-5, minutes=-50, seconds=-36))
    when = datetime(2018, 6, 1, 12, 0, tzinfo=lmt)
    event = with_fields(Family.ParentReleased, occurred_at=when)
    restored = MAPPER.to_domain_event(WRITERS["typed"].to_stored_event(event))
    assert restored.occurred_at == when


@pytest.mark.parametrize("written", list(WRITERS))
def test_a_value_object_field_with_a_default_may_be_absent(written: str) -> None:
    # A field added to a value object later is absent from the rows written before it.
    def without_state(state: dict[str, Any]) -> None:
        facility = state["facility"]
        (facility.get("_data_") or facility).pop("state")

    record = WRITERS[written].to_stored_event(samples_of(Family.ChildPlaced)[0])
    restored = MAPPER.to_domain_event(edited(record, without_state))
    assert restored.facility.state is None


facilities = st.builds(
    Facility,
    id=st.sampled_from(["geo-adelanto", "bcfs-harlingen", "1"]),
    name=st.sampled_from(["Adelanto", "Harlingen", "Casa Padre", "1"]),
    state=st.sampled_from([None, "CA", "TX"]),
)


@given(st.lists(facilities, min_size=1, max_size=12))
@settings(max_examples=100, deadline=None, database=None)
def test_decoded_value_objects_are_shared_only_when_every_field_is_equal(
    placed: list[Facility],
) -> None:
    template: Any = samples_of(Family.ChildPlaced)[0]
    records = [MAPPER.to_stored_event(dataclasses.replace(template, facility=f)) for f in placed]
    restored = [MAPPER.to_domain_event(r).facility for r in records]
    assert restored == placed
    assert all(type(f) is Facility for f in restored)
    for a, b in itertools.combinations(restored, 2):
        assert (a is b) == (a == b)


def test_a_shared_value_object_is_the_same_whether_its_default_was_written_or_not() -> None:
    def without_state(state: dict[str, Any]) -> None:
        state["facility"].pop("state")

    sample: Any = samples_of(Family.ChildPlaced)[0]
    event = dataclasses.replace(sample, facility=Facility("geo-adelanto", "Adelanto"))
    record = WRITERS["typed"].to_stored_event(event)
    written, absent = (MAPPER.to_domain_event(r) for r in (record, edited(record, without_state)))
    assert written.facility is absent.facility
