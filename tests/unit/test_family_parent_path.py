"""A parent's path: custody, removal and return, the search for them, and their wishes."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from domain.errors import (
    AlreadyRemoved,
    InvalidValue,
    NotInCustody,
    NotLinked,
    NotRemoved,
    NotWithParent,
    RemovalNotOrdered,
    UnknownMember,
    WrongRole,
)
from domain.family import Family
from domain.values import (
    Country,
    CustodyKind,
    Facility,
    LocationOutcome,
    RemovalElection,
    RemovalKind,
    ReturnRoute,
    ReunificationPreference,
)
from tests.scenarios.family import (
    adult,
    assert_refused,
    at,
    last_event,
    opened_family,
    reunified_family,
    separated_family,
)

PORT_ISABEL = Facility("port-isabel", "Port Isabel Detention Center", "TX")
OTERO = Facility("otero", "Otero County Processing Center", "NM")
GUATEMALA = Country("GT")


def removed_family() -> tuple[Family, UUID, UUID]:
    family, mother, son = separated_family()
    family.detain_parent(mother, PORT_ISABEL, CustodyKind.ICE, at(2))
    family.remove_parent(mother, GUATEMALA, (), at(14))
    return family, mother, son


def test_a_detained_parent_is_in_custody_at_the_facility() -> None:
    family, mother, _ = separated_family()
    family.detain_parent(mother, PORT_ISABEL, CustodyKind.ICE, at(2))
    path = family.parents[mother]
    assert (path.custody, path.facility) == (CustodyKind.ICE, PORT_ISABEL)
    assert isinstance(last_event(family), Family.ParentDetained)


def test_a_transferred_parent_is_held_at_the_new_facility_by_the_new_custodian() -> None:
    family, mother, _ = separated_family()
    family.detain_parent(mother, PORT_ISABEL, CustodyKind.US_MARSHALS, at(2))
    family.transfer_parent(mother, OTERO, CustodyKind.ICE, at(9))
    assert (family.parents[mother].custody, family.parents[mother].facility) == (
        CustodyKind.ICE,
        OTERO,
    )


def test_a_released_parent_is_out_of_custody_at_the_destination() -> None:
    family, mother, _ = separated_family()
    family.detain_parent(mother, PORT_ISABEL, CustodyKind.ICE, at(2))
    family.release_parent(mother, "Houston, TX", at(30))
    path = family.parents[mother]
    assert (path.custody, path.facility, path.released_to) == (None, None, "Houston, TX")


def test_a_removal_election_follows_a_removal_order() -> None:
    family, mother, _ = separated_family()
    family.order_removal(mother, RemovalKind.EXPEDITED, at(10))
    family.sign_removal_election(
        mother, RemovalElection.DEPART_WITHOUT_CHILD, "Spanish", False, "read aloud", at(11)
    )
    path = family.parents[mother]
    assert (path.removal_order, path.removal_election) == (
        RemovalKind.EXPEDITED,
        RemovalElection.DEPART_WITHOUT_CHILD,
    )
    event = last_event(family)
    assert isinstance(event, Family.RemovalElectionSigned)
    assert (event.language, event.counsel_present, event.how_read) == (
        "Spanish",
        False,
        "read aloud",
    )


def test_a_removed_parent_is_abroad_and_out_of_custody() -> None:
    family, mother, _ = removed_family()
    path = family.parents[mother]
    assert (path.removed_to, path.removals, path.abroad, path.custody) == (
        GUATEMALA,
        1,
        True,
        None,
    )


def test_a_parent_may_be_removed_with_a_child_reunified_with_them() -> None:
    family, mother, son = reunified_family()
    family.remove_parent(mother, GUATEMALA, (son,), at(45))
    assert family.children[son].removed_to == GUATEMALA
    event = last_event(family)
    assert isinstance(event, Family.ParentRemoved)
    assert event.children_removed_with == [son]


def test_a_returned_parent_is_back_and_may_be_removed_again() -> None:
    family, mother, _ = removed_family()
    family.return_parent(mother, ReturnRoute.PAROLE, at(300))
    assert (family.parents[mother].returned, family.parents[mother].abroad) == (
        ReturnRoute.PAROLE,
        False,
    )
    family.remove_parent(mother, GUATEMALA, (), at(400))
    assert (family.parents[mother].removals, family.parents[mother].abroad) == (2, True)


def test_each_attempt_to_locate_a_parent_is_counted_with_its_outcome() -> None:
    family, mother, _ = removed_family()
    for outcome in (LocationOutcome.NOT_FOUND, LocationOutcome.UNREACHABLE, LocationOutcome.FOUND):
        family.attempt_location(mother, "phone", outcome, "class counsel", at(60))
    path = family.parents[mother]
    assert (path.location_attempts, path.last_location_outcome) == (3, LocationOutcome.FOUND)


def test_a_parents_preference_is_recorded() -> None:
    family, mother, _ = removed_family()
    family.record_preference(mother, ReunificationPreference.WAIVE_CHILD_STAYS, at(81))
    assert family.parents[mother].preference is ReunificationPreference.WAIVE_CHILD_STAYS


def test_an_aunt_may_be_detained_like_a_parent() -> None:
    family, _, _ = separated_family()
    aunt = uuid4()
    family.add_member(adult(aunt), at(1))
    family.detain_parent(aunt, PORT_ISABEL, CustodyKind.STATE_OR_LOCAL, at(2))
    assert family.parents[aunt].custody is CustodyKind.STATE_OR_LOCAL


# Invariants.


def test_a_child_is_not_detained_as_a_parent() -> None:
    family, _, son = separated_family()
    assert_refused(
        family, WrongRole, lambda f: f.detain_parent(son, PORT_ISABEL, CustodyKind.ICE, at(2))
    )


def test_a_stranger_is_not_detained() -> None:
    family, _, _ = separated_family()
    assert_refused(
        family,
        UnknownMember,
        lambda f: f.detain_parent(uuid4(), PORT_ISABEL, CustodyKind.ICE, at(2)),
    )


def test_only_a_detained_parent_is_transferred() -> None:
    family, mother, _ = separated_family()
    assert_refused(
        family, NotInCustody, lambda f: f.transfer_parent(mother, OTERO, CustodyKind.ICE, at(9))
    )


def test_a_released_parent_is_not_transferred() -> None:
    family, mother, _ = separated_family()
    family.detain_parent(mother, PORT_ISABEL, CustodyKind.ICE, at(2))
    family.release_parent(mother, "Houston, TX", at(3))
    assert_refused(
        family, NotInCustody, lambda f: f.transfer_parent(mother, OTERO, CustodyKind.ICE, at(9))
    )


def test_a_release_names_where_to() -> None:
    family, mother, _ = separated_family()
    assert_refused(family, InvalidValue, lambda f: f.release_parent(mother, "  ", at(3)))


def test_a_removal_election_needs_a_removal_order() -> None:
    family, mother, _ = separated_family()
    assert_refused(
        family,
        RemovalNotOrdered,
        lambda f: f.sign_removal_election(
            mother, RemovalElection.REUNIFY_FOR_REMOVAL, "Spanish", True, "read aloud", at(11)
        ),
    )


@pytest.mark.parametrize(("language", "how_read"), [("", "read aloud"), ("Spanish", " ")])
def test_a_removal_election_says_in_what_language_and_how_it_was_read(
    language: str, how_read: str
) -> None:
    family, mother, _ = separated_family()
    family.order_removal(mother, RemovalKind.REINSTATED, at(10))
    assert_refused(
        family,
        InvalidValue,
        lambda f: f.sign_removal_election(
            mother, RemovalElection.REUNIFY_FOR_REMOVAL, language, True, how_read, at(11)
        ),
    )


def test_a_parent_is_removed_at_most_once_unless_returned() -> None:
    family, mother, _ = removed_family()
    assert_refused(
        family, AlreadyRemoved, lambda f: f.remove_parent(mother, Country("HN"), (), at(20))
    )


def test_a_removed_parent_is_not_detained_or_released_in_the_us() -> None:
    family, mother, _ = removed_family()
    assert_refused(
        family,
        AlreadyRemoved,
        lambda f: f.detain_parent(mother, PORT_ISABEL, CustodyKind.ICE, at(20)),
    )
    assert_refused(family, AlreadyRemoved, lambda f: f.release_parent(mother, "Houston", at(20)))


def test_only_a_removed_parent_returns() -> None:
    family, mother, _ = separated_family()
    assert_refused(family, NotRemoved, lambda f: f.return_parent(mother, ReturnRoute.PAROLE, at(9)))


def test_a_returned_parent_does_not_return_twice() -> None:
    family, mother, _ = removed_family()
    family.return_parent(mother, ReturnRoute.COURT_ORDER, at(300))
    assert_refused(
        family, NotRemoved, lambda f: f.return_parent(mother, ReturnRoute.PAROLE, at(301))
    )


def test_a_child_in_care_is_not_removed_with_the_parent() -> None:
    family, mother, son = separated_family()
    assert_refused(
        family, NotWithParent, lambda f: f.remove_parent(mother, GUATEMALA, (son,), at(14))
    )


def test_a_child_removed_with_a_parent_is_linked_to_that_parent() -> None:
    family, _, son = reunified_family()
    stranger = uuid4()
    family.add_member(adult(stranger), at(41))
    assert_refused(
        family, NotLinked, lambda f: f.remove_parent(stranger, GUATEMALA, (son,), at(45))
    )


def test_a_child_removed_with_a_parent_is_named_once() -> None:
    family, mother, son = reunified_family()
    assert_refused(
        family, InvalidValue, lambda f: f.remove_parent(mother, GUATEMALA, (son, son), at(45))
    )


@pytest.mark.parametrize(("method", "by_whom"), [("", "counsel"), ("phone", "")])
def test_an_attempt_to_locate_says_how_and_by_whom(method: str, by_whom: str) -> None:
    family, mother, _ = removed_family()
    assert_refused(
        family,
        InvalidValue,
        lambda f: f.attempt_location(mother, method, LocationOutcome.FOUND, by_whom, at(60)),
    )


def test_a_preference_is_a_parents() -> None:
    family, _, son = opened_family()
    assert_refused(
        family,
        WrongRole,
        lambda f: f.record_preference(son, ReunificationPreference.UNDECIDED, at(1)),
    )
