"""Every stakeholder list (DESIGN, "questions the read side must answer") at each step that
moves a person onto or off it, as a caseworker, as counsel of record and as class counsel.

Three families walk their paths one command at a time; after each, every list is asked in
full and must hold exactly whom the story says. The lists: children by status (separated,
discharged: reunified or otherwise), children still in care by their separated parent's
situation (and the "deported, under 5" one), the facility census on a day, parents by
situation, parents in the settlement's class by where they stand and by the re-interview's
outcome, removals without a documented choice, and every change to a case (its timeline).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.family import Family, Member
from domain.values import (
    Country,
    CredibleFearOutcome,
    CustodyKind,
    DischargeReason,
    EligibilityOutcome,
    Evidence,
    FieldChange,
    MemberRole,
    Office,
    PersonName,
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
from service.access.auth import Role
from service.application.container import Container
from tests.scenarios.counsel import Viewer, answer
from tests.scenarios.court import CAYUGA, ICE_PORT_ISABEL, MARSHALS, on
from tests.scenarios.family import CASA_PADRE, SAN_YSIDRO, ctx

pytestmark = pytest.mark.integration

SITUATIONS = (
    "REMOVED",
    "ICE_CUSTODY",
    "CRIMINAL_CUSTODY",
    "RELEASED_INTERIOR",
    "LOCATION_UNKNOWN",
    "INELIGIBLE",
    "WAIVED",
)
STATUSES = ("WITH_FAMILY", "SEPARATED", "REFERRED", "IN_CARE", "REUNIFIED", "DISCHARGED")
STANCES = ("AWAITING_REINTERVIEW", "DECLINED_REVIEW", "REINTERVIEW_DECIDED")
CENSUS_DAY = "2018-12-31"
ERO_SAN_DIEGO = Office("ero-sd", "ERO San Diego")


def _children(args: str) -> tuple[str, str]:
    return (
        f"children(first: 100, filter: {{{args}}}) {{ edges {{ node {{ childId }} }} }}",
        "childId",
    )


def _parents(root: str, args: str = "") -> tuple[str, str]:
    call = f"{root}(first: 100{', ' + args if args else ''})"
    return f"{call} {{ edges {{ node {{ parentId }} }} }}", "parentId"


# Each list: its query and the key naming its people.
LISTS: dict[str, tuple[str, str]] = {
    **{f"children {s}": _children(f"status: {s}") for s in STATUSES},
    **{
        f"in care, parent {s}": _children(f"status: IN_CARE, parentSituation: {s}")
        for s in SITUATIONS
    },
    "in care, parent removed, under 5": _children(
        "status: IN_CARE, parentSituation: REMOVED, ageBand: UNDER_5"
    ),
    **{
        f"census {f}": _children(f'inFacilityOn: {{facilityId: "{f}", on: "{CENSUS_DAY}"}}')
        for f in ("casa-padre", "cayuga")
    },
    **{f"parents {s}": _parents("parents", f"filter: {{situation: {s}}}") for s in SITUATIONS},
    "settlement class": _parents("reinterviewEligible"),
    **{f"settlement {s}": _parents("reinterviewEligible", f"stance: {s}") for s in STANCES},
    **{
        f"re-interviewed {o}": _parents("reinterviewEligible", f"outcome: {o}")
        for o in ("POSITIVE", "NEGATIVE")
    },
    "removals without a documented choice": _parents("removalsWithoutDocumentedChoice"),
}
ASYLUM_LISTS = {name for name, (query, _) in LISTS.items() if "reinterviewEligible" in query}

CASEWORKER = Viewer("jo.caseworker", Role.CASEWORKER)
CLASS_COUNSEL = Viewer("class.counsel", Role.COUNSEL)


async def where(container: Container, viewer: Viewer) -> dict[str, set[str]]:
    """Every list, as this viewer has it, by the ids it holds."""
    found: dict[str, set[str]] = {}
    names = list(LISTS)
    for start in range(0, len(names), 10):  # within a caseworker's aliases per request
        batch = names[start : start + 10]
        query = "{ " + " ".join(f"l{i}: {LISTS[n][0]}" for i, n in enumerate(batch)) + " }"
        data = await answer(container, viewer, query)
        for i, name in enumerate(batch):
            key = LISTS[name][1]
            found[name] = {e["node"][key] for e in data[f"l{i}"]["edges"]}
    return found


class Story:
    """Families told one command at a time, with every list checked after each."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.expected: dict[str, set[str]] = {name: set() for name in LISTS}
        self.counsel: Viewer | None = None  # counsel of record, with consent, of `clients`
        self.clients: set[str] = set()

    async def open(self, age: int) -> tuple[UUID, UUID, UUID]:
        family, parent, child = uuid4(), uuid4(), uuid4()
        commands = self.container.commands
        await commands.open_case(
            family, ctx(), occurred_at=on(5, 20), case_number=f"T-{age}", source="test"
        )
        for member in (
            Member(parent, MemberRole.PARENT, PersonName("Parent"), Sex.FEMALE),
            Member(child, MemberRole.CHILD, PersonName("Child"), Sex.MALE, age=age),
        ):
            await commands.execute(family, _adding(member), ctx())
        await self.step(
            family,
            lambda f: f.record_relationship(
                parent, child, RelationshipKind.MOTHER, Evidence.CLAIMED, on(5, 20)
            ),
            add={"children WITH_FAMILY": child, "parents LOCATION_UNKNOWN": parent},
        )
        return family, parent, child

    async def step(
        self,
        family: UUID,
        decide: Callable[[Family], None],
        add: dict[str, UUID] | None = None,
        drop: dict[str, UUID] | None = None,
    ) -> int:
        """Record one command; then every list must have gained and lost just these."""
        result = await self.container.commands.execute(family, decide, ctx())
        for name, person in (add or {}).items():
            assert name in LISTS, name
            self.expected[name].add(str(person))
        for name, person in (drop or {}).items():
            assert name in LISTS, name
            self.expected[name].remove(str(person))
        await self.container.runner.catch_up()
        assert await where(self.container, CASEWORKER) == self.expected, decide
        await self._check_counsel()
        await self._check_timeline(family, result.version)
        return result.version

    async def _check_counsel(self) -> None:
        """Asylum lists hold counsel's consenting clients only, class counsel's no one;
        the others are everyone's."""
        expected = {
            name: (held & self.clients if name in ASYLUM_LISTS else held)
            for name, held in self.expected.items()
        }
        nobody = {
            name: (set() if name in ASYLUM_LISTS else held) for name, held in expected.items()
        }
        if self.counsel is not None:
            assert await where(self.container, self.counsel) == expected
        assert await where(self.container, CLASS_COUNSEL) == nobody

    async def _check_timeline(self, family: UUID, version: int) -> None:
        """Every change to a case: one timeline entry per entry of its stream."""
        data = await answer(
            self.container,
            CASEWORKER,
            "query($id: UUID!) { timeline(familyId: $id, first: 100) { edges { cursor } } }",
            id=str(family),
        )
        assert len(data["timeline"]["edges"]) == version


def _adding(member: Member) -> Callable[[Family], None]:
    return lambda f: f.add_member(member, on(5, 20))


@pytest.fixture
def story(container: Container) -> Story:
    return Story(container)


def moves(child: UUID, before: str, after: str) -> dict[str, Any]:
    return {"add": {after: child}, "drop": {before: child}}


async def test_a_child_and_parent_move_through_every_status_and_situation_list(
    story: Story,
) -> None:
    family, mother, son = await story.open(3)
    s = story.step

    def parent_moves(before: str, after: str) -> dict[str, Any]:
        return {
            "add": {f"in care, parent {after}": son, f"parents {after}": mother},
            "drop": {f"in care, parent {before}": son, f"parents {before}": mother},
        }

    await s(
        family,
        lambda f: f.separate(
            mother, son, SAN_YSIDRO, SeparationReason.ZERO_TOLERANCE, None, False, on(5, 21)
        ),
        **moves(son, "children WITH_FAMILY", "children SEPARATED"),
    )
    await s(
        family,
        lambda f: f.refer_child(son, ERO_SAN_DIEGO, 40, on(5, 22)),
        **moves(son, "children SEPARATED", "children REFERRED"),
    )
    await s(
        family,
        lambda f: f.place_child(son, CASA_PADRE, ProgramType.SHELTER, on(5, 25)),
        add={
            "children IN_CARE": son,
            "in care, parent LOCATION_UNKNOWN": son,
            "census casa-padre": son,
        },
        drop={"children REFERRED": son},
    )
    await s(
        family,
        lambda f: f.detain_parent(mother, ICE_PORT_ISABEL, CustodyKind.ICE, on(5, 26)),
        add={"in care, parent ICE_CUSTODY": son, "parents ICE_CUSTODY": mother},
        drop={"in care, parent LOCATION_UNKNOWN": son, "parents LOCATION_UNKNOWN": mother},
    )
    await s(
        family,
        lambda f: f.transfer_parent(mother, MARSHALS, CustodyKind.US_MARSHALS, on(5, 27)),
        **parent_moves("ICE_CUSTODY", "CRIMINAL_CUSTODY"),
    )
    await s(
        family,
        lambda f: f.release_parent(mother, "Houston, TX", on(6, 1)),
        **parent_moves("CRIMINAL_CUSTODY", "RELEASED_INTERIOR"),
    )
    await s(family, lambda f: f.order_removal(mother, RemovalKind.EXPEDITED, on(6, 2)))
    removed = parent_moves("RELEASED_INTERIOR", "REMOVED")
    removed["add"] |= {
        "in care, parent removed, under 5": son,
        "removals without a documented choice": mother,
    }
    await s(family, lambda f: f.remove_parent(mother, Country("GT"), (), on(6, 10)), **removed)
    # The election form, found later: the choice is documented after all.
    await s(
        family,
        lambda f: f.sign_removal_election(
            mother, RemovalElection.DEPART_WITHOUT_CHILD, "Spanish", False, "read", on(6, 5)
        ),
        drop={"removals without a documented choice": mother},
    )
    returned = parent_moves("REMOVED", "RELEASED_INTERIOR")
    returned["drop"] |= {"in care, parent removed, under 5": son}
    await s(family, lambda f: f.return_parent(mother, ReturnRoute.PAROLE, on(7, 1)), **returned)
    await s(
        family,
        lambda f: f.record_preference(mother, ReunificationPreference.WAIVE_CHILD_STAYS, on(7, 2)),
        **parent_moves("RELEASED_INTERIOR", "WAIVED"),
    )
    await s(
        family,
        lambda f: f.determine_eligibility(
            mother, son, EligibilityOutcome.INELIGIBLE, None, on(7, 3)
        ),
        **parent_moves("WAIVED", "INELIGIBLE"),
    )
    await s(
        family,
        lambda f: f.transfer_child(son, CAYUGA, ProgramType.SHELTER, on(7, 4)),
        **moves(son, "census casa-padre", "census cayuga"),
    )
    await s(
        family,
        lambda f: f.reunify(son, mother, None, on(7, 20)),
        add={"children REUNIFIED": son},
        drop={
            "children IN_CARE": son,
            "in care, parent INELIGIBLE": son,
            "census cayuga": son,
        },
    )


async def test_a_parent_moves_onto_off_and_through_the_settlement_lists(story: Story) -> None:
    family, mother, daughter = await story.open(9)
    s = story.step
    story.counsel = Viewer("cy.counsel", Role.COUNSEL)
    story.clients = {str(mother)}
    await s(
        family,
        lambda f: f.record_representation(
            "cy.counsel", mother, RepresentationBasis.NOTICE_OF_APPEARANCE, None, True, on(5, 20)
        ),
    )
    await s(
        family,
        lambda f: f.separate(
            mother, daughter, SAN_YSIDRO, SeparationReason.ZERO_TOLERANCE, None, False, on(5, 21)
        ),
        **moves(daughter, "children WITH_FAMILY", "children SEPARATED"),
    )
    await s(
        family,
        lambda f: f.place_child(daughter, CASA_PADRE, ProgramType.SHELTER, on(5, 25)),
        add={
            "children IN_CARE": daughter,
            "in care, parent LOCATION_UNKNOWN": daughter,
            "census casa-padre": daughter,
        },
        drop={"children SEPARATED": daughter},
    )
    await s(
        family,
        lambda f: f.decide_credible_fear(
            mother, CredibleFearOutcome.NEGATIVE, "Spanish", True, on(6, 1)
        ),
        add={"settlement class": mother, "settlement AWAITING_REINTERVIEW": mother},
    )
    await s(
        family,
        lambda f: f.elect_settlement(mother, SettlementElection.DECLINE_REVIEW, on(6, 10)),
        add={"settlement DECLINED_REVIEW": mother},
        drop={"settlement AWAITING_REINTERVIEW": mother},
    )
    await s(
        family,
        lambda f: f.reinterview(mother, CredibleFearOutcome.NEGATIVE, on(7, 1)),
        add={"settlement REINTERVIEW_DECIDED": mother, "re-interviewed NEGATIVE": mother},
        drop={"settlement DECLINED_REVIEW": mother},
    )
    await s(
        family,
        lambda f: f.reinterview(mother, CredibleFearOutcome.POSITIVE, on(7, 15)),
        **moves(mother, "re-interviewed NEGATIVE", "re-interviewed POSITIVE"),
    )
    in_class = {
        "settlement class": mother,
        "settlement REINTERVIEW_DECIDED": mother,
        "re-interviewed POSITIVE": mother,
    }
    red_flagged = await s(
        family,
        lambda f: f.determine_eligibility(
            mother, daughter, EligibilityOutcome.INELIGIBLE, "record", on(7, 20)
        ),
        add={"parents INELIGIBLE": mother, "in care, parent INELIGIBLE": daughter},
        drop={
            **in_class,
            "parents LOCATION_UNKNOWN": mother,
            "in care, parent LOCATION_UNKNOWN": daughter,
        },
    )
    await s(
        family,
        lambda f: f.retract_entry(red_flagged, "determined for the wrong parent", on(7, 21)),
        add={
            **in_class,
            "parents LOCATION_UNKNOWN": mother,
            "in care, parent LOCATION_UNKNOWN": daughter,
        },
        drop={"parents INELIGIBLE": mother, "in care, parent INELIGIBLE": daughter},
    )
    await s(
        family,
        lambda f: f.discharge_child(daughter, DischargeReason.SPONSOR, None, on(8, 1)),
        add={"children DISCHARGED": daughter},
        drop={
            "children IN_CARE": daughter,
            "in care, parent LOCATION_UNKNOWN": daughter,
            "census casa-padre": daughter,
        },
    )
    # Counsel's client withdraws consent: the same lists, now without her, for counsel.
    story.clients = set()
    await s(
        family,
        lambda f: f.end_representation("cy.counsel", mother, "consent withdrawn", on(8, 2)),
    )


async def test_corrections_move_a_parent_onto_and_off_the_settlement_list(story: Story) -> None:
    family, father, son = await story.open(12)
    s = story.step
    await s(
        family,
        lambda f: f.separate(
            father, son, SAN_YSIDRO, SeparationReason.ZERO_TOLERANCE, None, False, on(5, 21)
        ),
        **moves(son, "children WITH_FAMILY", "children SEPARATED"),
    )
    # Negative, but before the separation: outside the settlement's class.
    fear = await s(
        family,
        lambda f: f.decide_credible_fear(
            father, CredibleFearOutcome.NEGATIVE, "Spanish", False, on(6, 1)
        ),
    )
    onto = {"settlement class": father, "settlement AWAITING_REINTERVIEW": father}
    corrected = await s(
        family,
        lambda f: f.correct_entry(
            fear, (FieldChange("while_separated", True),), "per the asylum office", on(6, 2)
        ),
        add=onto,
    )
    assert corrected == fear + 1
    await s(
        family,
        lambda f: f.retract_entry(fear, "decided for another person", on(6, 3)),
        drop=onto,
    )
