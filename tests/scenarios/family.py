"""A family's story built through the aggregate or the command path, and refusals checked."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID, uuid4

import pytest

from domain.errors import DomainError
from domain.family import Family, Member
from domain.values import (
    Agency,
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
from service.application.commands import CommandContext, FamilyCommands
from service.eventstore.provenance import Provenance
from service.eventstore.records import AppendResult

T0 = datetime(2018, 5, 20, 9, 0, tzinfo=UTC)
SAN_YSIDRO = Place(PlaceKind.PORT_OF_ENTRY, "San Ysidro")
CASA_PADRE = Facility("casa-padre", "Casa Padre", "TX")
CASEWORKER = Provenance(actor="maria.lopez", role="caseworker", source="test")


def at(days: float) -> datetime:
    """A moment some days after the family crossed."""
    return T0 + timedelta(days=days)


def ctx(key: str | None = None, expected: int | None = None) -> CommandContext:
    return CommandContext(CASEWORKER, idempotency_key=key, expected_version=expected)


def opened_family(family_id: UUID | None = None) -> tuple[Family, UUID, UUID]:
    """A case with a mother and her four-year-old son, linked, not yet separated."""
    family = Family(id=family_id or uuid4(), occurred_at=T0, case_number="C-1", source="test")
    mother, son = uuid4(), uuid4()
    family.add_member(Member(mother, MemberRole.PARENT, PersonName("Ana"), Sex.FEMALE), T0)
    family.add_member(Member(son, MemberRole.CHILD, PersonName("Beto"), Sex.MALE, age=4), T0)
    family.record_relationship(mother, son, RelationshipKind.MOTHER, Evidence.CLAIMED, T0)
    return family, mother, son


async def open_separated_family(commands: FamilyCommands) -> tuple[UUID, UUID, UUID, AppendResult]:
    """Record through the command path: a case, mother and son linked, separated, placed."""
    family_id, mother, son = uuid4(), uuid4(), uuid4()
    await commands.open_case(family_id, ctx(), occurred_at=T0, case_number="C-7", source="test")
    await commands.execute(
        family_id,
        lambda f: f.add_member(
            Member(mother, MemberRole.PARENT, PersonName("Ana"), Sex.FEMALE), T0
        ),
        ctx(),
    )
    await commands.execute(
        family_id,
        lambda f: f.add_member(
            Member(son, MemberRole.CHILD, PersonName("Beto"), Sex.MALE, age=4), T0
        ),
        ctx(),
    )
    await commands.execute(
        family_id,
        lambda f: f.record_relationship(mother, son, RelationshipKind.MOTHER, Evidence.CLAIMED, T0),
        ctx(),
    )
    await commands.execute(
        family_id,
        lambda f: f.separate(
            mother, son, SAN_YSIDRO, SeparationReason.ZERO_TOLERANCE, None, False, at(1)
        ),
        ctx(),
    )
    result = await commands.execute(
        family_id, lambda f: f.place_child(son, CASA_PADRE, ProgramType.SHELTER, at(3)), ctx()
    )
    return family_id, mother, son, result


Command = Callable[[Family], None]


def adult(person_id: UUID, role: MemberRole = MemberRole.PARENT) -> Member:
    return Member(person_id, role, PersonName("Carlos"), Sex.MALE)


def child(person_id: UUID) -> Member:
    return Member(person_id, MemberRole.CHILD, PersonName("Dani"), Sex.FEMALE, age=7)


def apprehended_family() -> tuple[Family, UUID, UUID]:
    """Ana and her son Beto, apprehended together at San Ysidro the day they crossed."""
    family, mother, son = opened_family()
    family.apprehend((mother, son), SAN_YSIDRO, Agency.OFFICE_OF_FIELD_OPERATIONS, T0)
    return family, mother, son


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
    state: dict[str, Any]


def trace(family: Family) -> Trace:
    state = {k: v for k, v in vars(family).items() if k != "_pending_events"}
    return Trace(family.version, list(family.pending_events), copy.deepcopy(state))


def assert_refused(family: Family, error: type[DomainError], command: Command) -> None:
    """The command raises exactly this domain error and records nothing."""
    before = trace(family)
    with pytest.raises(error) as caught:
        command(family)
    assert type(caught.value) is error
    assert trace(family) == before


def last_event(family: Family) -> object:
    return family.pending_events[-1]
