"""Counsel of record: a lawyer's representation of a member, recorded and ended as entries."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain import events
from domain.errors import (
    AlreadyRecorded,
    CaseAlreadyClosed,
    InvalidAmendment,
    InvalidText,
    InvalidValue,
    NotRepresented,
    UnknownMember,
)
from domain.family import Family
from domain.values import FieldChange, RepresentationBasis
from tests.scenarios.family import assert_refused, at, last_event, separated_family

NOTICE = RepresentationBasis.NOTICE_OF_APPEARANCE


def test_a_representation_is_recorded_with_its_provenance_and_ended() -> None:
    family, mother, son = separated_family()
    family.record_representation("cy.counsel", mother, NOTICE, " EOIR-28 ", True, at(10))
    event = last_event(family)
    assert isinstance(event, Family.RepresentationRecorded)
    assert (event.counsel, event.person_id, event.basis) == ("cy.counsel", mother, NOTICE)
    assert (event.reference, event.consent_to_disclosure) == ("EOIR-28", True)
    assert set(family.representations) == {("cy.counsel", mother)}
    family.record_representation(
        "ana.attorney", son, RepresentationBasis.COURT_APPOINTMENT, None, False, at(11)
    )
    family.end_representation("cy.counsel", mother, "withdrew", at(20))
    ended = last_event(family)
    assert isinstance(ended, Family.RepresentationEnded)
    assert (ended.counsel, ended.person_id, ended.reason) == ("cy.counsel", mother, "withdrew")
    assert set(family.representations) == {("ana.attorney", son)}
    # Ended, it may be recorded anew (consent given this time, say).
    family.record_representation("cy.counsel", mother, NOTICE, None, True, at(30))
    assert ("cy.counsel", mother) in family.representations


def test_representation_entries_are_not_asylum_records_and_asylum_ones_are() -> None:
    assert not events.RepresentationRecorded.asylum_record
    assert not events.RepresentationEnded.asylum_record
    assert {
        name
        for name, cls in vars(events).items()
        if isinstance(cls, type) and issubclass(cls, events.Happened) and cls.asylum_record
    } == {"CredibleFearDecided", "SettlementElected", "Reinterviewed", "AsylumCaseReopened"}


def test_what_a_representation_may_not_be() -> None:
    family, mother, _ = separated_family()
    stranger = uuid4()
    assert_refused(
        family,
        UnknownMember,
        lambda f: f.record_representation("cy.counsel", stranger, NOTICE, None, True, at(10)),
    )
    assert_refused(
        family,
        InvalidValue,
        lambda f: f.record_representation("  ", mother, NOTICE, None, True, at(10)),
    )
    assert_refused(
        family,
        InvalidText,
        lambda f: f.record_representation("cy\ncounsel", mother, NOTICE, None, True, at(10)),
    )
    family.record_representation("cy.counsel", mother, NOTICE, None, False, at(10))
    assert_refused(
        family,
        AlreadyRecorded,
        lambda f: f.record_representation("cy.counsel", mother, NOTICE, None, True, at(11)),
    )


def test_only_a_standing_representation_ends_and_not_before_it_began() -> None:
    family, mother, son = separated_family()
    assert_refused(
        family, NotRepresented, lambda f: f.end_representation("cy.counsel", mother, "x", at(10))
    )
    family.record_representation("cy.counsel", mother, NOTICE, None, True, at(10))
    assert_refused(
        family, NotRepresented, lambda f: f.end_representation("cy.counsel", son, "x", at(12))
    )
    assert_refused(
        family, NotRepresented, lambda f: f.end_representation("other", mother, "x", at(12))
    )
    assert_refused(
        family, InvalidValue, lambda f: f.end_representation("cy.counsel", mother, "x", at(9))
    )
    assert_refused(
        family, InvalidValue, lambda f: f.end_representation("cy.counsel", mother, " ", at(12))
    )
    family.end_representation("cy.counsel", mother, "case concluded", at(12))
    assert_refused(
        family,
        NotRepresented,
        lambda f: f.end_representation("cy.counsel", mother, "again", at(13)),
    )


def test_nothing_is_recorded_on_a_closed_case() -> None:
    family, mother, _ = separated_family()
    family.record_representation("cy.counsel", mother, NOTICE, None, True, at(10))
    family.close_case("done", at(50))
    assert_refused(
        family,
        CaseAlreadyClosed,
        lambda f: f.end_representation("cy.counsel", mother, "closed", at(51)),
    )


def test_consent_may_be_corrected_but_not_the_counsel() -> None:
    family, mother, _ = separated_family()
    family.record_representation("cy.counsel", mother, NOTICE, None, True, at(10))
    recorded = family.version
    family.correct_entry(
        recorded, (FieldChange("consent_to_disclosure", False),), "no signed consent", at(11)
    )
    assert not family.representations[("cy.counsel", mother)].consent_to_disclosure
    assert_refused(
        family,
        InvalidAmendment,
        lambda f: f.correct_entry(
            recorded, (FieldChange("counsel", "someone.else"),), "wrong lawyer", at(12)
        ),
    )


def test_a_retracted_representation_no_longer_stands() -> None:
    family, mother, _ = separated_family()
    family.record_representation("cy.counsel", mother, NOTICE, None, True, at(10))
    family.retract_entry(family.version, "recorded on the wrong case", at(11))
    assert family.representations == {}


@pytest.mark.parametrize("basis", list(RepresentationBasis))
def test_every_basis_is_recorded(basis: RepresentationBasis) -> None:
    family, mother, _ = separated_family()
    family.record_representation("cy.counsel", mother, basis, None, True, at(10))
    event = last_event(family)
    assert isinstance(event, Family.RepresentationRecorded) and event.basis is basis
