"""Imported history may say a child left care but not when: the moment stays unknown."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

import pytest

from domain.corrections import effective_history
from domain.errors import InvalidValue
from domain.family import ChildStatus, Family
from domain.values import DischargeReason, FieldChange, ProgramType, SeparationReason
from tests.scenarios.family import CASA_PADRE, SAN_YSIDRO, apprehended_family, assert_refused, at

Leave = Callable[[Family, UUID, UUID, datetime | None, bool], None]

LEAVING_CARE: dict[str, Leave] = {
    "reunify": lambda f, mother, son, when, h: f.reunify(son, mother, None, when, historical=h),
    "discharge_child": lambda f, mother, son, when, h: f.discharge_child(
        son, DischargeReason.OTHER, "other appropriate circumstances", when, historical=h
    ),
}
LEFT = {"reunify": ChildStatus.REUNIFIED, "discharge_child": ChildStatus.DISCHARGED}


def in_care() -> tuple[Family, UUID, UUID]:
    """Beto separated from Ana the day after they were apprehended, then placed."""
    family, mother, son = apprehended_family()
    family.separate(mother, son, SAN_YSIDRO, SeparationReason.ZERO_TOLERANCE, None, False, at(1))
    family.place_child(son, CASA_PADRE, ProgramType.UNKNOWN, at(3), historical=True)
    family.collect_events()
    return family, mother, son


@pytest.mark.parametrize("command", sorted(LEAVING_CARE))
def test_history_that_gives_no_day_records_the_moment_as_unknown(command: str) -> None:
    family, mother, son = in_care()
    LEAVING_CARE[command](family, mother, son, None, True)
    (left,) = family.collect_events()
    assert isinstance(left, Family.Reunified | Family.ChildDischarged)
    assert left.occurred_at is None
    assert family.children[son].status is LEFT[command]
    assert family.flags == []  # an unknown moment is before or after nothing


@pytest.mark.parametrize("command", sorted(LEAVING_CARE))
def test_a_caseworker_always_says_when(command: str) -> None:
    family, mother, son = in_care()
    assert_refused(
        family, InvalidValue, lambda f: LEAVING_CARE[command](f, mother, son, None, False)
    )


def test_an_undated_reunification_may_be_dated_later_by_a_correction() -> None:
    family, mother, son = in_care()
    family.reunify(son, mother, None, None, historical=True)
    version = family.version
    family.correct_entry(version, (FieldChange("occurred_at", at(40)),), "day found", at(50))
    effective = {e.originator_version: e for e in effective_history(family.history)}
    assert family.history[version - 1].occurred_at is None  # the original stays as recorded
    assert effective[version].occurred_at == at(40)
    assert family.children[son].status is ChildStatus.REUNIFIED
