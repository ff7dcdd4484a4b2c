"""Personal data is declared once per event, sealed per person, bound to its place, erasable."""

from __future__ import annotations

import dataclasses
import os
import stat
import typing
from datetime import UTC, date, datetime
from pathlib import Path
from types import UnionType
from typing import Any
from uuid import UUID, uuid4

import msgspec
import pytest

from domain.erasure_commands import AlreadyErased
from domain.events import Happened
from domain.family import Family, Member
from domain.personal import ERASED, personal_fields
from domain.values import ANumber, FieldChange, MemberRole, PersonName, Sex
from service.eventstore.codec import create_mapper, family_events
from service.eventstore.keyring import KeyMissing, Keyring
from service.eventstore.records import RecordedEvent
from service.eventstore.sealed_changes import PERSONAL_NAMES
from service.eventstore.sealed_payloads import sealed_for
from service.eventstore.sealing import FileKek, KekFileError, SealError, generate_kek_file
from tests.scenarios.events import story
from tests.scenarios.family import T0

# A field of one of these types may hold what identifies or describes a person.
PERSONAL_LOOKING = (PersonName, ANumber, date, str)
ROW_FIELDS = {"originator_id", "originator_version", "originator_topic", "timestamp"}


def looks_personal(hint: Any) -> bool:
    options = typing.get_args(hint) if isinstance(hint, UnionType) else (hint,)
    return any(o in PERSONAL_LOOKING and o is not datetime for o in options)


def fields_of(cls: type[Any]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.name not in ROW_FIELDS}


def undecided(cls: type[Any]) -> set[str]:
    """The fields of a personal-looking type a class has not said hold personal data or not."""
    decided = set(personal_fields(cls)) | set(getattr(cls, "impersonal", ()))
    return {n for n, hint in fields_of(cls).items() if looks_personal(hint)} - decided


@pytest.mark.parametrize("cls", family_events(), ids=lambda c: c.__name__)
def test_every_field_that_may_hold_personal_data_is_decided(cls: type[Any]) -> None:
    fields = fields_of(cls)
    decided = set(personal_fields(cls)) | set(cls.impersonal)
    assert not undecided(cls), (
        f"{cls.__name__}: say whether {sorted(undecided(cls))} hold personal data "
        "(domain/events.py: `personal` or `impersonal`)"
    )
    assert decided <= set(fields), f"{cls.__name__} declares fields it does not have"
    assert not set(personal_fields(cls)) & set(cls.impersonal)


@pytest.mark.parametrize("cls", family_events(), ids=lambda c: c.__name__)
def test_personal_data_names_one_person_it_is_about(cls: type[Any]) -> None:
    subjects = set(personal_fields(cls).values())
    assert len(subjects) <= 1, "one person's key seals an event"
    for subject in subjects:
        assert fields_of(cls)[subject] in (UUID, UUID | None)


@pytest.mark.parametrize("cls", family_events(), ids=lambda c: c.__name__)
def test_a_personal_field_name_is_personal_in_every_event_that_has_it(cls: type[Any]) -> None:
    # A correction's values are sealed by their field's name (service.eventstore.sealed_changes).
    assert PERSONAL_NAMES & set(fields_of(cls)) <= set(personal_fields(cls))


def test_no_personal_data_of_an_erased_person_can_be_recorded() -> None:
    family = Family.open(uuid4(), T0, "C-1", "test")
    child = Member(uuid4(), MemberRole.CHILD, PersonName("Ana"), Sex.FEMALE)
    family.add_member(child, T0)
    family.erase_personal_data(child.person_id, "order 1", "judge", T0)
    with pytest.raises(AlreadyErased):
        family.erase_personal_data(child.person_id, "order 2", "judge", T0)
    with pytest.raises(AlreadyErased, match="changes cannot be recorded"):
        family.correct_entry(2, (FieldChange("name", PersonName("Eva")),), "typo", T0)
    family.correct_entry(2, (FieldChange("age", 4),), "as recorded", T0)  # not personal


class Invented(Happened):
    """An event as someone might add it: a nickname, an alias, a date of arrival."""

    person_id: UUID
    nickname: str | None
    alias: PersonName
    arrived_on: date
    count: int


def test_the_walk_finds_each_new_field_added_without_a_decision() -> None:
    assert undecided(Invented) == {"nickname", "alias", "arrived_on"}
    Invented.personal = {"nickname": "person_id", "alias": "person_id"}
    Invented.impersonal = frozenset({"arrived_on"})
    try:
        assert undecided(Invented) == set()
    finally:
        Invented.personal, Invented.impersonal = {}, frozenset()


def keyring() -> Keyring:
    return Keyring([FileKek(os.urandom(32))])


def row_of(stored: Any, position: int = 1) -> RecordedEvent:
    return RecordedEvent(
        position,
        1,
        stored.originator_id,
        stored.originator_version,
        stored.topic,
        stored.state,
        None,
        datetime.now(UTC),
        "a",
        "r",
        "s",
        None,
        None,
        None,
        None,
        None,
        b"",
    )


def with_keys(ring: Keyring, event: Any) -> None:
    for subject in personal_fields(type(event)).values():
        if vars(event)[subject] is not None and subject not in ring.erased:
            ring._keep(vars(event)[subject], os.urandom(32))


def test_every_event_of_the_story_reads_back_sealed_and_erases() -> None:
    ring, sealed = keyring(), 0
    mapper = create_mapper(keys=ring)
    events = story()
    for event in events:
        with_keys(ring, event)
    stored = [mapper.to_stored_event(e) for e in events]
    for event, s in zip(events, stored, strict=True):
        assert vars(mapper.decode_row(row_of(s))) == vars(event)
        sealed += sealed_for(s.state) is not None
    assert sealed >= 4
    people = {p for e in events for p in map(vars(e).get, personal_fields(type(e)).values())}
    for person in people:
        if person is not None:
            ring.forget(person)
    for event, s in zip(events, stored, strict=True):
        got = vars(mapper.decode_row(row_of(s)))
        for name in personal_fields(type(event)):
            if name == "changes":  # a correction: each personal value erased, the rest kept
                for change, was in zip(got[name], vars(event)[name], strict=True):
                    personal = was.field in PERSONAL_NAMES
                    assert change.value == (ERASED if personal else was.value)
                continue
            assert got[name] == (None if vars(event)[name] is None else ERASED)


def named_member() -> Any:
    """A child recorded with a name, a birth date and an A-number."""
    family = Family.open(uuid4(), T0, "C-1", "test")
    child = Member(
        uuid4(), MemberRole.CHILD, PersonName("Ana"), Sex.FEMALE, date(2012, 3, 4),
        a_number=ANumber("A12345678"),
    )  # fmt: skip
    family.add_member(child, T0)
    return family.collect_events()[-1]


def test_a_sealed_value_cannot_be_moved_to_another_event_or_field() -> None:
    ring = keyring()
    mapper = create_mapper(keys=ring)
    event = named_member()
    with_keys(ring, event)
    s = mapper.to_stored_event(event)
    moved = row_of(s)._replace(version=s.originator_version + 1)
    with pytest.raises(Exception, match="does not open"):
        mapper.decode_row(moved)
    other = row_of(s)._replace(stream_id=uuid4())
    with pytest.raises(Exception, match="does not open"):
        mapper.decode_row(other)
    raw = msgspec.json.decode(s.state)  # two sealed fields of the same event swapped
    raw["name"], raw["birth_date"] = raw["birth_date"], raw["name"]
    swapped = row_of(s)._replace(payload=msgspec.json.encode(raw))
    with pytest.raises(Exception, match="does not open"):
        mapper.decode_row(swapped)
    assert vars(mapper.decode_row(row_of(s))) == vars(event)


def test_a_sealed_row_without_its_key_is_an_error_not_an_erasure() -> None:
    ring = keyring()
    event = named_member()
    with_keys(ring, event)
    s = create_mapper(keys=ring).to_stored_event(event)
    with pytest.raises(Exception, match="no data key"):
        create_mapper(keys=keyring()).decode_row(row_of(s))
    with pytest.raises(KeyMissing):
        keyring().cipher(uuid4())


def test_a_clear_row_of_an_erased_person_reads_erased() -> None:
    ring = keyring()
    event = named_member()
    clear = create_mapper().to_stored_event(event)  # written before sealing existed
    mapper = create_mapper(keys=ring)
    assert mapper.decode_row(row_of(clear)).name == event.name
    ring.forget(event.person_id)
    assert mapper.decode_row(row_of(clear)).name is ERASED


def test_a_kek_file_is_its_owners_alone_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "kek"
    made = generate_kek_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert FileKek.load(path).key_id == made.key_id
    with pytest.raises(KekFileError, match="exists"):
        generate_kek_file(path)
    path.chmod(0o644)
    with pytest.raises(KekFileError, match="read by others"):
        FileKek.load(path)
    path.chmod(0o600)
    path.write_text("not a key\n")
    with pytest.raises(KekFileError, match="not a Reunite KEK"):
        FileKek.load(path)


def test_a_data_key_unwraps_only_under_its_kek_and_person() -> None:
    kek, other = FileKek(os.urandom(32)), FileKek(os.urandom(32))
    person = uuid4()
    wrapped = kek.wrap(b"k" * 32, person)
    assert kek.unwrap(wrapped, person) == b"k" * 32
    with pytest.raises(SealError):
        other.unwrap(wrapped, person)
    with pytest.raises(SealError):
        kek.unwrap(wrapped, uuid4())
