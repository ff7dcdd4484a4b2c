"""A person's protection claim: credible fear, the settlement's review, reopening."""

from __future__ import annotations

from uuid import uuid4

from domain.errors import AlreadyRecorded, InvalidValue, NoNegativeFearDecision, UnknownMember
from domain.family import CONFIDENTIAL_EVENTS, Family
from domain.values import CredibleFearOutcome, SettlementElection
from tests.scenarios.family import (
    assert_refused,
    at,
    last_event,
    reunified_family,
    separated_family,
)

NEGATIVE, POSITIVE = CredibleFearOutcome.NEGATIVE, CredibleFearOutcome.POSITIVE


def test_a_credible_fear_decision_records_the_outcome_and_whether_made_while_separated() -> None:
    family, mother, _ = separated_family()
    family.decide_credible_fear(mother, NEGATIVE, "Q'anjob'al", True, at(10))
    path = family.asylum[mother]
    assert (path.credible_fear, path.fear_while_separated) == (NEGATIVE, True)
    event = last_event(family)
    assert isinstance(event, Family.CredibleFearDecided)
    assert event.language == "Q'anjob'al"


def test_credible_fear_decisions_and_reinterviews_are_the_confidential_events() -> None:
    assert sorted(CONFIDENTIAL_EVENTS) == ["CredibleFearDecided", "Reinterviewed"]
    assert Family.confidential_event_types() == CONFIDENTIAL_EVENTS
    assert Family.CredibleFearDecided.confidential and Family.Reinterviewed.confidential
    assert not Family.Separated.confidential and not Family.DataQualityFlagged.confidential


def test_a_settlement_election_re_interview_and_reopening_are_recorded() -> None:
    family, mother, _ = separated_family()
    family.decide_credible_fear(mother, NEGATIVE, "Spanish", True, at(10))
    family.elect_settlement(mother, SettlementElection.ELECT_REVIEW, at(120))
    family.reinterview(mother, POSITIVE, at(150))
    family.reopen_asylum_case(mother, "immigration court, San Diego", at(160))
    path = family.asylum[mother]
    assert (path.settlement, path.reinterview, path.reopened_in) == (
        SettlementElection.ELECT_REVIEW,
        POSITIVE,
        "immigration court, San Diego",
    )


def test_a_negative_re_interview_may_be_revisited_again() -> None:
    family, mother, _ = separated_family()
    family.decide_credible_fear(mother, NEGATIVE, "Spanish", True, at(10))
    family.reinterview(mother, NEGATIVE, at(150))
    family.reinterview(mother, POSITIVE, at(200))
    assert family.asylum[mother].reinterview is POSITIVE


def test_a_child_has_a_claim_of_their_own_even_after_reunification() -> None:
    # Under the settlement children were re-interviewed after they were back with a parent.
    family, _, son = reunified_family()
    family.decide_credible_fear(son, NEGATIVE, "Spanish", True, at(41))
    family.reinterview(son, POSITIVE, at(90))
    assert family.asylum[son].reinterview is POSITIVE


# Invariants.


def test_a_re_interview_needs_a_negative_decision() -> None:
    family, mother, _ = separated_family()
    assert_refused(
        family, NoNegativeFearDecision, lambda f: f.reinterview(mother, POSITIVE, at(150))
    )
    family.decide_credible_fear(mother, POSITIVE, "Spanish", True, at(10))
    assert_refused(
        family, NoNegativeFearDecision, lambda f: f.reinterview(mother, POSITIVE, at(150))
    )


def test_a_credible_fear_decision_is_recorded_once() -> None:
    family, mother, _ = separated_family()
    family.decide_credible_fear(mother, NEGATIVE, "Spanish", True, at(10))
    assert_refused(
        family,
        AlreadyRecorded,
        lambda f: f.decide_credible_fear(mother, POSITIVE, "Spanish", True, at(11)),
    )


def test_a_decision_about_a_stranger_is_refused() -> None:
    family, _, _ = separated_family()
    assert_refused(
        family,
        UnknownMember,
        lambda f: f.decide_credible_fear(uuid4(), NEGATIVE, "Spanish", True, at(10)),
    )
    assert_refused(
        family,
        UnknownMember,
        lambda f: f.elect_settlement(uuid4(), SettlementElection.DECLINE_REVIEW, at(10)),
    )


def test_the_interview_language_and_the_proceeding_are_named() -> None:
    family, mother, _ = separated_family()
    assert_refused(
        family,
        InvalidValue,
        lambda f: f.decide_credible_fear(mother, NEGATIVE, " ", True, at(10)),
    )
    assert_refused(family, InvalidValue, lambda f: f.reopen_asylum_case(mother, "", at(10)))
