"""Recorded events: a story that tells every event, the carrier of every enum value, and a
family's events as the store hands them back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from functools import cache
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, DomainEventProtocol

from domain.family import Family, Member
from domain.values import (
    Agency,
    ANumber,
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
    MemberRole,
    Office,
    PersonName,
    Place,
    PlaceKind,
    ProgramType,
    RelationshipKind,
    RemovalElection,
    RemovalKind,
    RepresentationBasis,
    ReturnRoute,
    ReunificationPreference,
    SeparationReason,
    SettlementElection,
    Sex,
)
from projections.projection import Envelope
from service.eventstore.codec import create_mapper
from service.eventstore.records import RecordedEvent
from tests.scenarios.family import CASA_PADRE, CASEWORKER, SAN_YSIDRO, T0, at, opened_family

Event = DomainEventProtocol[UUID]

CLINT = Place(PlaceKind.STATION, "Clint")
ERO_SAN_DIEGO = Office("ero-sd", "ERO San Diego")
CAYUGA = Facility("cayuga", "Cayuga Centers")
HARLINGEN = Facility("bcfs-harlingen", "BCFS Harlingen", "TX")
PORT_ISABEL = Facility("port-isabel", "Port Isabel Detention Center", "TX")
OTERO = Facility("otero", "Otero County Processing Center", "NM")


# The library defines these on every aggregate; Family records neither.
SCAFFOLDING: frozenset[type[Any]] = frozenset({Family.Event, Family.Created})


def family_event_classes() -> list[type[Any]]:
    """Every event class declared on Family, found by looking, so new ones are covered."""
    found = [
        cls
        for cls in vars(Family).values()
        if isinstance(cls, type) and issubclass(cls, Aggregate.Event) and cls not in SCAFFOLDING
    ]
    return sorted(found, key=lambda cls: cls.__name__)


@cache
def story() -> tuple[Event, ...]:
    """A case told through the aggregate, each optional field both given and left empty."""
    family, mother, son = opened_family()
    father, daughter, sibling, cousin = uuid4(), uuid4(), uuid4(), uuid4()
    family.add_member(Member(father, MemberRole.PARENT, None, Sex.UNKNOWN), T0)
    family.add_member(
        Member(
            daughter,
            MemberRole.CHILD,
            PersonName("Eva"),
            Sex.FEMALE,
            date(2010, 3, 4),
            8,
            Country("HN"),
            ANumber("A123456789"),
        ),
        T0,
    )
    eva_added = family.version
    family.add_member(Member(sibling, MemberRole.CHILD, None, Sex.MALE, age=17), T0)
    sibling_added = family.version
    family.add_member(Member(cousin, MemberRole.CHILD, None, Sex.FEMALE), T0)
    family.record_relationship(father, daughter, RelationshipKind.FATHER, Evidence.DNA, T0)
    family.apprehend((mother, son), SAN_YSIDRO, Agency.OFFICE_OF_FIELD_OPERATIONS, T0)
    family.apprehend((father, daughter, sibling), CLINT, Agency.BORDER_PATROL, T0)
    family.separate(mother, son, SAN_YSIDRO, SeparationReason.ZERO_TOLERANCE, None, False, at(1))
    separated = family.version
    family.separate(
        father,
        daughter,
        CLINT,
        SeparationReason.OTHER,
        "father hospitalised",
        True,
        at(1),
        reason_text="Parent hospitalized",
    )
    family.refer_child(son, ERO_SAN_DIEGO, 52, at(2))
    family.refer_child(daughter, ERO_SAN_DIEGO, None, at(2))
    family.place_child(son, CASA_PADRE, ProgramType.SHELTER, at(3))
    family.place_child(daughter, CAYUGA, ProgramType.INFLUX, at(3))
    family.place_child(sibling, CAYUGA, ProgramType.SHELTER, at(3))
    family.transfer_child(son, HARLINGEN, ProgramType.STAFF_SECURE, at(20))
    family.detain_parent(mother, PORT_ISABEL, CustodyKind.US_MARSHALS, at(2))
    family.transfer_parent(mother, OTERO, CustodyKind.ICE, at(5))
    family.release_parent(father, "Houston, TX", at(6))
    family.establish_contact(mother, son, ContactChannel.PHONE, at(7))
    family.decide_credible_fear(mother, CredibleFearOutcome.NEGATIVE, "Q'anjob'al", True, at(10))
    family.order_removal(mother, RemovalKind.EXPEDITED, at(11))
    family.sign_removal_election(
        mother, RemovalElection.DEPART_WITHOUT_CHILD, "Spanish", False, "read aloud", at(12)
    )
    family.remove_parent(mother, Country("GT"), (), at(14))
    family.attempt_location(mother, "phone", LocationOutcome.NOT_FOUND, "class counsel", at(60))
    family.record_preference(mother, ReunificationPreference.REUNIFY_ABROAD, at(81))
    family.determine_eligibility(father, daughter, EligibilityOutcome.INELIGIBLE, "record", at(9))
    family.determine_eligibility(mother, son, EligibilityOutcome.ELIGIBLE, None, at(90))
    family.elect_settlement(mother, SettlementElection.ELECT_REVIEW, at(120))
    family.reinterview(mother, CredibleFearOutcome.POSITIVE, at(150))
    family.reopen_asylum_case(mother, "immigration court, San Diego", at(160))
    family.return_parent(mother, ReturnRoute.PAROLE, at(300))
    family.reunify(son, mother, SAN_YSIDRO, at(301))
    # Imported history may say a child left care but not when: the moment stays unknown.
    family.reunify(daughter, father, None, None, historical=True)
    family.discharge_child(sibling, DischargeReason.AGED_OUT, None, at(30))
    family.discharge_child(
        cousin, DischargeReason.SPONSOR, "to an aunt in Houston", None, historical=True
    )
    family.remove_parent(mother, Country("GT"), (son,), at(400))
    family.flag_data_quality("age_over_17", sibling_added, "age 17 at intake", at(401))
    family.retract_entry(family.version, "the age was right", at(402))
    family.correct_entry(
        eva_added,
        (FieldChange("birth_date", date(2010, 3, 5)), FieldChange("age", None)),
        "birth certificate",
        at(402),
    )
    family.correct_entry(
        separated,
        (
            FieldChange("reason", SeparationReason.HEALTH),
            FieldChange("place", Place(PlaceKind.PORT_OF_ENTRY, "San Ysidro")),
            FieldChange("occurred_at", at(1.5)),
            FieldChange("parent_notified", True),
        ),
        "per the CBP record",
        at(403),
    )
    family.record_representation(
        "cy.counsel", mother, RepresentationBasis.NOTICE_OF_APPEARANCE, "EOIR-28", True, at(100)
    )
    family.record_representation(
        "ana.attorney", son, RepresentationBasis.COURT_APPOINTMENT, None, False, at(100)
    )
    family.end_representation("cy.counsel", mother, "substituted by new counsel", at(403))
    family.close_case("reunified; nothing further", at(404))
    family.erase_personal_data(cousin, "Order of the court, No. 18-428", "judge.sabraw", at(405))
    family.erase_personal_data(daughter, "Retention schedule GRS 5.2", "records.officer", at(406))
    return tuple(family.collect_events())


# Typed payloads are written today; tagged ones were written before and must still read.
WRITERS = {"typed": create_mapper(), "tagged": create_mapper(typed=False)}


def samples_of(cls: type[Any]) -> list[Event]:
    return [e for e in story() if type(e) is cls]


# Every value of every enumeration an event carries.

Carrier = Callable[[Family, UUID, UUID, Any], None]

CARRIERS: dict[type[Enum], Carrier] = {
    MemberRole: lambda f, _, __, role: f.add_member(Member(uuid4(), role, None, Sex.MALE), at(1)),
    Sex: lambda f, _, __, sex: f.add_member(Member(uuid4(), MemberRole.CHILD, None, sex), at(1)),
    RelationshipKind: lambda f, _, son, kind: linked_adult(f, son, kind, Evidence.CLAIMED),
    Evidence: lambda f, _, son, evidence: linked_adult(f, son, RelationshipKind.UNKNOWN, evidence),
    SeparationReason: lambda f, mother, son, reason: f.separate(
        mother, son, SAN_YSIDRO, reason, None, False, at(1)
    ),
    PlaceKind: lambda f, mother, son, kind: f.reunify(son, mother, Place(kind, "Here"), at(1)),
    ProgramType: lambda f, _, son, program: f.place_child(son, CASA_PADRE, program, at(1)),
    Agency: lambda f, mother, _, agency: f.apprehend((mother,), SAN_YSIDRO, agency, at(1)),
    CustodyKind: lambda f, mother, _, kind: f.detain_parent(mother, OTERO, kind, at(1)),
    ContactChannel: lambda f, mother, son, channel: f.establish_contact(
        mother, son, channel, at(1)
    ),
    CredibleFearOutcome: lambda f, mother, _, outcome: f.decide_credible_fear(
        mother, outcome, "Spanish", False, at(1)
    ),
    RemovalKind: lambda f, mother, _, kind: f.order_removal(mother, kind, at(1)),
    RemovalElection: lambda f, mother, _, election: after(
        f,
        lambda: f.order_removal(mother, RemovalKind.EXPEDITED, at(1)),
        lambda: f.sign_removal_election(mother, election, "Spanish", True, "read", at(1)),
    ),
    LocationOutcome: lambda f, mother, _, outcome: f.attempt_location(
        mother, "phone", outcome, "counsel", at(1)
    ),
    ReunificationPreference: lambda f, mother, _, wish: f.record_preference(mother, wish, at(1)),
    EligibilityOutcome: lambda f, mother, son, outcome: f.determine_eligibility(
        mother, son, outcome, None, at(1)
    ),
    SettlementElection: lambda f, mother, _, election: f.elect_settlement(mother, election, at(1)),
    ReturnRoute: lambda f, mother, _, how: after(
        f,
        lambda: f.remove_parent(mother, Country("GT"), (), at(1)),
        lambda: f.return_parent(mother, how, at(2)),
    ),
    DischargeReason: lambda f, _, son, reason: f.discharge_child(son, reason, None, at(1)),
    RepresentationBasis: lambda f, mother, _, basis: f.record_representation(
        "cy.counsel", mother, basis, None, True, at(1)
    ),
}


def after(family: Family, first: Callable[[], None], then: Callable[[], None]) -> None:
    """Record what must come first, out of sight, then the step that carries the value."""
    first()
    family.collect_events()
    then()


def linked_adult(family: Family, child: UUID, kind: RelationshipKind, evidence: Evidence) -> None:
    adult = uuid4()
    family.add_member(Member(adult, MemberRole.OTHER_ADULT, None, Sex.UNKNOWN), at(1))
    family.collect_events()
    family.record_relationship(adult, child, kind, evidence, at(1))


def carrying(value: Enum) -> Event:
    """The event the aggregate records when a command is given this enum value."""
    family, mother, son = opened_family()
    family.collect_events()
    CARRIERS[type(value)](family, mother, son, value)
    (event,) = family.collect_events()
    return event


ENUM_VALUES = [value for enum in CARRIERS for value in enum]


# A family's events as the store hands them back.

RECORDED = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def stream(family: Family) -> list[Envelope]:
    """The family's events as the store hands them back, version n recorded n minutes in."""
    return [
        Envelope(
            RecordedEvent(
                position=e.originator_version,
                transaction_id=e.originator_version,
                stream_id=family.id,
                version=e.originator_version,
                topic=type(e).__name__,
                payload=b"",
                occurred_at=e.occurred_at,
                recorded_at=recorded(e.originator_version),
                **vars(CASEWORKER),
                idempotency_key=None,
                prev_hash=None,
                hash=b"",
            ),
            e,
        )
        for e in family.history
    ]


def recorded(version: int) -> datetime:
    return RECORDED + timedelta(minutes=version)
