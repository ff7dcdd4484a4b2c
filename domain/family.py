"""The Family aggregate: one stream per family case, in the caseworker's words."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import CaseClosed, InvariantViolated, NotLinked, UnknownMember
from domain.values import (
    ANumber,
    Country,
    Evidence,
    Facility,
    MemberRole,
    PersonName,
    Place,
    ProgramType,
    RelationshipKind,
    SeparationReason,
    Sex,
)


class ChildStatus(Enum):
    """Where a child's path stands."""

    WITH_FAMILY = "with_family"
    SEPARATED = "separated"
    IN_CARE = "in_care"
    REUNIFIED = "reunified"
    DISCHARGED = "discharged"


class CaseStatus(Enum):
    """Where the family case as a whole stands."""

    OPEN = "open"
    SEPARATED = "separated"
    REUNIFIED = "reunified"
    CLOSED = "closed"


@dataclass
class Member:
    """What the case knows about one person."""

    person_id: UUID
    role: MemberRole
    name: PersonName | None
    sex: Sex
    birth_date: date | None = None
    age: int | None = None
    country: Country | None = None
    a_number: ANumber | None = None


@dataclass
class ChildPath:
    """One child's path from separation to reunification or discharge."""

    status: ChildStatus = ChildStatus.WITH_FAMILY
    facility: Facility | None = None
    separated_from: set[UUID] = field(default_factory=set)
    reunified_with: UUID | None = None


class Family(Aggregate):
    """A family case: its members, their links, and each child's path."""

    class Event(Aggregate.Event):
        """Base of every family event: when it happened in the world."""

        occurred_at: datetime

    class CaseOpened(Aggregate.Created):
        """A case was opened for a family."""

        occurred_at: datetime
        case_number: str
        source: str

    class MemberAdded(Event):
        """A person was added to the case."""

        person_id: UUID
        role: MemberRole
        name: PersonName | None
        sex: Sex
        birth_date: date | None
        age: int | None
        country: Country | None
        a_number: ANumber | None

    class RelationshipRecorded(Event):
        """An adult was linked to a child."""

        parent_id: UUID
        child_id: UUID
        kind: RelationshipKind
        evidence: Evidence

    class Separated(Event):
        """A child was taken from a parent."""

        parent_id: UUID
        child_id: UUID
        place: Place
        reason: SeparationReason
        note: str | None
        parent_notified: bool

    class ChildPlaced(Event):
        """A child was placed with an ORR care provider."""

        child_id: UUID
        facility: Facility
        program_type: ProgramType

    class Reunified(Event):
        """A child was reunified with a parent."""

        child_id: UUID
        parent_id: UUID
        place: Place | None

    @event(CaseOpened)
    def __init__(self, id: UUID, occurred_at: datetime, case_number: str, source: str) -> None:
        self.case_number = case_number
        self.source = source
        self.opened_at = occurred_at
        self.closed = False
        self.members: dict[UUID, Member] = {}
        self.links: set[tuple[UUID, UUID]] = set()
        self.children: dict[UUID, ChildPath] = {}

    # Commands: check, then trigger exactly one event.

    def add_member(self, member: Member, occurred_at: datetime) -> None:
        """Add a parent, child or other adult to the case."""
        self.check_open()
        if member.person_id in self.members:
            raise InvariantViolated(f"person {member.person_id} is already a member of the case")
        self._member_added(
            occurred_at,
            member.person_id,
            member.role,
            member.name,
            member.sex,
            member.birth_date,
            member.age,
            member.country,
            member.a_number,
        )

    def record_relationship(
        self,
        parent_id: UUID,
        child_id: UUID,
        kind: RelationshipKind,
        evidence: Evidence,
        occurred_at: datetime,
    ) -> None:
        """Link an adult member to a child member."""
        self.check_open()
        self.check_role(parent_id, MemberRole.PARENT, MemberRole.OTHER_ADULT)
        self.check_role(child_id, MemberRole.CHILD)
        if (parent_id, child_id) in self.links:
            raise InvariantViolated("this relationship is already recorded")
        self._relationship_recorded(occurred_at, parent_id, child_id, kind, evidence)

    def separate(
        self,
        parent_id: UUID,
        child_id: UUID,
        place: Place,
        reason: SeparationReason,
        note: str | None,
        parent_notified: bool,
        occurred_at: datetime,
    ) -> None:
        """Record that a child was taken from a linked parent."""
        self.check_open()
        self.check_linked(parent_id, child_id)
        self.check_child_not_done(child_id)
        self._separated(occurred_at, parent_id, child_id, place, reason, note, parent_notified)

    def place_child(
        self,
        child_id: UUID,
        facility: Facility,
        program_type: ProgramType,
        occurred_at: datetime,
    ) -> None:
        """Record that a child was placed with a care provider."""
        self.check_open()
        self.check_role(child_id, MemberRole.CHILD)
        self.check_child_not_done(child_id)
        self._child_placed(occurred_at, child_id, facility, program_type)

    def reunify(
        self, child_id: UUID, parent_id: UUID, place: Place | None, occurred_at: datetime
    ) -> None:
        """Record that a child was reunified with a linked parent."""
        self.check_open()
        self.check_linked(parent_id, child_id)
        self.check_child_not_done(child_id)
        self._reunified(occurred_at, child_id, parent_id, place)

    # Invariants: each raises before any event is triggered.

    def check_open(self) -> None:
        if self.closed:
            raise CaseClosed(f"case {self.case_number} is closed")

    def check_role(self, person_id: UUID, *roles: MemberRole) -> None:
        member = self.members.get(person_id)
        if member is None:
            raise UnknownMember(f"person {person_id} is not a member of this case")
        if member.role not in roles:
            wanted = " or ".join(r.value for r in roles)
            raise InvariantViolated(f"person {person_id} is a {member.role.value}, not a {wanted}")

    def check_linked(self, parent_id: UUID, child_id: UUID) -> None:
        self.check_role(parent_id, MemberRole.PARENT, MemberRole.OTHER_ADULT)
        self.check_role(child_id, MemberRole.CHILD)
        if (parent_id, child_id) not in self.links:
            raise NotLinked(f"no relationship links parent {parent_id} to child {child_id}")

    def check_child_not_done(self, child_id: UUID) -> None:
        path = self.children[child_id]
        if path.status in (ChildStatus.REUNIFIED, ChildStatus.DISCHARGED):
            raise InvariantViolated(
                f"child {child_id} is already {path.status.value}; record a correction instead"
            )

    # Derived state.

    @property
    def status(self) -> CaseStatus:
        """The case's status, derived from its children's paths."""
        if self.closed:
            return CaseStatus.CLOSED
        paths = [p for p in self.children.values() if p.status is not ChildStatus.WITH_FAMILY]
        if not paths:
            return CaseStatus.OPEN
        if all(p.status in (ChildStatus.REUNIFIED, ChildStatus.DISCHARGED) for p in paths):
            return CaseStatus.REUNIFIED
        return CaseStatus.SEPARATED

    # Event appliers: run on trigger and on replay, so they never check.

    @event(MemberAdded)
    def _member_added(
        self,
        occurred_at: datetime,
        person_id: UUID,
        role: MemberRole,
        name: PersonName | None,
        sex: Sex,
        birth_date: date | None,
        age: int | None,
        country: Country | None,
        a_number: ANumber | None,
    ) -> None:
        self.members[person_id] = Member(
            person_id, role, name, sex, birth_date, age, country, a_number
        )
        if role is MemberRole.CHILD:
            self.children[person_id] = ChildPath()

    @event(RelationshipRecorded)
    def _relationship_recorded(
        self,
        occurred_at: datetime,
        parent_id: UUID,
        child_id: UUID,
        kind: RelationshipKind,
        evidence: Evidence,
    ) -> None:
        self.links.add((parent_id, child_id))

    @event(Separated)
    def _separated(
        self,
        occurred_at: datetime,
        parent_id: UUID,
        child_id: UUID,
        place: Place,
        reason: SeparationReason,
        note: str | None,
        parent_notified: bool,
    ) -> None:
        path = self.children[child_id]
        path.separated_from.add(parent_id)
        if path.status is ChildStatus.WITH_FAMILY:
            path.status = ChildStatus.SEPARATED

    @event(ChildPlaced)
    def _child_placed(
        self,
        occurred_at: datetime,
        child_id: UUID,
        facility: Facility,
        program_type: ProgramType,
    ) -> None:
        path = self.children[child_id]
        path.status = ChildStatus.IN_CARE
        path.facility = facility

    @event(Reunified)
    def _reunified(
        self, occurred_at: datetime, child_id: UUID, parent_id: UUID, place: Place | None
    ) -> None:
        path = self.children[child_id]
        path.status = ChildStatus.REUNIFIED
        path.reunified_with = parent_id
        path.facility = None
