"""Families with counsel of record, and callers of every kind: who sees what of whom.

- `ana` (Ana and her son Beto): Ana's negative credible-fear decision, made while separated,
  is flagged; "cy.counsel" represents Ana, who consented to disclosure.
- `bea` (Bea and her son Ben): Bea re-interviewed (positive) after electing review, her asylum
  case reopened; "cy.counsel" represents Bea, who did not consent; "ana.attorney" represents
  Ben, who did.
- `cruz` (Cruz and his daughter Cami): Cruz declined the review and is flagged as an
  asylum record; no one represents anyone; ended representations leave nothing standing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from domain.family import Family, Member
from domain.values import (
    ANumber,
    CredibleFearOutcome,
    MemberRole,
    PersonName,
    RepresentationBasis,
    SettlementElection,
    Sex,
)
from schema.build import create_schema
from schema.context import Context
from schema.loaders import Loaders
from service.access.auth import Identity, Role
from service.application.container import Container
from tests.scenarios.court import Case, on, separated

NOTICE = RepresentationBasis.NOTICE_OF_APPEARANCE
SCHEMA = create_schema(dev=True)


@dataclass(frozen=True)
class Viewer:
    """A caller, and whom the world records it as representing (the test's own account)."""

    subject: str
    role: Role
    families: frozenset[UUID] = frozenset()
    consenting: frozenset[UUID] = frozenset()

    @property
    def name(self) -> str:
        return self.subject


@dataclass
class World:
    """The families, their people, and the asylum entries each person has."""

    container: Container
    cases: dict[str, Case] = field(default_factory=dict)
    # Stream versions of asylum records, by family, with the person each is about.
    asylum_entries: dict[UUID, dict[int, UUID]] = field(default_factory=dict)
    viewers: dict[str, Viewer] = field(default_factory=dict)

    def people(self) -> list[tuple[UUID, UUID]]:
        """Every (family, person) of the world."""
        return [(c.family_id, p) for c in self.cases.values() for p in (c.parent, c.child)]

    async def version(self, case: Case) -> int:
        family = await self.container.commands.load(case.family_id)
        return int(family.version)


async def ask(
    container: Container, viewer: Viewer, query: str, **variables: Any
) -> tuple[dict[str, Any] | None, list[Any]]:
    """One GraphQL request as this viewer: its data and errors."""
    context = Context(
        container,
        None,
        None,
        Identity(viewer.subject, viewer.role),
        Loaders.create(container.database.pool),
    )
    result = await SCHEMA.execute(query, variable_values=variables, context_value=context)
    return result.data, list(result.errors or [])


async def answer(container: Container, viewer: Viewer, query: str, **variables: Any) -> Any:
    data, errors = await ask(container, viewer, query, **variables)
    assert not errors and data is not None, errors
    return data


async def build_world(container: Container) -> World:
    world = World(container)
    ana = await separated(container, 3, on(5, 20))
    bea = await separated(container, 8, on(5, 21))
    cruz = await separated(container, 12, on(5, 22))
    world.cases = {"ana": ana, "bea": bea, "cruz": cruz}
    await ana.then(lambda f: _named(f, ana, "Ana", "A012345678"))
    await bea.then(lambda f: _named(f, bea, "Bea", None))

    async def fear(case: Case, while_separated: bool = True) -> None:
        await case.then(
            lambda f: f.decide_credible_fear(
                case.parent, CredibleFearOutcome.NEGATIVE, "Spanish", while_separated, on(6, 1)
            )
        )
        await _note_asylum(world, case, case.parent)

    await fear(ana)
    await ana.then(
        lambda f: f.flag_data_quality("asylum_flag", f.version, "flagged for review", on(6, 2))
    )
    await _note_asylum(world, ana, ana.parent)  # a flag of an asylum record is one too
    await ana.then(
        lambda f: f.elect_settlement(ana.parent, SettlementElection.ELECT_REVIEW, on(6, 3))
    )
    await _note_asylum(world, ana, ana.parent)
    await fear(bea)
    await bea.then(
        lambda f: f.elect_settlement(bea.parent, SettlementElection.ELECT_REVIEW, on(6, 10))
    )
    await _note_asylum(world, bea, bea.parent)
    await bea.then(lambda f: f.reinterview(bea.parent, CredibleFearOutcome.POSITIVE, on(7, 1)))
    await _note_asylum(world, bea, bea.parent)
    await bea.then(lambda f: f.reopen_asylum_case(bea.parent, "immigration court", on(7, 2)))
    await _note_asylum(world, bea, bea.parent)
    await fear(cruz)
    await cruz.then(
        lambda f: f.elect_settlement(cruz.parent, SettlementElection.DECLINE_REVIEW, on(6, 12))
    )
    await _note_asylum(world, cruz, cruz.parent)
    await cruz.then(
        lambda f: f.flag_data_quality("asylum_flag", f.version, "flagged for review", on(6, 13))
    )
    await _note_asylum(world, cruz, cruz.parent)

    def represent(case: Case, counsel: str, person: UUID, consent: bool) -> Any:
        return case.then(
            lambda f: f.record_representation(counsel, person, NOTICE, "EOIR-28", consent, on(7, 5))
        )

    await represent(ana, "cy.counsel", ana.parent, True)
    await represent(bea, "cy.counsel", bea.parent, False)
    await represent(bea, "ana.attorney", bea.child, True)
    # An ended representation reaches nothing.
    await represent(cruz, "cy.counsel", cruz.parent, True)
    await cruz.then(lambda f: f.end_representation("cy.counsel", cruz.parent, "withdrew", on(7, 9)))
    await container.runner.catch_up()

    world.viewers = {
        v.subject: v
        for v in (
            Viewer("jo.caseworker", Role.CASEWORKER),
            Viewer("al.auditor", Role.AUDITOR),
            Viewer(
                "cy.counsel",
                Role.COUNSEL,
                frozenset({ana.family_id, bea.family_id}),
                frozenset({ana.parent}),
            ),
            Viewer(
                "ana.attorney", Role.COUNSEL, frozenset({bea.family_id}), frozenset({bea.child})
            ),
            Viewer("class.counsel", Role.COUNSEL),
        )
    }
    return world


def _named(family: Family, case: Case, name: str, a_number: str | None) -> None:
    """Another adult with a name and A-number, and a baby with a birth date, never
    separated: so every identity field holds something."""
    family.add_member(
        Member(
            UUID(int=case.parent.int ^ 1),
            MemberRole.OTHER_ADULT,
            PersonName(name),
            Sex.FEMALE,
            birth_date=datetime(1990, 1, 2, tzinfo=UTC).date(),
            a_number=ANumber(a_number) if a_number else None,
        ),
        on(5, 23),
    )
    family.add_member(
        Member(
            UUID(int=case.child.int ^ 1),
            MemberRole.CHILD,
            PersonName(f"{name}'s baby"),
            Sex.FEMALE,
            birth_date=datetime(2018, 1, 2, tzinfo=UTC).date(),
        ),
        on(5, 23),
    )


async def _note_asylum(world: World, case: Case, person: UUID) -> None:
    """Remember that the family's newest entry is an asylum record about this person."""
    version = await world.version(case)
    world.asylum_entries.setdefault(case.family_id, {})[version] = person
