"""Scenario builders in the domain's words, shared by the tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from domain.family import Family, Member
from domain.values import (
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
