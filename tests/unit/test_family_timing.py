"""When things may be recorded: on an open case, at a sane moment, after the apprehension."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NamedTuple
from uuid import UUID, uuid4

import pytest

from domain import rules
from domain.asylum_commands import AsylumCommands
from domain.case_commands import CaseCommands
from domain.child_commands import ChildCommands
from domain.errors import (
    BeforeApprehension,
    CaseAlreadyClosed,
    DomainError,
    InTheFuture,
    InvalidValue,
    TimeWithoutZone,
    UnknownEntry,
    UnknownMember,
)
from domain.family import Family
from domain.parent_commands import ParentCommands
from domain.paths import DataQualityFlag
from domain.values import (
    Agency,
    ContactChannel,
    Country,
    CredibleFearOutcome,
    CustodyKind,
    DischargeReason,
    EligibilityOutcome,
    Evidence,
    Facility,
    FieldChange,
    LocationOutcome,
    Office,
    PersonName,
    ProgramType,
    RelationshipKind,
    RemovalElection,
    RemovalKind,
    ReturnRoute,
    ReunificationPreference,
    SeparationReason,
    SettlementElection,
)
from tests.scenarios.family import (
    CASA_PADRE,
    SAN_YSIDRO,
    T0,
    adult,
    assert_refused,
    at,
    child,
    opened_family,
)

OFFICE = Office("ero-sd", "ERO San Diego")
PORT_ISABEL = Facility("port-isabel", "Port Isabel Detention Center", "TX")
CAYUGA = Facility("cayuga", "Cayuga Centers", "NY")


class Cast(NamedTuple):
    """A case with Ana, her son Beto and Beto's father Carlos (not yet linked), apprehended."""

    family: Family
    mother: UUID
    son: UUID
    father: UUID


def cast(apprehended_at: datetime = T0) -> Cast:
    family, mother, son = opened_family()
    father = uuid4()
    family.add_member(adult(father), T0)
    family.apprehend((mother, son, father), SAN_YSIDRO, Agency.BORDER_PATROL, apprehended_at)
    return Cast(family, mother, son, father)


Step = Callable[[Cast, datetime, bool], None]

# One valid use of every public command, given the steps in PREREQUISITES first.
STEPS: dict[str, Step] = {
    "add_member": lambda c, t, h: c.family.add_member(child(uuid4()), t, historical=h),
    "record_relationship": lambda c, t, h: c.family.record_relationship(
        c.father, c.son, RelationshipKind.FATHER, Evidence.DNA, t, historical=h
    ),
    "apprehend": lambda c, t, h: c.family.apprehend(
        (c.father,), SAN_YSIDRO, Agency.BORDER_PATROL, t, historical=h
    ),
    "separate": lambda c, t, h: c.family.separate(
        c.mother, c.son, SAN_YSIDRO, SeparationReason.ZERO_TOLERANCE, None, False, t, historical=h
    ),
    "refer_child": lambda c, t, h: c.family.refer_child(c.son, OFFICE, 52, t, historical=h),
    "place_child": lambda c, t, h: c.family.place_child(
        c.son, CASA_PADRE, ProgramType.SHELTER, t, historical=h
    ),
    "transfer_child": lambda c, t, h: c.family.transfer_child(
        c.son, CAYUGA, ProgramType.TRANSITIONAL_FOSTER_CARE, t, historical=h
    ),
    "establish_contact": lambda c, t, h: c.family.establish_contact(
        c.mother, c.son, ContactChannel.PHONE, t, historical=h
    ),
    "determine_eligibility": lambda c, t, h: c.family.determine_eligibility(
        c.mother, c.son, EligibilityOutcome.INELIGIBLE, "criminal history", t, historical=h
    ),
    "reunify": lambda c, t, h: c.family.reunify(c.son, c.mother, None, t, historical=h),
    "discharge_child": lambda c, t, h: c.family.discharge_child(
        c.son, DischargeReason.SPONSOR, "released to an aunt", t, historical=h
    ),
    "detain_parent": lambda c, t, h: c.family.detain_parent(
        c.mother, PORT_ISABEL, CustodyKind.ICE, t, historical=h
    ),
    "transfer_parent": lambda c, t, h: c.family.transfer_parent(
        c.mother, PORT_ISABEL, CustodyKind.US_MARSHALS, t, historical=h
    ),
    "release_parent": lambda c, t, h: c.family.release_parent(
        c.mother, "Houston, TX", t, historical=h
    ),
    "order_removal": lambda c, t, h: c.family.order_removal(
        c.mother, RemovalKind.EXPEDITED, t, historical=h
    ),
    "sign_removal_election": lambda c, t, h: c.family.sign_removal_election(
        c.mother,
        RemovalElection.DEPART_WITHOUT_CHILD,
        "Spanish",
        False,
        "read aloud",
        t,
        historical=h,
    ),
    "remove_parent": lambda c, t, h: c.family.remove_parent(
        c.mother, Country("GT"), (), t, historical=h
    ),
    "return_parent": lambda c, t, h: c.family.return_parent(
        c.mother, ReturnRoute.PAROLE, t, historical=h
    ),
    "attempt_location": lambda c, t, h: c.family.attempt_location(
        c.mother, "phone", LocationOutcome.FOUND, "class counsel", t, historical=h
    ),
    "record_preference": lambda c, t, h: c.family.record_preference(
        c.mother, ReunificationPreference.REUNIFY_ABROAD, t, historical=h
    ),
    "decide_credible_fear": lambda c, t, h: c.family.decide_credible_fear(
        c.mother, CredibleFearOutcome.NEGATIVE, "Spanish", True, t, historical=h
    ),
    "elect_settlement": lambda c, t, h: c.family.elect_settlement(
        c.mother, SettlementElection.ELECT_REVIEW, t, historical=h
    ),
    "reinterview": lambda c, t, h: c.family.reinterview(
        c.mother, CredibleFearOutcome.POSITIVE, t, historical=h
    ),
    "reopen_asylum_case": lambda c, t, h: c.family.reopen_asylum_case(
        c.mother, "immigration court", t, historical=h
    ),
    "correct_entry": lambda c, t, h: c.family.correct_entry(
        2, (FieldChange("name", PersonName("Ana María")),), "full name", t, historical=h
    ),
    "retract_entry": lambda c, t, h: c.family.retract_entry(
        c.family.version, "flagged in error", t, historical=h
    ),
    "flag_data_quality": lambda c, t, h: c.family.flag_data_quality(
        "age_over_17", 3, "age recorded as 19", t, historical=h
    ),
    "close_case": lambda c, t, h: c.family.close_case("duplicate case", t, historical=h),
}
PREREQUISITES = {
    "transfer_child": ["place_child"],
    "transfer_parent": ["detain_parent"],
    "sign_removal_election": ["order_removal"],
    "return_parent": ["remove_parent"],
    "reinterview": ["decide_credible_fear"],
    "retract_entry": ["flag_data_quality"],
}
# These name no apprehended member, or are about the record itself.
UNORDERED = {
    "add_member",
    "apprehend",
    "correct_entry",
    "retract_entry",
    "flag_data_quality",
    "close_case",
}
ORDERED = sorted(set(STEPS) - UNORDERED)
LATER = at(20)


def ready(step: str, apprehended_at: datetime = T0) -> Cast:
    """A cast on which the step is valid, its prerequisites recorded at LATER."""
    c = cast(apprehended_at)
    for prerequisite in PREREQUISITES.get(step, []):
        STEPS[prerequisite](c, LATER, False)
    c.family.collect_events()
    return c


def refused(c: Cast, error: type[DomainError], step: str, when: datetime) -> None:
    assert_refused(c.family, error, lambda _: STEPS[step](c, when, False))


def test_every_public_command_has_a_step() -> None:
    commands = {
        name
        for mixin in (CaseCommands, ChildCommands, ParentCommands, AsylumCommands)
        for name, value in vars(mixin).items()
        if inspect.isfunction(value) and not name.startswith("_")
    }
    assert commands == set(STEPS)


@pytest.mark.parametrize("step", sorted(STEPS))
def test_each_step_is_accepted_after_its_prerequisites(step: str) -> None:
    c = ready(step)
    version = c.family.version
    STEPS[step](c, LATER, False)
    assert len(c.family.collect_events()) == 1
    assert c.family.version == version + 1
    # Only a direct flag leaves one; retracting the flag it follows removes it again.
    assert len(c.family.flags) == (step == "flag_data_quality")


@pytest.mark.parametrize("step", sorted(STEPS))
def test_nothing_is_recorded_on_a_closed_case_not_even_a_correction(step: str) -> None:
    c = ready(step)
    c.family.close_case("family reunified", LATER)
    refused(c, CaseAlreadyClosed, step, LATER)


@pytest.mark.parametrize("step", sorted(STEPS))
def test_a_moment_without_a_time_zone_is_refused(step: str) -> None:
    refused(ready(step), TimeWithoutZone, step, LATER.replace(tzinfo=None))


@pytest.mark.parametrize("step", sorted(STEPS))
def test_a_moment_in_the_future_is_refused_even_for_history(
    step: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rules, "now", lambda: at(30))
    refused(ready(step), InTheFuture, step, at(30) + timedelta(minutes=6))
    c = ready(step)
    with pytest.raises(InTheFuture):
        STEPS[step](c, at(30) + timedelta(minutes=6), True)


def test_a_clock_a_few_minutes_behind_the_callers_is_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rules, "now", lambda: at(30))
    c = ready("place_child")
    c.family.place_child(c.son, CASA_PADRE, ProgramType.SHELTER, at(30) + timedelta(minutes=4))
    assert c.family.children[c.son].facility == CASA_PADRE


@pytest.mark.parametrize("step", ORDERED)
def test_an_entry_before_the_apprehension_is_refused(step: str) -> None:
    refused(ready(step, apprehended_at=at(10)), BeforeApprehension, step, at(5))


@pytest.mark.parametrize("step", ORDERED)
def test_a_historical_entry_before_the_apprehension_is_kept_and_flagged(step: str) -> None:
    c = ready(step, apprehended_at=at(10))
    STEPS[step](c, at(5), True)
    recorded, flagged = c.family.collect_events()
    assert isinstance(flagged, Family.DataQualityFlagged)
    assert (flagged.rule, flagged.about_version, flagged.occurred_at) == (
        "before_apprehension",
        recorded.originator_version,
        at(5),
    )
    assert flagged.originator_version == recorded.originator_version + 1
    assert "before the apprehension" in flagged.detail
    assert c.family.flags == [
        DataQualityFlag("before_apprehension", recorded.originator_version, flagged.detail)
    ]


@pytest.mark.parametrize("step", sorted(UNORDERED))
def test_entries_about_the_record_itself_may_predate_the_apprehension(step: str) -> None:
    c = ready(step, apprehended_at=at(10))
    STEPS[step](c, at(5), False)
    assert len(c.family.collect_events()) == 1


def test_an_entry_at_the_moment_of_apprehension_is_in_order() -> None:
    c = ready("separate", apprehended_at=at(10))
    STEPS["separate"](c, at(10), False)
    assert c.family.flags == []


def test_only_an_apprehended_member_orders_what_follows() -> None:
    family, mother, son = opened_family()
    family.apprehend((mother,), SAN_YSIDRO, Agency.BORDER_PATROL, at(10))
    family.place_child(son, CASA_PADRE, ProgramType.SHELTER, at(5))
    assert family.flags == []


def test_the_first_apprehension_is_the_one_events_follow() -> None:
    c = cast(apprehended_at=at(10))
    c.family.apprehend((c.mother,), SAN_YSIDRO, Agency.ICE, at(100))
    c.family.apprehend((c.son,), SAN_YSIDRO, Agency.ICE, at(1))
    assert (c.family.apprehended_at[c.mother], c.family.apprehended_at[c.son]) == (at(10), at(1))


def test_an_apprehension_names_someone() -> None:
    c = cast()
    assert_refused(
        c.family,
        InvalidValue,
        lambda f: f.apprehend((), SAN_YSIDRO, Agency.BORDER_PATROL, LATER),
    )


def test_an_apprehension_names_each_person_once() -> None:
    c = cast()
    assert_refused(
        c.family,
        InvalidValue,
        lambda f: f.apprehend((c.son, c.son), SAN_YSIDRO, Agency.BORDER_PATROL, LATER),
    )


def test_an_apprehension_names_only_members() -> None:
    c = cast()
    assert_refused(
        c.family,
        UnknownMember,
        lambda f: f.apprehend((c.son, uuid4()), SAN_YSIDRO, Agency.BORDER_PATROL, LATER),
    )


def test_a_data_quality_flag_may_be_raised_directly_about_an_entry() -> None:
    c = cast()
    c.family.flag_data_quality("approved_before_referral", 3, "approved 2018-06-01", LATER)
    assert c.family.flags == [DataQualityFlag("approved_before_referral", 3, "approved 2018-06-01")]


def test_a_flag_about_an_entry_that_does_not_exist_is_refused() -> None:
    c = cast()
    assert_refused(
        c.family,
        UnknownEntry,
        lambda f: f.flag_data_quality("age_over_17", 99, "age 19", LATER),
    )


@pytest.mark.parametrize(("rule", "detail"), [("", "age 19"), ("age_over_17", "  ")])
def test_a_flag_names_its_rule_and_detail(rule: str, detail: str) -> None:
    c = cast()
    assert_refused(c.family, InvalidValue, lambda f: f.flag_data_quality(rule, 3, detail, LATER))


def test_a_case_is_closed_with_a_reason() -> None:
    c = cast()
    assert_refused(c.family, InvalidValue, lambda f: f.close_case(" ", LATER))


def test_opening_a_case_through_open_records_the_opening() -> None:
    family_id = uuid4()
    family = Family.open(family_id, T0, "C-1", "intake")
    (opened,) = family.collect_events()
    assert isinstance(opened, Family.CaseOpened)
    assert (opened.originator_id, opened.occurred_at, opened.case_number, opened.source) == (
        family_id,
        T0,
        "C-1",
        "intake",
    )


@pytest.mark.parametrize(
    ("occurred_at", "case_number", "source", "error"),
    [
        (T0.replace(tzinfo=None), "C-1", "intake", TimeWithoutZone),
        (datetime(2999, 1, 1, tzinfo=T0.tzinfo), "C-1", "intake", InTheFuture),
        (T0, " ", "intake", InvalidValue),
        (T0, "C-1", "", InvalidValue),
    ],
)
def test_open_refuses_a_case_it_cannot_place(
    occurred_at: datetime, case_number: str, source: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        Family.open(uuid4(), occurred_at, case_number, source)
