"""Any valid family history, drawn by hypothesis from the whole catalogue of commands."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from enum import Enum
from types import NoneType, UnionType
from typing import Any, get_args
from uuid import UUID, uuid4

from hypothesis import settings
from hypothesis import strategies as st

from domain.corrections import field_types
from domain.errors import DomainError
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
from tests.scenarios.family import T0, Command, at

DNA = Evidence.DNA
# No example database: unit tests touch no files.
PROPERTY = settings(max_examples=200, deadline=None, database=None)

old = st.booleans()  # historical: recorded even if out of order, and flagged
times = st.integers(min_value=0, max_value=365 * 24).map(lambda hours: at(hours / 24))
texts = st.sampled_from(["", " ", "Spanish", "K'iche'", "phone", "Houston, TX", "ñandú"])
places = st.builds(Place, st.sampled_from(PlaceKind), st.sampled_from(["San Ysidro", "El Paso"]))
facilities = st.builds(
    Facility,
    st.sampled_from(["casa-padre", "cayuga"]),
    st.just("Care provider"),
    st.none() | st.sampled_from(["TX", "NY"]),
)
programs = st.sampled_from(ProgramType)
custodies = st.sampled_from(CustodyKind)
fear_outcomes = st.sampled_from(CredibleFearOutcome)
offices = st.builds(Office, st.sampled_from(["ero-sd", "ero-ep"]), st.just("ERO field office"))
countries = st.sampled_from(["MX", "GT", "HN", "SV"]).map(Country)
names = st.sampled_from(["Ana", "Beto", "Carlos"]).map(PersonName)
a_numbers = st.from_regex(r"A[0-9]{8,9}", fullmatch=True).map(ANumber)
members = st.builds(
    Member,
    person_id=st.uuids(),
    role=st.sampled_from(MemberRole),
    name=st.none() | names,
    sex=st.sampled_from(Sex),
    birth_date=st.none() | st.dates(date(1950, 1, 1), date(2018, 6, 1)),
    age=st.none() | st.integers(0, 80),
    country=st.none() | countries,
    a_number=st.none() | a_numbers,
)
# A value for a corrected field, by the field's type.
VALUES: dict[Any, st.SearchStrategy[Any]] = {
    str: texts,
    bool: st.booleans(),
    int: st.integers(-1, 120),
    date: st.dates(date(1950, 1, 1), date(2018, 6, 1)),
    datetime: times,
    UUID: st.uuids(),
    Place: places,
    Facility: facilities,
    Office: offices,
    Country: countries,
    PersonName: names,
    ANumber: a_numbers,
}


def values_for(hint: Any) -> st.SearchStrategy[Any]:
    options = get_args(hint) if isinstance(hint, UnionType) else (hint,)
    found: list[st.SearchStrategy[Any]] = []
    for option in options:
        if option is NoneType:
            found.append(st.none())
        elif isinstance(option, type) and issubclass(option, Enum):
            found.append(st.sampled_from(option))
        elif option in VALUES:
            found.append(VALUES[option])
    return st.one_of(found) if found else st.just([])


Draw = st.DrawFn
Builder = Callable[[Draw, Family], Command]


def people(family: Family) -> list[UUID]:
    """The case's members; a stranger if every one was retracted."""
    return list(family.members) or [UUID(int=1)]


def someone(draw: Draw, family: Family, *roles: MemberRole) -> UUID:
    """Usually a member in one of the roles, now and then anyone, or a stranger."""
    fitting = [p for p, m in family.members.items() if m.role in (roles or tuple(MemberRole))]
    pool = st.sampled_from(fitting) if fitting else st.sampled_from(people(family))
    anyone, stranger = st.sampled_from(people(family)), st.builds(uuid4)
    chosen: UUID = draw(st.one_of(pool, pool, pool, pool, anyone, stranger))
    return chosen


def pair(draw: Draw, family: Family) -> tuple[UUID, UUID]:
    anyone = st.tuples(st.sampled_from(people(family)), st.sampled_from(people(family)))
    links = st.sampled_from(sorted(family.links)) if family.links else anyone
    return draw(links | links | anyone)


def parent(draw: Draw, family: Family) -> UUID:
    return someone(draw, family, MemberRole.PARENT, MemberRole.OTHER_ADULT)


def kid(draw: Draw, family: Family) -> UUID:
    return someone(draw, family, MemberRole.CHILD)


def add_member(d: Draw, f: Family) -> Command:
    member, t = d(members), d(times)
    return lambda g: g.add_member(member, t)


def record_relationship(d: Draw, f: Family) -> Command:
    p, c, kind, t, h = (
        parent(d, f),
        kid(d, f),
        d(st.sampled_from(RelationshipKind)),
        d(times),
        d(old),
    )
    return lambda g: g.record_relationship(p, c, kind, Evidence.CLAIMED, t, historical=h)


def apprehend(d: Draw, f: Family) -> Command:
    named = tuple(d(st.lists(st.sampled_from(people(f)), max_size=3)))
    place, agency, t = d(places), d(st.sampled_from(Agency)), d(times)
    return lambda g: g.apprehend(named, place, agency, t)


def separate(d: Draw, f: Family) -> Command:
    (p, c), place, reason = pair(d, f), d(places), d(st.sampled_from(SeparationReason))
    note, told, t, h = d(st.none() | texts), d(st.booleans()), d(times), d(old)
    return lambda g: g.separate(p, c, place, reason, note, told, t, reason_text=note, historical=h)


def refer_child(d: Draw, f: Family) -> Command:
    c, office, hours = kid(d, f), d(offices), d(st.none() | st.integers(-1, 99))
    t, h = d(times), d(old)
    return lambda g: g.refer_child(c, office, hours, t, historical=h)


def place_child(d: Draw, f: Family) -> Command:
    c, where, program, t, h = kid(d, f), d(facilities), d(programs), d(times), d(old)
    return lambda g: g.place_child(c, where, program, t, historical=h)


def transfer_child(d: Draw, f: Family) -> Command:
    c, where, program, t, h = kid(d, f), d(facilities), d(programs), d(times), d(old)
    return lambda g: g.transfer_child(c, where, program, t, historical=h)


def establish_contact(d: Draw, f: Family) -> Command:
    (p, c), channel, t, h = pair(d, f), d(st.sampled_from(ContactChannel)), d(times), d(old)
    return lambda g: g.establish_contact(p, c, channel, t, historical=h)


def determine_eligibility(d: Draw, f: Family) -> Command:
    (p, c), outcome = pair(d, f), d(st.sampled_from(EligibilityOutcome))
    red_flag, t, h = d(st.none() | texts), d(times), d(old)
    return lambda g: g.determine_eligibility(p, c, outcome, red_flag, t, historical=h)


def reunify(d: Draw, f: Family) -> Command:
    (p, c), place, t, h = pair(d, f), d(st.none() | places), d(times), d(old)
    return lambda g: g.reunify(c, p, place, t, historical=h)


def discharge_child(d: Draw, f: Family) -> Command:
    c, reason, note = kid(d, f), d(st.sampled_from(DischargeReason)), d(st.none() | texts)
    t, h = d(times), d(old)
    return lambda g: g.discharge_child(c, reason, note, t, historical=h)


def detain_parent(d: Draw, f: Family) -> Command:
    p, where, custody, t, h = parent(d, f), d(facilities), d(custodies), d(times), d(old)
    return lambda g: g.detain_parent(p, where, custody, t, historical=h)


def transfer_parent(d: Draw, f: Family) -> Command:
    p, where, custody, t, h = parent(d, f), d(facilities), d(custodies), d(times), d(old)
    return lambda g: g.transfer_parent(p, where, custody, t, historical=h)


def release_parent(d: Draw, f: Family) -> Command:
    p, where, t, h = parent(d, f), d(texts), d(times), d(old)
    return lambda g: g.release_parent(p, where, t, historical=h)


def order_removal(d: Draw, f: Family) -> Command:
    p, kind, t, h = parent(d, f), d(st.sampled_from(RemovalKind)), d(times), d(old)
    return lambda g: g.order_removal(p, kind, t, historical=h)


def sign_removal_election(d: Draw, f: Family) -> Command:
    p, election, language = parent(d, f), d(st.sampled_from(RemovalElection)), d(texts)
    counsel, t, h = d(st.booleans()), d(times), d(old)
    return lambda g: g.sign_removal_election(
        p, election, language, counsel, "read aloud", t, historical=h
    )


def remove_parent(d: Draw, f: Family) -> Command:
    p, country = parent(d, f), d(countries)
    children = tuple(d(st.lists(st.sampled_from(people(f)), max_size=2)))
    t, h = d(times), d(old)
    return lambda g: g.remove_parent(p, country, children, t, historical=h)


def return_parent(d: Draw, f: Family) -> Command:
    p, how, t, h = parent(d, f), d(st.sampled_from(ReturnRoute)), d(times), d(old)
    return lambda g: g.return_parent(p, how, t, historical=h)


def attempt_location(d: Draw, f: Family) -> Command:
    p, method, outcome = parent(d, f), d(texts), d(st.sampled_from(LocationOutcome))
    t, h = d(times), d(old)
    return lambda g: g.attempt_location(p, method, outcome, "class counsel", t, historical=h)


def record_preference(d: Draw, f: Family) -> Command:
    p, wish, t, h = parent(d, f), d(st.sampled_from(ReunificationPreference)), d(times), d(old)
    return lambda g: g.record_preference(p, wish, t, historical=h)


def decide_credible_fear(d: Draw, f: Family) -> Command:
    p, outcome, language = someone(d, f), d(fear_outcomes), d(texts)
    separated, t, h = d(st.booleans()), d(times), d(old)
    return lambda g: g.decide_credible_fear(p, outcome, language, separated, t, historical=h)


def elect_settlement(d: Draw, f: Family) -> Command:
    p, election, t, h = someone(d, f), d(st.sampled_from(SettlementElection)), d(times), d(old)
    return lambda g: g.elect_settlement(p, election, t, historical=h)


def reinterview(d: Draw, f: Family) -> Command:
    p, outcome, t, h = someone(d, f), d(fear_outcomes), d(times), d(old)
    return lambda g: g.reinterview(p, outcome, t, historical=h)


def reopen_asylum_case(d: Draw, f: Family) -> Command:
    p, proceeding, t, h = someone(d, f), d(texts), d(times), d(old)
    return lambda g: g.reopen_asylum_case(p, proceeding, t, historical=h)


lawyers = st.sampled_from(["cy.counsel", "ana.attorney", " "])


def record_representation(d: Draw, f: Family) -> Command:
    p, counsel, basis = someone(d, f), d(lawyers), d(st.sampled_from(RepresentationBasis))
    reference, consent, t, h = d(st.none() | texts), d(st.booleans()), d(times), d(old)
    return lambda g: g.record_representation(counsel, p, basis, reference, consent, t, historical=h)


def end_representation(d: Draw, f: Family) -> Command:
    p, counsel, why, t, h = someone(d, f), d(lawyers), d(texts), d(times), d(old)
    return lambda g: g.end_representation(counsel, p, why, t, historical=h)


def correct_entry(d: Draw, f: Family) -> Command:
    version = d(st.integers(0, f.version + 1))
    target = f.history[version - 1] if 1 <= version <= f.version else f.history[0]
    fields = field_types(type(target))
    name = d(st.sampled_from(sorted(fields)))
    change, why, t = FieldChange(name, d(values_for(fields[name]))), d(texts), d(times)
    return lambda g: g.correct_entry(version, (change,), why, t)


def retract_entry(d: Draw, f: Family) -> Command:
    version, why, t = d(st.integers(0, f.version + 1)), d(texts), d(times)
    return lambda g: g.retract_entry(version, why, t)


def flag_data_quality(d: Draw, f: Family) -> Command:
    version, detail, t = d(st.integers(0, f.version + 1)), d(texts), d(times)
    return lambda g: g.flag_data_quality("age_over_17", version, detail, t)


def close_case(d: Draw, f: Family) -> Command:
    why, t = d(texts), d(times)
    return lambda g: g.close_case(why, t)


BUILDERS: list[Builder] = [
    add_member,
    record_relationship,
    apprehend,
    separate,
    refer_child,
    place_child,
    transfer_child,
    establish_contact,
    determine_eligibility,
    reunify,
    discharge_child,
    detain_parent,
    transfer_parent,
    release_parent,
    order_removal,
    sign_removal_election,
    remove_parent,
    return_parent,
    attempt_location,
    record_preference,
    decide_credible_fear,
    elect_settlement,
    reinterview,
    reopen_asylum_case,
    record_representation,
    end_representation,
    correct_entry,
    retract_entry,
    flag_data_quality,
]


@st.composite
def commands(draw: Draw, family: Family) -> Command:
    """Any command of the catalogue, naming mostly the case's own people."""
    if draw(st.integers(0, 150)) == 0:  # closing ends a history, so keep it rare
        return close_case(draw, family)
    return draw(st.sampled_from(BUILDERS))(draw, family)


@st.composite
def family_histories(draw: Draw) -> Family:
    """A parent and child (and maybe more), mostly linked; then a run of any commands.

    Refused commands leave no trace, so what remains is a valid history.
    """
    family = Family(id=draw(st.uuids()), occurred_at=T0, case_number="C-9", source="hypothesis")
    cast = draw(st.lists(members, min_size=2, max_size=5, unique_by=lambda m: m.person_id))
    cast[:2] = [replace(cast[0], role=MemberRole.PARENT), replace(cast[1], role=MemberRole.CHILD)]
    for person in cast:
        family.add_member(person, T0)
    adults = [m.person_id for m in cast if m.role is not MemberRole.CHILD]
    for i, person in enumerate(cast):
        if person.role is MemberRole.CHILD and (i == 1 or draw(st.booleans())):
            adult = draw(st.sampled_from(adults))
            family.record_relationship(adult, person.person_id, RelationshipKind.MOTHER, DNA, T0)
    for _ in range(draw(st.integers(0, 30))):
        command = draw(commands(family))
        with contextlib.suppress(DomainError):
            command(family)
    return family
