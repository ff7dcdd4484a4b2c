"""The Family aggregate: members, links and each child's path, in the caseworker's words."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

from domain.errors import (
    AlreadyRecorded,
    ChildPathEnded,
    NotLinked,
    UnknownMember,
    WrongRole,
)
from domain.family import CaseStatus, ChildStatus, Family, Member
from domain.values import (
    Agency,
    ANumber,
    Country,
    Evidence,
    Facility,
    MemberRole,
    PersonName,
    ProgramType,
    RelationshipKind,
    SeparationReason,
    Sex,
)
from tests.scenarios.family import (
    CASA_PADRE,
    SAN_YSIDRO,
    T0,
    Command,
    adult,
    apprehended_family,
    assert_refused,
    at,
    child,
    last_event,
    opened_family,
    reunified_family,
    separated_family,
)

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


def test_adding_an_adult_starts_a_parents_path_and_everyone_has_an_asylum_path() -> None:
    family, mother, son = opened_family()
    assert set(family.parents) == {mother}
    assert set(family.asylum) == {mother, son}
    assert family.parents[mother].custody is None
    assert family.asylum[son].credible_fear is None


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
    assert isinstance(last_event(family), Family.MemberAdded)


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


def test_apprehending_a_family_records_who_when_where_and_by_whom() -> None:
    family, mother, son = apprehended_family()
    event = last_event(family)
    assert isinstance(event, Family.Apprehended)
    assert (event.person_ids, event.place, event.agency) == (
        [mother, son],
        SAN_YSIDRO,
        Agency.OFFICE_OF_FIELD_OPERATIONS,
    )
    assert family.apprehended_at == {mother: T0, son: T0}


def test_separating_a_child_from_a_linked_parent_separates_the_case() -> None:
    family, mother, son = opened_family()
    family.separate(mother, son, SAN_YSIDRO, SeparationReason.HEALTH, "asthma", True, at(1))
    assert family.children[son].status is ChildStatus.SEPARATED
    assert family.children[son].separated_from == {mother}
    assert family.status is CaseStatus.SEPARATED
    assert isinstance(last_event(family), Family.Separated)


def test_a_separation_keeps_the_sources_own_wording_of_the_reason() -> None:
    family, mother, son = opened_family()
    family.separate(
        mother,
        son,
        SAN_YSIDRO,
        SeparationReason.CRIMINAL_HISTORY,
        None,
        False,
        at(1),
        reason_text="Parent's Criminal History",
    )
    event = last_event(family)
    assert isinstance(event, Family.Separated)
    assert (event.reason, event.reason_text) == (
        SeparationReason.CRIMINAL_HISTORY,
        "Parent's Criminal History",
    )


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
    assert isinstance(last_event(family), Family.Reunified)


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


def test_closing_a_case_closes_it() -> None:
    family, _, _ = reunified_family()
    family.close_case("family reunified; no further action", at(41))
    assert family.closed
    assert family.status is CaseStatus.CLOSED
    assert isinstance(last_event(family), Family.CaseClosed)


# Invariants: each refusal is a typed domain error and leaves no trace.


def test_a_person_is_added_to_a_case_only_once() -> None:
    family, mother, _ = opened_family()
    assert_refused(family, AlreadyRecorded, lambda f: f.add_member(child(mother), at(1)))


def test_a_relationship_is_recorded_only_once() -> None:
    family, mother, son = opened_family()
    assert_refused(
        family,
        AlreadyRecorded,
        lambda f: f.record_relationship(
            mother, son, RelationshipKind.LEGAL_GUARDIAN, Evidence.DOCUMENTS, at(1)
        ),
    )


def test_a_child_cannot_be_linked_as_a_parent() -> None:
    family, mother, son = opened_family()
    assert_refused(
        family,
        WrongRole,
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
        WrongRole,
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
        family, ChildPathEnded, lambda f: f.place_child(son, other, ProgramType.SHELTER, at(41))
    )


def test_a_reunified_child_is_not_separated_again() -> None:
    family, mother, son = reunified_family()
    assert_refused(
        family,
        ChildPathEnded,
        lambda f: f.separate(
            mother, son, SAN_YSIDRO, SeparationReason.ZERO_TOLERANCE, None, False, at(41)
        ),
    )


def test_a_reunified_child_is_not_reunified_twice() -> None:
    family, mother, son = reunified_family()
    assert_refused(family, ChildPathEnded, lambda f: f.reunify(son, mother, None, at(41)))


def test_a_reunified_child_is_not_apprehended_again() -> None:
    family, mother, son = reunified_family()
    assert_refused(
        family,
        ChildPathEnded,
        lambda f: f.apprehend((mother, son), SAN_YSIDRO, Agency.BORDER_PATROL, at(41)),
    )
