"""One family with a long history, for bench.replay: every event through the aggregate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from bench.common import DETENTION, FACILITIES
from domain.family import Family, Member
from domain.values import (
    Agency,
    ContactChannel,
    CustodyKind,
    Evidence,
    FieldChange,
    LocationOutcome,
    MemberRole,
    Office,
    PersonName,
    Place,
    PlaceKind,
    ProgramType,
    RelationshipKind,
    SeparationReason,
    Sex,
)
from service.eventstore.provenance import Provenance
from service.eventstore.records import RecordedEvent
from service.eventstore.store import EventStore

T0 = datetime(2018, 5, 1, 8, 0, tzinfo=UTC)
WHO = Provenance(actor="bench", role="caseworker", source="bench")


def long_history(events: int) -> Family:
    """A case with about `events` events, every one through the aggregate's checks."""
    moment = T0

    def later() -> datetime:
        nonlocal moment
        moment += timedelta(hours=1)
        return moment

    family = Family(id=uuid4(), occurred_at=T0, case_number="C-LONG", source="bench")
    parents, children = [uuid4(), uuid4()], [uuid4() for _ in range(4)]
    for i, person in enumerate(parents):
        family.add_member(Member(person, MemberRole.PARENT, PersonName(f"P{i}"), Sex.FEMALE), T0)
    for i, child in enumerate(children):
        name = PersonName(f"C{i}")
        family.add_member(Member(child, MemberRole.CHILD, name, Sex.MALE, age=3 + i), T0)
    family.apprehend((*parents, *children), Place(PlaceKind.SECTOR, "El Paso"), Agency.ICE, later())
    for i, child in enumerate(children):
        parent = parents[i % 2]
        family.record_relationship(parent, child, RelationshipKind.MOTHER, Evidence.DNA, later())
        family.separate(
            parent,
            child,
            Place(PlaceKind.SECTOR, "El Paso"),
            SeparationReason.ZERO_TOLERANCE,
            None,
            True,
            later(),
        )
        family.refer_child(child, Office("ero", "ICE ERO El Paso"), 30, later())
        family.place_child(child, FACILITIES[i], ProgramType.SHELTER, later())
    for parent in parents:
        family.detain_parent(parent, DETENTION[0], CustodyKind.ICE, later())
    step = 0
    while family.version < events:
        _one_more(family, parents, children, step, later())
        step += 1
    return family


def _one_more(
    family: Family, parents: list[UUID], children: list[UUID], step: int, when: datetime
) -> None:
    """The next everyday event; one in fifty corrects the transfer just recorded."""
    child, parent = children[step % 4], parents[step % 2]
    kind = step % 5
    if step % 50 == 46:  # step 45 (kind 0) was a child's transfer
        fix = (FieldChange("facility", FACILITIES[(step + 2) % len(FACILITIES)]),)
        family.correct_entry(family.version, fix, "facility as on the contract", when)
        return
    if kind in (0, 1):
        facility = FACILITIES[(step // 5 + kind) % len(FACILITIES)]
        family.transfer_child(child, facility, ProgramType.SHELTER, when)
    elif kind == 2:
        family.transfer_parent(parent, DETENTION[step % len(DETENTION)], CustodyKind.ICE, when)
    elif kind == 3:
        family.establish_contact(
            parents[children.index(child) % 2], child, ContactChannel.PHONE, when
        )
    else:
        family.attempt_location(parent, "phone", LocationOutcome.FOUND, "case manager", when)


async def record(store: EventStore, family: Family) -> list[RecordedEvent]:
    """Append the family in commands of 1-3 events; its rows as stored."""
    pending = await store.encode_all(family.collect_events())  # making keys when sealing
    version = 0
    while version < len(pending):
        size = 1 + version % 3
        await store.append(family.id, version, pending[version : version + size], WHO)
        version += len(pending[version : version + size])
    return await store.read_stream(family.id)
