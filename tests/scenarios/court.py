"""Families recorded through the command path on given dates, for the court's questions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID, uuid4

from domain.family import Family, Member
from domain.values import (
    Evidence,
    Facility,
    MemberRole,
    PersonName,
    ProgramType,
    RelationshipKind,
    SeparationReason,
    Sex,
)
from service.application.container import Container
from tests.scenarios.family import CASA_PADRE, SAN_YSIDRO, ctx

ICE_PORT_ISABEL = Facility("port-isabel", "Port Isabel", "TX")
MARSHALS = Facility("usms-sd", "US Marshals San Diego", "CA")
CAYUGA = Facility("cayuga", "Cayuga Centers", "NY")


def on(month: int, day: int) -> datetime:
    return datetime(2018, month, day, 12, tzinfo=UTC)


@dataclass
class Case:
    """A family recorded through the command path, step by step."""

    container: Container
    family_id: UUID
    parent: UUID
    child: UUID

    async def then(self, decide: Callable[[Family], None]) -> None:
        await self.container.commands.execute(self.family_id, decide, ctx())


async def separated(
    container: Container,
    age: int,
    when: datetime,
    facility: Facility = CASA_PADRE,
    reason: SeparationReason = SeparationReason.ZERO_TOLERANCE,
) -> Case:
    """A parent and child linked, separated on `when` for `reason`, placed three days later."""
    case = Case(container, uuid4(), uuid4(), uuid4())
    await container.commands.open_case(
        case.family_id, ctx(), occurred_at=when, case_number=f"C-{age}-{when:%m%d}", source="test"
    )
    await case.then(
        lambda f: f.add_member(
            Member(case.parent, MemberRole.PARENT, PersonName("Parent"), Sex.FEMALE), when
        )
    )
    await case.then(
        lambda f: f.add_member(
            Member(case.child, MemberRole.CHILD, PersonName("Child"), Sex.MALE, age=age), when
        )
    )
    await case.then(
        lambda f: f.record_relationship(
            case.parent, case.child, RelationshipKind.MOTHER, Evidence.CLAIMED, when
        )
    )
    await case.then(
        lambda f: f.separate(case.parent, case.child, SAN_YSIDRO, reason, None, False, when)
    )
    placed = when.replace(day=when.day + 3)
    await case.then(lambda f: f.place_child(case.child, facility, ProgramType.SHELTER, placed))
    return case
