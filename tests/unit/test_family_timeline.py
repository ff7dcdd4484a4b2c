"""The seed's story through the aggregate, and the timeline line each of its steps gets."""

from __future__ import annotations

from uuid import UUID

from domain.corrections import effective_history
from domain.events import Happened
from domain.family import CONFIDENTIAL_EVENTS, CaseStatus, Family
from domain.values import (
    Agency,
    ContactChannel,
    Country,
    CredibleFearOutcome,
    CustodyKind,
    Facility,
    FieldChange,
    LocationOutcome,
    Office,
    ProgramType,
    RemovalElection,
    RemovalKind,
    ReturnRoute,
    ReunificationPreference,
    SeparationReason,
    SettlementElection,
)
from projections.summaries import SUMMARIES, summarize
from tests.scenarios.events import family_event_classes, story
from tests.scenarios.family import CASA_PADRE, SAN_YSIDRO, T0, at, opened_family

CAYUGA_MISSPELT = Facility("cayuga", "Cayuga Centres", "NY")
CAYUGA = Facility("cayuga", "Cayuga Centers", "NY")


def seed_story() -> tuple[Family, UUID, UUID, int]:
    """Ana and Beto, four, cross together, are separated, and find each other a year later."""
    family, mother, son = opened_family()
    family.apprehend((mother, son), SAN_YSIDRO, Agency.OFFICE_OF_FIELD_OPERATIONS, T0)
    family.separate(mother, son, SAN_YSIDRO, SeparationReason.ZERO_TOLERANCE, None, False, at(1))
    family.refer_child(son, Office("ero-sd", "ERO San Diego"), 52, at(2))
    family.place_child(son, CASA_PADRE, ProgramType.SHELTER, at(3))
    family.transfer_child(son, CAYUGA_MISSPELT, ProgramType.TRANSITIONAL_FOSTER_CARE, at(20))
    transferred = family.version
    family.detain_parent(mother, Facility("port-isabel", "Port Isabel"), CustodyKind.ICE, at(2))
    family.decide_credible_fear(mother, CredibleFearOutcome.NEGATIVE, "Spanish", True, at(10))
    family.order_removal(mother, RemovalKind.EXPEDITED, at(11))
    family.sign_removal_election(
        mother, RemovalElection.DEPART_WITHOUT_CHILD, "Spanish", False, "read aloud", at(12)
    )
    family.remove_parent(mother, Country("GT"), (), at(14))
    for outcome in (LocationOutcome.NOT_FOUND, LocationOutcome.UNREACHABLE, LocationOutcome.FOUND):
        family.attempt_location(mother, "phone", outcome, "class counsel", at(60))
    family.record_preference(mother, ReunificationPreference.REUNIFY_ABROAD, at(81))
    family.elect_settlement(mother, SettlementElection.ELECT_REVIEW, at(120))
    family.reinterview(mother, CredibleFearOutcome.POSITIVE, at(150))
    family.reopen_asylum_case(mother, "immigration court, San Diego", at(160))
    family.return_parent(mother, ReturnRoute.PAROLE, at(300))
    family.establish_contact(mother, son, ContactChannel.IN_PERSON, at(300))
    family.reunify(son, mother, SAN_YSIDRO, at(301))
    family.correct_entry(
        transferred, (FieldChange("facility", CAYUGA),), "name as on the contract", at(302)
    )
    return family, mother, son, transferred


def lines(family: Family, labels: dict[UUID, str]) -> list[str]:
    return [summarize(e, labels) for e in family.collect_events()]


def test_the_seed_story_ends_with_mother_and_son_reunified_and_the_original_kept() -> None:
    family, mother, _, transferred = seed_story()
    assert family.status is CaseStatus.REUNIFIED
    parent = family.parents[mother]
    assert (parent.removed_to, parent.returned, parent.abroad) == (
        Country("GT"),
        ReturnRoute.PAROLE,
        False,
    )
    assert family.asylum[mother].reinterview is CredibleFearOutcome.POSITIVE
    original = family.history[transferred - 1]
    assert isinstance(original, Family.ChildTransferred)
    assert original.facility == CAYUGA_MISSPELT
    assert family.amended_versions == {transferred: [family.version]}


def test_every_step_of_the_seed_story_has_its_own_line() -> None:
    family, mother, son, transferred = seed_story()
    timeline = lines(family, {mother: "Ana (parent)", son: "Beto (child)"})
    assert len(set(timeline)) >= len(timeline) - 2  # three location attempts, two alike
    assert "Ana (parent), Beto (child) apprehended at San Ysidro" in timeline[4]
    assert "Beto (child) referred to ORR by ERO San Diego after 52 hours" in timeline[6]
    assert "Ana (parent) detained at Port Isabel (ICE)" in timeline
    assert "Ana (parent) removed to GT without a child" in timeline
    assert timeline[-1] == (
        f"Entry {transferred} corrected (facility -> Cayuga Centers); "
        "reason: name as on the contract"
    )


def test_every_event_type_has_a_summary() -> None:
    assert set(SUMMARIES) == {cls.__name__ for cls in family_event_classes()}
    for event in story():
        line = summarize(event, {})
        assert line and line != type(event).__name__


def test_a_confidential_event_says_only_that_it_was_recorded() -> None:
    confidential = [e for e in story() if type(e).__name__ in CONFIDENTIAL_EVENTS]
    assert {type(e).__name__ for e in confidential} == CONFIDENTIAL_EVENTS
    for event in confidential:
        line = summarize(event, {})
        assert line.endswith("recorded (confidential)")
        assert "negative" not in line.lower() and "positive" not in line.lower()
        assert "Q'anjob'al" not in line


def test_a_correction_to_a_confidential_field_withholds_the_new_value() -> None:
    family, mother, _ = opened_family()
    family.decide_credible_fear(mother, CredibleFearOutcome.NEGATIVE, "Mam", True, at(10))
    family.correct_entry(
        family.version,
        (FieldChange("outcome", CredibleFearOutcome.POSITIVE), FieldChange("language", "K'iche'")),
        "transcription error",
        at(11),
    )
    line = lines(family, {})[-1]
    assert line == (
        "Entry 5 corrected (outcome (value withheld); language (value withheld)); "
        "reason: transcription error"
    )


def test_a_retraction_says_which_entry_and_why() -> None:
    family, mother, son = opened_family()
    family.separate(mother, son, SAN_YSIDRO, SeparationReason.OTHER, None, False, at(1))
    family.retract_entry(5, "entered on the wrong case", at(2))
    assert lines(family, {})[-1] == "Entry 5 retracted; reason: entered on the wrong case"


def test_a_separation_line_quotes_the_sources_wording() -> None:
    family, mother, son = opened_family()
    family.separate(
        mother,
        son,
        SAN_YSIDRO,
        SeparationReason.CRIMINAL_HISTORY,
        None,
        False,
        at(1),
        reason_text="Parent criminal hx",
    )
    line = lines(family, {son: "Beto (child)", mother: "Ana (parent)"})[-1]
    assert line.endswith('reason: criminal history (source: "Parent criminal hx")')


def test_the_effective_history_is_what_a_projection_folds() -> None:
    family, _, _, transferred = seed_story()
    effective: list[Happened] = effective_history(family.history)
    assert len(effective) == family.version - 1
    (moved,) = [e for e in effective if e.originator_version == transferred]
    assert isinstance(moved, Family.ChildTransferred)
    assert moved.facility == CAYUGA
