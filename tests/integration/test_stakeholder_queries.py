"""The stakeholder lists through GraphQL on a real database: each filter of children, one
child's content, facilities on a date, re-interview eligibility and removals without a
documented choice, each answered with the right people."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from domain.family import Member
from domain.values import (
    Country,
    CredibleFearOutcome,
    CustodyKind,
    DischargeReason,
    EligibilityOutcome,
    Evidence,
    MemberRole,
    PersonName,
    ProgramType,
    RelationshipKind,
    RemovalElection,
    RemovalKind,
    ReturnRoute,
    SeparationReason,
    Sex,
)
from schema.build import create_schema
from schema.context import Context
from schema.disclosure import POOLED_ID
from schema.loaders import Loaders
from service.access.auth import Identity, Role
from service.application.container import Container
from tests.scenarios.court import CAYUGA, ICE_PORT_ISABEL, MARSHALS, Case, on, separated
from tests.scenarios.family import CASA_PADRE

pytestmark = pytest.mark.integration

CHILDREN = """query($filter: ChildFilter) {
  children(first: 100, filter: $filter) { edges { node { childId } } } }"""
PARENTS = """{ edges { node { parentId credibleFear credibleFearWhileSeparated eligibility
                                redFlag removedTo } } }"""


async def ask(
    container: Container, query: str, role: Role = Role.CASEWORKER, **variables: Any
) -> dict[str, Any]:
    """One GraphQL request as a user of this role."""
    ctx = Context(
        container, None, None, Identity("jo", role), Loaders.create(container.database.pool)
    )
    result = await create_schema().execute(query, variable_values=variables, context_value=ctx)
    assert result.errors is None and result.data is not None, result.errors
    return result.data


async def child_ids(container: Container, **flt: Any) -> set[str]:
    data = await ask(container, CHILDREN, filter=flt)
    return {e["node"]["childId"] for e in data["children"]["edges"]}


async def parent_ids(container: Container, field: str) -> list[str]:
    data = await ask(container, f"{{ {field}(first: 50) {PARENTS} }}")
    return [e["node"]["parentId"] for e in data[field]["edges"]]


@pytest.fixture
async def world(container: Container) -> dict[str, Case]:
    """Four separated children whose parents and records differ in every filtered way."""
    removed = await separated(container, 3, on(5, 20))
    await removed.then(
        lambda f: f.detain_parent(removed.parent, ICE_PORT_ISABEL, CustodyKind.ICE, on(5, 21))
    )
    await removed.then(lambda f: f.remove_parent(removed.parent, Country("GT"), (), on(6, 10)))

    returned = await separated(container, 8, on(5, 22), CAYUGA, SeparationReason.CRIMINAL_HISTORY)
    await returned.then(lambda f: f.remove_parent(returned.parent, Country("HN"), (), on(6, 1)))
    await returned.then(lambda f: f.return_parent(returned.parent, ReturnRoute.PAROLE, on(7, 1)))

    flagged = await separated(container, 15, on(6, 5), reason=SeparationReason.GANG_AFFILIATION)
    await flagged.then(
        lambda f: f.flag_data_quality("age_unverified", 3, "age as told at the port", on(6, 5))
    )

    custody = await separated(container, 12, on(6, 10), CAYUGA)
    await custody.then(
        lambda f: f.detain_parent(custody.parent, MARSHALS, CustodyKind.US_MARSHALS, on(6, 11))
    )
    await container.runner.catch_up()
    return {"removed": removed, "returned": returned, "flagged": flagged, "custody": custody}


def ids(world: dict[str, Case], *names: str) -> set[str]:
    return {str(world[n].child) for n in names}


async def test_children_by_facility(container: Container, world: dict[str, Case]) -> None:
    assert await child_ids(container, facilityId="cayuga") == ids(world, "returned", "custody")
    assert await child_ids(container, facilityId="casa-padre") == ids(world, "removed", "flagged")


async def test_the_facility_census_on_a_day(container: Container, world: dict[str, Case]) -> None:
    custody = world["custody"]  # placed at Cayuga on 13 June, moved to Casa Padre on 1 July
    await custody.then(
        lambda f: f.transfer_child(custody.child, CASA_PADRE, ProgramType.SHELTER, on(7, 1))
    )
    await container.runner.catch_up()

    def census(facility: str, day: str) -> dict[str, Any]:
        return {"inFacilityOn": {"facilityId": facility, "on": day}}

    assert await child_ids(container, **census("cayuga", "2018-06-20")) == ids(
        world, "returned", "custody"
    )
    assert await child_ids(container, **census("cayuga", "2018-07-01")) == ids(world, "returned")
    assert await child_ids(container, **census("casa-padre", "2018-07-01")) == ids(
        world, "removed", "flagged", "custody"
    )
    # Before anyone was placed there, and with the other filters: the same stays.
    assert await child_ids(container, **census("casa-padre", "2018-05-22")) == set()
    narrowed = {**census("casa-padre", "2018-07-01"), "ageBand": "FROM_5_TO_17"}
    assert await child_ids(container, **narrowed) == ids(world, "flagged", "custody")


async def test_children_by_parent_situation(container: Container, world: dict[str, Case]) -> None:
    assert await child_ids(container, parentSituation="REMOVED") == ids(world, "removed")
    # Returned on parole and not detained since: in the interior, no longer removed.
    assert await child_ids(container, parentSituation="RELEASED_INTERIOR") == ids(world, "returned")
    assert await child_ids(container, parentSituation="CRIMINAL_CUSTODY") == ids(world, "custody")
    assert await child_ids(container, parentSituation="LOCATION_UNKNOWN") == ids(world, "flagged")


async def test_children_by_removal_country(container: Container, world: dict[str, Case]) -> None:
    assert await child_ids(container, removalCountry="GT") == ids(world, "removed")
    assert await child_ids(container, removalCountry="HN") == set()  # the parent came back


async def test_children_by_separation_dates(container: Container, world: dict[str, Case]) -> None:
    window = {"separatedFrom": "2018-05-21", "separatedTo": "2018-06-05"}
    assert await child_ids(container, **window) == ids(world, "returned", "flagged")
    assert await child_ids(container, separatedFrom="2018-06-06") == ids(world, "custody")
    assert await child_ids(container, separatedTo="2018-05-20") == ids(world, "removed")


async def test_children_by_separation_reason(container: Container, world: dict[str, Case]) -> None:
    found = await child_ids(container, separationReason="CRIMINAL_HISTORY")
    assert found == ids(world, "returned")
    found = await child_ids(container, separationReason="ZERO_TOLERANCE")
    assert found == ids(world, "removed", "custody")


async def test_children_by_data_quality_flag(container: Container, world: dict[str, Case]) -> None:
    assert await child_ids(container, dataQualityFlag="age_unverified") == ids(world, "flagged")
    assert await child_ids(container, dataQualityFlag="no_such_rule") == set()


async def test_one_child_with_its_parent_and_facility(
    container: Container, world: dict[str, Case]
) -> None:
    removed = world["removed"]
    data = await ask(
        container,
        """query($id: UUID!) { child(id: $id) {
          childId familyId age ageBand status separatedAt separationReason placedAt
          dischargedAt parentSituation removalCountry
          facility { facilityId facilityName }
          parents { parentId situation removedTo custody } } }""",
        id=str(removed.child),
    )
    assert data["child"] == {
        "childId": str(removed.child),
        "familyId": str(removed.family_id),
        "age": 3,
        "ageBand": "UNDER_5",
        "status": "IN_CARE",
        "separatedAt": "2018-05-20",
        "separationReason": "zero_tolerance",
        "placedAt": "2018-05-23",
        "dischargedAt": None,
        "parentSituation": "REMOVED",
        "removalCountry": "GT",
        "facility": {"facilityId": "casa-padre", "facilityName": "Casa Padre"},
        "parents": [
            {
                "parentId": str(removed.parent),
                "situation": "REMOVED",
                "removedTo": "GT",
                "custody": None,
            }
        ],
    }


async def test_a_child_lists_only_the_adults_linked_to_it(container: Container) -> None:
    son = await separated(container, 6, on(5, 20))
    uncle, cousin = uuid4(), uuid4()
    await son.then(
        lambda f: f.add_member(
            Member(uncle, MemberRole.OTHER_ADULT, PersonName("Luis"), Sex.MALE), on(5, 20)
        )
    )
    await son.then(
        lambda f: f.add_member(
            Member(cousin, MemberRole.CHILD, PersonName("Gabi"), Sex.MALE, age=9), on(5, 20)
        )
    )
    await son.then(
        lambda f: f.record_relationship(
            uncle, cousin, RelationshipKind.OTHER_RELATIVE, Evidence.CLAIMED, on(5, 20)
        )
    )
    await container.runner.catch_up()
    query = "query($id: UUID!) { child(id: $id) { parents { parentId } } }"
    for child, adult in ((son.child, son.parent), (cousin, uncle)):
        data = await ask(container, query, id=str(child))
        assert data["child"]["parents"] == [{"parentId": str(adult)}]


async def test_facilities_on_a_date_exact_and_as_analysts_see_them(
    container: Container,
) -> None:
    for month, day in ((5, 20), (5, 21), (5, 22), (5, 24), (6, 1)):
        await separated(container, 9, on(month, day))
    alone = await separated(container, 4, on(6, 2), CAYUGA)
    await alone.then(
        lambda f: f.discharge_child(
            alone.child, DischargeReason.SPONSOR, None, on(6, 25)
        )  # 20 days in care
    )
    await container.runner.catch_up()
    query = '{ facilities(on: "2018-07-01") { facilityId census stays medianDays p90Days } }'
    seen = await ask(container, query)
    assert seen["facilities"] == [
        {
            "facilityId": "casa-padre",
            "census": 5,
            "stays": 5,
            "medianDays": 37.0,  # placed 5/23, 5/24, 5/25, 5/27, 6/4: 39, 38, 37, 35, 27
            "p90Days": pytest.approx(38.6),
        },
        {"facilityId": "cayuga", "census": 0, "stays": 1, "medianDays": 20.0, "p90Days": 20.0},
    ]
    # Analysts: month ends only; both facilities have fewer than 10 stays, so neither is
    # named: their counts are pooled, rounded to multiples of 5, with no distribution.
    refused = await create_schema().execute(query, context_value=context(container))
    assert refused.errors and refused.errors[0].extensions == {"code": "OFF_CALENDAR"}
    month_end = query.replace("2018-07-01", "2018-06-30")
    exact = (await ask(container, month_end))["facilities"]
    assert [(f["census"], f["stays"]) for f in exact] == [(5, 5), (0, 1)]
    analyst = await ask(container, month_end, Role.ANALYST)
    assert analyst["facilities"] == [
        {
            "facilityId": POOLED_ID,
            "census": 5,  # a multiple of 5 is shown as it is
            "stays": analyst["facilities"][0]["stays"],
            "medianDays": None,
            "p90Days": None,
        }
    ]
    assert analyst["facilities"][0]["stays"] in (5, 10)  # 6 stays
    assert await ask(container, month_end, Role.ANALYST) == analyst  # the same, asked again


def context(container: Container, role: Role = Role.ANALYST) -> Context:
    return Context(
        container, None, None, Identity("an", role), Loaders.create(container.database.pool)
    )


async def negative_fear(case: Case, while_separated: bool = True) -> None:
    await case.then(
        lambda f: f.decide_credible_fear(
            case.parent, CredibleFearOutcome.NEGATIVE, "Spanish", while_separated, on(6, 1)
        )
    )


async def test_parents_eligible_for_reinterview(container: Container) -> None:
    eligible = await separated(container, 6, on(5, 20))
    await negative_fear(eligible)

    red_flagged = await separated(container, 7, on(5, 20))
    daughter = uuid4()
    await red_flagged.then(
        lambda f: f.add_member(
            Member(daughter, MemberRole.CHILD, PersonName("Eva"), Sex.FEMALE, age=10), on(5, 20)
        )
    )
    await red_flagged.then(
        lambda f: f.record_relationship(
            red_flagged.parent, daughter, RelationshipKind.MOTHER, Evidence.CLAIMED, on(5, 20)
        )
    )
    await negative_fear(red_flagged)
    await red_flagged.then(
        lambda f: f.determine_eligibility(
            red_flagged.parent, red_flagged.child, EligibilityOutcome.INELIGIBLE, "record", on(7, 1)
        )
    )
    # Eligible for the daughter: it must not clear the red flag standing for her brother.
    await red_flagged.then(
        lambda f: f.determine_eligibility(
            red_flagged.parent, daughter, EligibilityOutcome.ELIGIBLE, None, on(7, 2)
        )
    )

    ineligible = await separated(container, 8, on(5, 20))
    await negative_fear(ineligible)
    await ineligible.then(
        lambda f: f.determine_eligibility(
            ineligible.parent, ineligible.child, EligibilityOutcome.INELIGIBLE, None, on(7, 1)
        )
    )

    # A negative decision before the separation: outside the settlement's class.
    outside = await separated(container, 9, on(5, 20))
    await negative_fear(outside, while_separated=False)
    await container.runner.catch_up()

    data = await ask(container, f"{{ reinterviewEligible(first: 50) {PARENTS} }}")
    assert [e["node"] for e in data["reinterviewEligible"]["edges"]] == [
        {
            "parentId": str(eligible.parent),
            "credibleFear": "negative",
            "credibleFearWhileSeparated": True,
            "eligibility": None,
            "redFlag": None,
            "removedTo": None,
        }
    ]
    flagged = await ask(
        container,
        "query($id: UUID!) { parent(id: $id) { eligibility redFlag situation } }",
        id=str(red_flagged.parent),
    )
    assert flagged["parent"] == {
        "eligibility": "ineligible",
        "redFlag": "record",
        "situation": "INELIGIBLE",
    }


async def test_removals_without_a_documented_choice_leave_out_who_chose_or_took_the_child(
    container: Container,
) -> None:
    no_choice = await separated(container, 5, on(5, 20))
    await no_choice.then(lambda f: f.remove_parent(no_choice.parent, Country("GT"), (), on(6, 10)))

    chose = await separated(container, 6, on(5, 20))
    await chose.then(lambda f: f.order_removal(chose.parent, RemovalKind.EXPEDITED, on(6, 4)))
    await chose.then(
        lambda f: f.sign_removal_election(
            chose.parent,
            RemovalElection.DEPART_WITHOUT_CHILD,
            "Spanish",
            True,
            "read aloud",
            on(6, 5),
        )
    )
    await chose.then(lambda f: f.remove_parent(chose.parent, Country("HN"), (), on(6, 10)))

    together = await separated(container, 7, on(5, 20))
    await together.then(lambda f: f.reunify(together.child, together.parent, None, on(6, 20)))
    await together.then(
        lambda f: f.remove_parent(together.parent, Country("SV"), (together.child,), on(6, 21))
    )
    await container.runner.catch_up()

    data = await ask(container, f"{{ removalsWithoutDocumentedChoice(first: 50) {PARENTS} }}")
    nodes = [e["node"] for e in data["removalsWithoutDocumentedChoice"]["edges"]]
    assert [(n["parentId"], n["removedTo"]) for n in nodes] == [(str(no_choice.parent), "GT")]

    # The OIG's kind of figure: how many, without paging through them all.
    counted = await ask(
        container,
        "{ removalsWithoutDocumentedChoice(first: 1) { totalCount edges { cursor } } }",
    )
    assert counted["removalsWithoutDocumentedChoice"]["totalCount"] == 1


async def test_total_counts_follow_the_filter_not_the_page(
    container: Container, world: dict[str, Case]
) -> None:
    query = """query($f: ChildFilter, $p: ParentFilter) {
      children(first: 1, filter: $f) { totalCount edges { cursor } pageInfo { hasNextPage } }
      parents(first: 1, filter: $p) { totalCount }
      reinterviewEligible(first: 1) { totalCount }
      timeline(familyId: "00000000-0000-0000-0000-000000000000") { totalCount } }"""
    everyone = await ask(container, query)
    assert everyone["children"]["totalCount"] == 4
    assert (
        len(everyone["children"]["edges"]) == 1 and everyone["children"]["pageInfo"]["hasNextPage"]
    )
    assert everyone["parents"]["totalCount"] == 4
    assert everyone["reinterviewEligible"]["totalCount"] == 0
    assert everyone["timeline"]["totalCount"] is None  # not counted
    cayuga = await ask(container, query, f={"facilityId": "cayuga"}, p={"situation": "REMOVED"})
    assert (cayuga["children"]["totalCount"], cayuga["parents"]["totalCount"]) == (2, 1)
