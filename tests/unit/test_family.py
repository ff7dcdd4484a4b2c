"""The Family aggregate: members, links and each child's path, in the caseworker's words."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import NamedTuple
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import CaseClosed, DomainError, InvariantViolated, NotLinked, UnknownMember
from domain.family import CaseStatus, ChildPath, ChildStatus, Family, Member
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
from tests.builders import CASA_PADRE, SAN_YSIDRO, T0, at, opened_family

Command = Callable[[Family], None]


def adult(person_id: UUID, role: MemberRole = MemberRole.PARENT) -> Member:
    return Member(person_id, role, PersonName("Carlos"), Sex.MALE)


def child(person_id: UUID) -> Member:
    return Member(person_id, MemberRole.CHILD, PersonName("Dani"), Sex.FEMALE, age=7)


def separated_family() -> tuple[Family, UUID, UUID]:
    """Ana and her son Beto, separated at San Ysidro and Beto placed at Casa Padre."""
    family, mother, son = opened_family()
    family.separate(mother, son, SAN_YSIDRO, SeparationReason.ZERO_TOLERANCE, None, False, at(1))
    family.place_child(son, CASA_PADRE, ProgramType.SHELTER, at(3))
    return family, mother, son


def reunified_family() -> tuple[Family, UUID, UUID]:
    family, mother, son = separated_family()
    family.reunify(son, mother, SAN_YSIDRO, at(40))
    return family, mother, son


class Trace(NamedTuple):
    """Everything a refused command must leave as it was."""

    version: int
    pending: list[object]
    members: dict[UUID, Member]
    links: set[tuple[UUID, UUID]]
    children: dict[UUID, ChildPath]
    status: CaseStatus


def trace(family: Family) -> Trace:
    return Trace(
        family.version,
        list(family.pending_events),
        copy.deepcopy(family.members),
        set(family.links),
        copy.deepcopy(family.children),
        family.status,
    )


def assert_refused(family: Family, error: type[DomainError], command: Command) -> None:
    """The command raises exactly this domain error and records nothing."""
    before = trace(family)
    with pytest.raises(error) as caught:
        command(family)
    assert type(caught.value) is error
    assert trace(family) == before


# Recording a family's story.


def test_opening_a_case_records_its_number_and_source() -> None:
    family = Family(id=uuid4(), occurred_at=T0, case_number="C-1", source="import:row 58")
    (opened,) = family.collect_events()
    assert isinstance(opened, Family.CaseOpened)
    assert (opened.case_number, opened.source, opened.occurred_at) == ("C-1", "import:row 58", T0)
    assert (family.version, family.status, family.members, family.links) == (
        1,
        CaseStatus.OPEN,
        {},
        set(),
    )


def test_adding_a_child_starts_the_childs_path_with_the_family() -> None:
    family, mother, son = opened_family()
    assert family.members[son].role is MemberRole.CHILD
    assert family.children == {son: family.children[son]}
    assert family.children[son].status is ChildStatus.WITH_FAMILY
    assert mother not in family.children


def test_a_member_keeps_the_personal_data_recorded_for_them() -> None:
    family, _, _ = opened_family()
    father = Member(
        uuid4(),
        MemberRole.PARENT,
        PersonName("Carlos"),
        Sex.MALE,
        date(1990, 2, 1),
        28,
        Country("GT"),
        ANumber("A201234567"),
    )
    family.add_member(father, at(0))
    assert family.members[father.person_id] == father
    assert isinstance(family.collect_events()[-1], Family.MemberAdded)


def test_a_linked_family_is_still_open() -> None:
    family, mother, son = opened_family()
    assert family.links == {(mother, son)}
    assert family.status is CaseStatus.OPEN
    assert [type(e) for e in family.collect_events()] == [
        Family.CaseOpened,
        Family.MemberAdded,
        Family.MemberAdded,
        Family.RelationshipRecorded,
    ]


def test_an_aunt_may_be_linked_to_a_child() -> None:
    family, _, son = opened_family()
    aunt = uuid4()
    family.add_member(adult(aunt, MemberRole.OTHER_ADULT), at(0))
    family.record_relationship(aunt, son, RelationshipKind.OTHER_RELATIVE, Evidence.CLAIMED, at(0))
    assert (aunt, son) in family.links


def test_separating_a_child_from_a_linked_parent_separates_the_case() -> None:
    family, mother, son = opened_family()
    family.separate(mother, son, SAN_YSIDRO, SeparationReason.HEALTH, "asthma", True, at(1))
    assert family.children[son].status is ChildStatus.SEPARATED
    assert family.children[son].separated_from == {mother}
    assert family.status is CaseStatus.SEPARATED
    assert isinstance(family.collect_events()[-1], Family.Separated)


def test_placing_a_separated_child_puts_the_child_in_care_at_the_facility() -> None:
    family, _, son = separated_family()
    assert family.children[son].status is ChildStatus.IN_CARE
    assert family.children[son].facility == CASA_PADRE
    assert family.status is CaseStatus.SEPARATED


def test_a_child_in_care_separated_from_the_father_too_stays_in_care() -> None:
    family, _, son = separated_family()
    father = uuid4()
    family.add_member(adult(father), at(4))
    family.record_relationship(father, son, RelationshipKind.FATHER, Evidence.DNA, at(4))
    family.separate(father, son, SAN_YSIDRO, SeparationReason.OTHER, "late link", False, at(5))
    assert family.children[son].status is ChildStatus.IN_CARE
    assert len(family.children[son].separated_from) == 2


def test_reunifying_the_child_with_the_parent_reunifies_the_case() -> None:
    family, mother, son = reunified_family()
    path = family.children[son]
    assert (path.status, path.reunified_with, path.facility) == (
        ChildStatus.REUNIFIED,
        mother,
        None,
    )
    assert family.status is CaseStatus.REUNIFIED
    assert isinstance(family.collect_events()[-1], Family.Reunified)


def test_the_case_stays_separated_until_every_separated_child_is_reunified() -> None:
    family, mother, son = separated_family()
    daughter, sibling_at_home = uuid4(), uuid4()
    for kid in (daughter, sibling_at_home):
        family.add_member(child(kid), at(1))
        family.record_relationship(mother, kid, RelationshipKind.MOTHER, Evidence.CLAIMED, at(1))
    family.separate(
        mother, daughter, SAN_YSIDRO, SeparationReason.ZERO_TOLERANCE, None, False, at(1)
    )
    family.reunify(son, mother, None, at(30))
    with_one_child_back = family.status
    family.reunify(daughter, mother, None, at(31))
    # A child never separated holds nothing open.
    assert (with_one_child_back, family.status) == (CaseStatus.SEPARATED, CaseStatus.REUNIFIED)


def test_each_accepted_command_records_one_event_and_advances_the_version() -> None:
    family, mother, son = opened_family()
    family.collect_events()
    commands: list[Command] = [
        lambda f: f.separate(
            mother, son, SAN_YSIDRO, SeparationReason.GANG_AFFILIATION, None, False, at(1)
        ),
        lambda f: f.place_child(son, CASA_PADRE, ProgramType.SECURE, at(2)),
        lambda f: f.reunify(son, mother, None, at(3)),
    ]
    for command in commands:
        version = family.version
        command(family)
        assert len(family.collect_events()) == 1
        assert family.version == version + 1


def test_a_closed_case_reports_itself_closed() -> None:
    family, _, _ = reunified_family()
    family.closed = True  # no command closes a case yet; this is the state CaseClosed would set
    assert family.status is CaseStatus.CLOSED


# Invariants: each refusal is a typed domain error and leaves no trace.


@pytest.mark.parametrize(
    "command",
    [
        lambda f: f.add_member(child(uuid4()), at(50)),
        lambda f: f.record_relationship(
            *next(iter(f.links)), RelationshipKind.MOTHER, Evidence.DNA, at(50)
        ),
        lambda f: f.separate(
            *next(iter(f.links)), SAN_YSIDRO, SeparationReason.OTHER, None, False, at(50)
        ),
        lambda f: f.place_child(next(iter(f.children)), CASA_PADRE, ProgramType.SHELTER, at(50)),
        lambda f: f.reunify(next(iter(f.children)), next(iter(f.links))[0], None, at(50)),
    ],
    ids=["add_member", "record_relationship", "separate", "place_child", "reunify"],
)
def test_nothing_is_recorded_on_a_closed_case(command: Command) -> None:
    family, _, _ = separated_family()
    family.closed = True  # no command closes a case yet; this is the state CaseClosed would set
    assert_refused(family, CaseClosed, command)


def test_a_person_is_added_to_a_case_only_once() -> None:
    family, mother, _ = opened_family()
    assert_refused(family, InvariantViolated, lambda f: f.add_member(child(mother), at(1)))


def test_a_relationship_is_recorded_only_once() -> None:
    family, mother, son = opened_family()
    assert_refused(
        family,
        InvariantViolated,
        lambda f: f.record_relationship(
            mother, son, RelationshipKind.LEGAL_GUARDIAN, Evidence.DOCUMENTS, at(1)
        ),
    )


def test_a_child_cannot_be_linked_as_a_parent() -> None:
    family, mother, son = opened_family()
    assert_refused(
        family,
        InvariantViolated,
        lambda f: f.record_relationship(
            son, mother, RelationshipKind.MOTHER, Evidence.CLAIMED, at(1)
        ),
    )


def test_a_relationship_naming_a_stranger_is_refused() -> None:
    family, mother, _ = opened_family()
    assert_refused(
        family,
        UnknownMember,
        lambda f: f.record_relationship(
            mother, uuid4(), RelationshipKind.MOTHER, Evidence.CLAIMED, at(1)
        ),
    )


def test_a_separation_naming_an_unknown_parent_is_refused() -> None:
    family, _, son = opened_family()
    assert_refused(
        family,
        UnknownMember,
        lambda f: f.separate(
            uuid4(), son, SAN_YSIDRO, SeparationReason.ZERO_TOLERANCE, None, False, at(1)
        ),
    )


def test_a_separation_naming_an_unknown_child_is_refused() -> None:
    family, mother, _ = opened_family()
    assert_refused(
        family,
        UnknownMember,
        lambda f: f.separate(
            mother, uuid4(), SAN_YSIDRO, SeparationReason.ZERO_TOLERANCE, None, False, at(1)
        ),
    )


def test_a_child_is_separated_only_from_a_linked_parent() -> None:
    family, _, son = opened_family()
    stranger = uuid4()
    family.add_member(adult(stranger, MemberRole.OTHER_ADULT), at(0))
    assert_refused(
        family,
        NotLinked,
        lambda f: f.separate(
            stranger, son, SAN_YSIDRO, SeparationReason.UNVERIFIED_RELATIONSHIP, None, False, at(1)
        ),
    )


def test_only_a_child_is_placed_in_care() -> None:
    family, mother, _ = opened_family()
    assert_refused(
        family,
        InvariantViolated,
        lambda f: f.place_child(mother, CASA_PADRE, ProgramType.SHELTER, at(1)),
    )


def test_placing_a_stranger_is_refused() -> None:
    family, _, _ = opened_family()
    assert_refused(
        family,
        UnknownMember,
        lambda f: f.place_child(uuid4(), CASA_PADRE, ProgramType.SHELTER, at(1)),
    )


def test_a_child_is_reunified_only_with_a_linked_parent() -> None:
    family, _, son = separated_family()
    father = uuid4()
    family.add_member(adult(father), at(4))
    assert_refused(family, NotLinked, lambda f: f.reunify(son, father, None, at(40)))


def test_reunification_with_an_unknown_parent_is_refused() -> None:
    family, _, son = separated_family()
    assert_refused(family, UnknownMember, lambda f: f.reunify(son, uuid4(), None, at(40)))


def test_a_reunified_child_is_not_placed_again() -> None:
    family, _, son = reunified_family()
    other = Facility("bcfs-harlingen", "BCFS Harlingen", "TX")
    assert_refused(
        family, InvariantViolated, lambda f: f.place_child(son, other, ProgramType.SHELTER, at(41))
    )


def test_a_reunified_child_is_not_separated_again() -> None:
    family, mother, son = reunified_family()
    assert_refused(
        family,
        InvariantViolated,
        lambda f: f.separate(
            mother, son, SAN_YSIDRO, SeparationReason.ZERO_TOLERANCE, None, False, at(41)
        ),
    )


def test_a_reunified_child_is_not_reunified_twice() -> None:
    family, mother, son = reunified_family()
    assert_refused(family, InvariantViolated, lambda f: f.reunify(son, mother, None, at(41)))


# Properties: the live aggregate is exactly the fold of the events it recorded.

DONE = (ChildStatus.REUNIFIED, ChildStatus.DISCHARGED)
# No example database: unit tests touch no files.
PROPERTY = settings(max_examples=200, deadline=None, database=None)

times = st.integers(min_value=0, max_value=365 * 24).map(lambda hours: at(hours / 24))
places = st.builds(Place, st.sampled_from(PlaceKind), st.sampled_from(["San Ysidro", "El Paso"]))
facilities = st.builds(
    Facility,
    st.sampled_from(["casa-padre", "cayuga"]),
    st.just("Care provider"),
    st.none() | st.sampled_from(["TX", "NY"]),
)
members = st.builds(
    Member,
    person_id=st.uuids(),
    role=st.sampled_from(MemberRole),
    name=st.none() | st.sampled_from(["Ana", "Beto", "Carlos"]).map(PersonName),
    sex=st.sampled_from(Sex),
    birth_date=st.none() | st.dates(date(1950, 1, 1), date(2018, 6, 1)),
    age=st.none() | st.integers(0, 80),
    country=st.none() | st.sampled_from(["MX", "GT", "HN", "SV"]).map(Country),
    a_number=st.none() | st.from_regex(r"A[0-9]{8,9}", fullmatch=True).map(ANumber),
)


@st.composite
def linking(draw: st.DrawFn, adult_id: UUID, child_id: UUID) -> Command:
    kind, evidence = draw(st.sampled_from(RelationshipKind)), draw(st.sampled_from(Evidence))
    when = draw(times)
    return lambda f: f.record_relationship(adult_id, child_id, kind, evidence, when)


@st.composite
def separation(draw: st.DrawFn, adult_id: UUID, child_id: UUID) -> Command:
    place, reason = draw(places), draw(st.sampled_from(SeparationReason))
    note, notified, when = draw(st.none() | st.text()), draw(st.booleans()), draw(times)
    return lambda f: f.separate(adult_id, child_id, place, reason, note, notified, when)


@st.composite
def placement(draw: st.DrawFn, child_id: UUID) -> Command:
    facility, program, when = draw(facilities), draw(st.sampled_from(ProgramType)), draw(times)
    return lambda f: f.place_child(child_id, facility, program, when)


@st.composite
def reunification(draw: st.DrawFn, adult_id: UUID, child_id: UUID) -> Command:
    place, when = draw(st.none() | places), draw(times)
    return lambda f: f.reunify(child_id, adult_id, place, when)


def accepted_commands(family: Family) -> list[st.SearchStrategy[Command]]:
    """Every command the case would accept now."""
    adults = [p for p, m in family.members.items() if m.role is not MemberRole.CHILD]
    open_children = [c for c, path in family.children.items() if path.status not in DONE]
    options = [linking(a, c) for a in adults for c in family.children if (a, c) not in family.links]
    for a, c in family.links:
        if c in open_children:
            options += [separation(a, c), reunification(a, c)]
    return options + [placement(c) for c in open_children]


@st.composite
def family_histories(draw: st.DrawFn) -> Family:
    """A case with a few adults and children, then a run of commands it accepts."""
    family = Family(id=draw(st.uuids()), occurred_at=T0, case_number="C-9", source="hypothesis")
    people = draw(st.lists(members, min_size=1, max_size=6, unique_by=lambda m: m.person_id))
    for person in people:
        family.add_member(person, draw(times))
    for _ in range(draw(st.integers(0, 15))):
        options = accepted_commands(family)
        if not options:
            break
        draw(st.one_of(options))(family)
    return family


def replay(family: Family) -> Family:
    """A fresh aggregate folded from the events the live one recorded."""
    first, *rest = family.collect_events()
    replayed = first.mutate(None)
    for recorded in rest:
        replayed = recorded.mutate(replayed)
    assert isinstance(replayed, Family)
    return replayed


@PROPERTY
@given(family_histories())
def test_replaying_a_case_rebuilds_exactly_the_live_case(family: Family) -> None:
    replayed = replay(family)
    assert replayed.members == family.members
    assert replayed.links == family.links
    assert replayed.children == family.children
    assert replayed.status is family.status
    assert replayed.version == family.version
    assert vars(replayed) == vars(family)


@PROPERTY
@given(family_histories(), st.data())
def test_any_command_records_one_event_or_refuses_and_records_nothing(
    family: Family, data: st.DataObject
) -> None:
    person = st.sampled_from([*family.members, data.draw(st.uuids())])
    pairs = st.tuples(person, person)
    if family.links:  # linked pairs reach the deeper invariants more often than random ones
        pairs = st.sampled_from(sorted(family.links)) | pairs
    a, b = data.draw(pairs)
    newcomer = replace(data.draw(members), person_id=a)
    command = data.draw(
        st.sampled_from(
            [
                lambda f: f.add_member(newcomer, at(1)),
                lambda f: f.record_relationship(
                    a, b, RelationshipKind.UNKNOWN, Evidence.CLAIMED, at(1)
                ),
                lambda f: f.separate(a, b, SAN_YSIDRO, SeparationReason.OTHER, None, False, at(1)),
                lambda f: f.place_child(b, CASA_PADRE, ProgramType.SHELTER, at(1)),
                lambda f: f.reunify(b, a, None, at(1)),
            ]
        )
    )
    before = trace(family)
    try:
        command(family)
    except DomainError:
        assert trace(family) == before
    else:
        assert len(family.pending_events) == len(before.pending) + 1
        assert family.version == before.version + 1
    assert vars(replay(family)) == vars(family)
