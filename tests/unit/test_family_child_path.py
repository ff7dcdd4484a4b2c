"""A child's path: separated, referred to ORR, in care, transferred, then out of care."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID, uuid4

import pytest

from domain.errors import (
    ChildPathEnded,
    InvalidValue,
    NotInCare,
    NotLinked,
    UnknownMember,
    WrongRole,
)
from domain.family import CaseStatus, ChildStatus, Family
from domain.paths import Eligibility
from domain.values import (
    ContactChannel,
    DischargeReason,
    EligibilityOutcome,
    Facility,
    Office,
    ProgramType,
    SeparationReason,
)
from tests.scenarios.family import (
    CASA_PADRE,
    SAN_YSIDRO,
    adult,
    assert_refused,
    at,
    last_event,
    opened_family,
    reunified_family,
    separated_family,
)

ERO_SAN_DIEGO = Office("ero-sd", "ERO San Diego")
CAYUGA = Facility("cayuga", "Cayuga Centers", "NY")


def test_referring_a_separated_child_records_the_office_and_hours_in_cbp_custody() -> None:
    family, mother, son = opened_family()
    family.separate(mother, son, SAN_YSIDRO, SeparationReason.ZERO_TOLERANCE, None, False, at(1))
    family.refer_child(son, ERO_SAN_DIEGO, 52, at(3))
    path = family.children[son]
    assert (path.status, path.referred_by, path.hours_in_cbp_custody) == (
        ChildStatus.REFERRED,
        ERO_SAN_DIEGO,
        52,
    )
    assert family.status is CaseStatus.SEPARATED
    assert isinstance(last_event(family), Family.ChildReferred)


def test_a_referral_recorded_after_placement_leaves_the_child_in_care() -> None:
    family, _, son = separated_family()
    family.refer_child(son, ERO_SAN_DIEGO, None, at(4))
    assert family.children[son].status is ChildStatus.IN_CARE
    assert family.children[son].referred_by == ERO_SAN_DIEGO


def test_transferring_a_child_in_care_moves_the_child_to_the_new_provider() -> None:
    family, _, son = separated_family()
    family.transfer_child(son, CAYUGA, ProgramType.TRANSITIONAL_FOSTER_CARE, at(20))
    assert (family.children[son].status, family.children[son].facility) == (
        ChildStatus.IN_CARE,
        CAYUGA,
    )
    assert isinstance(last_event(family), Family.ChildTransferred)


def test_discharging_a_child_to_a_sponsor_ends_the_childs_path() -> None:
    family, _, son = separated_family()
    family.discharge_child(son, DischargeReason.SPONSOR, "released to an aunt", at(60))
    path = family.children[son]
    assert (path.status, path.discharge_reason, path.facility) == (
        ChildStatus.DISCHARGED,
        DischargeReason.SPONSOR,
        None,
    )
    # Discharged counts as out of care, as a reunification does.
    assert family.status is CaseStatus.REUNIFIED


def test_contact_between_a_linked_parent_and_child_is_recorded() -> None:
    family, mother, son = separated_family()
    family.establish_contact(mother, son, ContactChannel.VIDEO, at(10))
    assert family.parents[mother].contacted == {son}
    event = last_event(family)
    assert isinstance(event, Family.ContactEstablished)
    assert event.channel is ContactChannel.VIDEO


def test_eligibility_is_determined_per_parent_and_child_with_any_red_flag() -> None:
    family, mother, son = separated_family()
    family.determine_eligibility(mother, son, EligibilityOutcome.INELIGIBLE, "criminal", at(9))
    assert family.parents[mother].eligibility == {
        son: Eligibility(EligibilityOutcome.INELIGIBLE, "criminal")
    }
    family.determine_eligibility(mother, son, EligibilityOutcome.ELIGIBLE, None, at(19))
    assert family.parents[mother].eligibility[son] == Eligibility(EligibilityOutcome.ELIGIBLE, None)


# Invariants.


def test_only_a_child_in_care_is_transferred() -> None:
    family, mother, son = opened_family()
    family.separate(mother, son, SAN_YSIDRO, SeparationReason.ZERO_TOLERANCE, None, False, at(1))
    assert_refused(
        family, NotInCare, lambda f: f.transfer_child(son, CAYUGA, ProgramType.SHELTER, at(2))
    )


def test_only_a_child_is_referred() -> None:
    family, mother, _ = separated_family()
    assert_refused(family, WrongRole, lambda f: f.refer_child(mother, ERO_SAN_DIEGO, None, at(2)))


def test_referring_a_stranger_is_refused() -> None:
    family, _, _ = separated_family()
    assert_refused(
        family, UnknownMember, lambda f: f.refer_child(uuid4(), ERO_SAN_DIEGO, None, at(2))
    )


def test_hours_in_cbp_custody_are_not_negative() -> None:
    family, _, son = separated_family()
    assert_refused(family, InvalidValue, lambda f: f.refer_child(son, ERO_SAN_DIEGO, -1, at(2)))


def test_contact_needs_a_linked_parent() -> None:
    family, _, son = separated_family()
    stranger = uuid4()
    family.add_member(adult(stranger), at(2))
    assert_refused(
        family,
        NotLinked,
        lambda f: f.establish_contact(stranger, son, ContactChannel.PHONE, at(3)),
    )


def test_eligibility_needs_a_linked_parent() -> None:
    family, _, son = separated_family()
    stranger = uuid4()
    family.add_member(adult(stranger), at(2))
    assert_refused(
        family,
        NotLinked,
        lambda f: f.determine_eligibility(stranger, son, EligibilityOutcome.ELIGIBLE, None, at(3)),
    )


@pytest.mark.parametrize(
    "command",
    [
        lambda f, mother, son: f.refer_child(son, ERO_SAN_DIEGO, None, at(50)),
        lambda f, mother, son: f.place_child(son, CASA_PADRE, ProgramType.SHELTER, at(50)),
        lambda f, mother, son: f.transfer_child(son, CAYUGA, ProgramType.SHELTER, at(50)),
        lambda f, mother, son: f.discharge_child(son, DischargeReason.OTHER, None, at(50)),
        lambda f, mother, son: f.establish_contact(mother, son, ContactChannel.PHONE, at(50)),
        lambda f, mother, son: f.determine_eligibility(
            mother, son, EligibilityOutcome.ELIGIBLE, None, at(50)
        ),
        lambda f, mother, son: f.reunify(son, mother, None, at(50)),
        lambda f, mother, son: f.separate(
            mother, son, SAN_YSIDRO, SeparationReason.OTHER, None, False, at(50)
        ),
    ],
    ids=[
        "refer",
        "place",
        "transfer",
        "discharge",
        "contact",
        "eligibility",
        "reunify",
        "separate",
    ],
)
@pytest.mark.parametrize("ending", ["reunified", "discharged"])
def test_nothing_is_recorded_about_a_child_whose_path_ended(
    command: Callable[[Family, UUID, UUID], None], ending: str
) -> None:
    if ending == "reunified":
        family, mother, son = reunified_family()
    else:
        family, mother, son = separated_family()
        family.discharge_child(son, DischargeReason.AGED_OUT, None, at(40))
    assert_refused(family, ChildPathEnded, lambda f: command(f, mother, son))
