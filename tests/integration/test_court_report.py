"""The read side answers the court's questions as of a date, from intervals, in SQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

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
    ReunificationPreference,
    SeparationReason,
    Sex,
)
from projections import case_queries as sql
from schema.build import create_schema
from schema.context import Context
from schema.disclosure import FINGERPRINTS, child_hash
from schema.loaders import Loaders
from service.access.auth import Identity, Role
from service.application.container import Container
from tests.scenarios.court import CAYUGA, ICE_PORT_ISABEL, MARSHALS, Case, on, separated
from tests.scenarios.family import CASA_PADRE, SAN_YSIDRO, ctx

pytestmark = pytest.mark.integration


@pytest.fixture
async def court(container: Container) -> dict[str, Case]:
    """Six families whose parents end up in each of the report's situations."""
    removed = await separated(container, 3, on(5, 20))
    await removed.then(
        lambda f: f.detain_parent(removed.parent, ICE_PORT_ISABEL, CustodyKind.ICE, on(5, 21))
    )
    await removed.then(lambda f: f.remove_parent(removed.parent, Country("GT"), (), on(6, 10)))

    reunified = await separated(container, 10, on(5, 25))
    await reunified.then(
        lambda f: f.detain_parent(reunified.parent, ICE_PORT_ISABEL, CustodyKind.ICE, on(5, 26))
    )
    await reunified.then(lambda f: f.reunify(reunified.child, reunified.parent, None, on(7, 20)))

    released = await separated(container, 16, on(6, 1), CAYUGA)
    await released.then(lambda f: f.release_parent(released.parent, "Houston, TX", on(6, 15)))
    await released.then(
        lambda f: f.discharge_child(released.child, DischargeReason.SPONSOR, None, on(8, 1))
    )

    ineligible = await separated(container, 7, on(5, 22))
    await ineligible.then(
        lambda f: f.detain_parent(ineligible.parent, MARSHALS, CustodyKind.US_MARSHALS, on(5, 23))
    )
    await ineligible.then(
        lambda f: f.determine_eligibility(
            ineligible.parent,
            ineligible.child,
            EligibilityOutcome.INELIGIBLE,
            "criminal history",
            on(7, 1),
        )
    )

    waived = await separated(container, 12, on(5, 24))
    await waived.then(
        lambda f: f.decide_credible_fear(
            waived.parent, CredibleFearOutcome.NEGATIVE, "Spanish", True, on(5, 30)
        )
    )
    await waived.then(lambda f: f.order_removal(waived.parent, RemovalKind.EXPEDITED, on(6, 5)))
    await waived.then(
        lambda f: f.sign_removal_election(
            waived.parent,
            RemovalElection.DEPART_WITHOUT_CHILD,
            "Spanish",
            False,
            "read aloud",
            on(6, 6),
        )
    )
    await waived.then(lambda f: f.remove_parent(waived.parent, Country("HN"), (), on(6, 20)))
    await waived.then(
        lambda f: f.record_preference(
            waived.parent, ReunificationPreference.WAIVE_CHILD_STAYS, on(7, 10)
        )
    )

    unknown = await separated(container, 2, on(6, 5))
    await container.runner.catch_up()
    return {
        "removed": removed,
        "reunified": reunified,
        "released": released,
        "ineligible": ineligible,
        "waived": waived,
        "unknown": unknown,
    }


def totals(rows: list[dict[str, Any]], column: str) -> dict[str, int]:
    return {r["age_band"]: r[column] for r in rows if r[column]}


async def report(container: Container, as_of: date) -> list[dict[str, Any]]:
    return [dict(r) for r in await sql.court_report(container.database.pool, as_of)]


async def test_report_as_of_late_july_puts_each_child_in_its_parents_situation(
    container: Container,
    court: dict[str, Case],
) -> None:
    rows = await report(container, date(2018, 7, 26))
    assert totals(rows, "total") == {"0-4": 2, "5-17": 4}
    assert totals(rows, "reunified") == {"5-17": 1}
    assert totals(rows, "in_care") == {"0-4": 2, "5-17": 3}
    assert totals(rows, "removed") == {"0-4": 1}  # deported parent, child under 5 in care
    assert totals(rows, "released_interior") == {"5-17": 1}
    assert totals(rows, "ineligible") == {"5-17": 1}
    assert totals(rows, "waived") == {"5-17": 1}
    assert totals(rows, "location_unknown") == {"0-4": 1}
    assert totals(rows, "ice_custody") == {}


async def test_earlier_dates_see_the_situation_of_their_day(
    container: Container,
    court: dict[str, Case],
) -> None:
    june = await report(container, date(2018, 6, 1))
    assert totals(june, "total") == {"0-4": 1, "5-17": 4}
    assert totals(june, "ice_custody") == {"0-4": 1, "5-17": 1}
    assert totals(june, "criminal_custody") == {"5-17": 1}
    assert totals(june, "in_care") == {"0-4": 1, "5-17": 3}  # the 16-year-old's stay starts 6/4
    august = await report(container, date(2018, 8, 2))
    assert totals(august, "sponsor") == {"5-17": 1}


async def test_removals_without_a_documented_choice(
    container: Container,
    court: dict[str, Case],
) -> None:
    pool = container.database.pool
    listed = sql.listed_parents_sql(sql.REMOVALS_WITHOUT_CHOICE)
    rows = await pool.fetch(listed, UUID(int=0), 10, *sql.Narrowing().args())
    assert [r["parent_id"] for r in rows] == [court["removed"].parent]


async def test_reinterview_eligible_parents(
    container: Container,
    court: dict[str, Case],
) -> None:
    eligible = sql.listed_parents_sql(sql.REINTERVIEW_ELIGIBLE)
    rows = await container.database.pool.fetch(eligible, UUID(int=0), 10, *sql.Narrowing().args())
    assert [r["parent_id"] for r in rows] == [court["waived"].parent]


async def test_facility_census_and_days_in_care(
    container: Container,
    court: dict[str, Case],
) -> None:
    stats = {
        r["facility_id"]: dict(r)
        for r in await sql.facilities(container.database.pool, date(2018, 7, 26))
    }
    assert stats["casa-padre"]["census"] == 4 and stats["cayuga"]["census"] == 1
    # Casa Padre stays counted up to 7/26: 64, 53 (reunified 7/20), 62, 60 and 48 days.
    assert stats["casa-padre"]["median_days"] == 60.0
    assert stats["casa-padre"]["p90_days"] == pytest.approx(63.2)


async def page_all(container: Container, query: str, field: str) -> list[dict[str, Any]]:
    """Follow a connection's cursors to the end, two nodes a page."""
    schema, after, nodes = create_schema(), None, []
    while True:
        ctx = Context(
            container,
            None,
            None,
            Identity("jo", Role.CASEWORKER),
            Loaders.create(container.database.pool),
        )
        result = await schema.execute(query, variable_values={"after": after}, context_value=ctx)
        assert result.errors is None and result.data is not None, result.errors
        page = result.data[field]
        nodes += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


async def test_children_page_in_separation_order_and_parents_by_situation(
    container: Container,
    court: dict[str, Case],
) -> None:
    children = await page_all(
        container,
        """query($after: String) {
        children(orderBy: SEPARATED_AT, first: 2, after: $after) {
          edges { node { childId separatedAt } } pageInfo { hasNextPage endCursor } } }""",
        "children",
    )
    dates = [c["separatedAt"] for c in children]
    assert len(children) == 6 and dates == sorted(dates)
    removed = await page_all(
        container,
        """query($after: String) {
        parents(filter: {situation: REMOVED}, first: 2, after: $after) {
          edges { node { parentId removedTo } } pageInfo { hasNextPage endCursor } } }""",
        "parents",
    )
    assert [(p["parentId"], p["removedTo"]) for p in removed] == [
        (str(court["removed"].parent), "GT")
    ]


async def test_analysts_see_month_ends_rounded_where_caseworkers_see_any_day_exact(
    container: Container,
    court: dict[str, Case],
) -> None:
    query = """query($asOf: Date!, $knownAt: DateTime) {
        courtReport(asOf: $asOf, knownAt: $knownAt) {
        children { total under5 from5To17 } inCare { total { total }
        removed { total under5 } locationUnknown { total from5To17 } } } }"""

    async def answer(role: Role, as_of: str, known_at: str | None = None) -> Any:
        ctx = Context(
            container, None, None, Identity("jo", role), Loaders.create(container.database.pool)
        )
        variables = {"asOf": as_of, "knownAt": known_at}
        return await create_schema().execute(query, variable_values=variables, context_value=ctx)

    exact = (await answer(Role.CASEWORKER, "2018-07-31")).data
    shown = (await answer(Role.ANALYST, "2018-07-31")).data
    assert exact is not None and shown is not None
    assert exact["courtReport"]["children"] == {"total": 6, "under5": 2, "from5To17": 4}
    assert exact["courtReport"]["inCare"]["removed"] == {"total": 1, "under5": 1}
    pairs = list(zip(leaves(exact), leaves(shown), strict=True))
    assert all(s % 5 == 0 and abs(s - e) <= 4 for e, s in pairs)
    assert all(s in (0, 5) for e, s in pairs if 0 < e < 5)  # never shown as themselves
    # The same children give the same figure: asked again, and as known at the start of
    # next month (replayed); as known at any other moment is refused to analysts.
    assert (await answer(Role.ANALYST, "2018-07-31")).data == shown
    now = await database_now(container)
    vintage = f"{(now.replace(day=28) + timedelta(days=4)).strftime('%Y-%m')}-01T00:00:00Z"
    assert (await answer(Role.ANALYST, "2018-07-31", vintage)).data == shown
    off = await answer(Role.ANALYST, "2018-07-31", now.isoformat())
    assert off.errors and off.errors[0].extensions == {"code": "OFF_CALENDAR"}
    assert (await answer(Role.CASEWORKER, "2018-07-31", now.isoformat())).errors is None
    # Any day but a month's last is refused to analysts, with what to ask instead.
    refused = await answer(Role.ANALYST, "2018-07-26")
    assert refused.data is None and refused.errors
    assert refused.errors[0].extensions == {"code": "OFF_CALENDAR"}
    assert "2018-06-30 or 2018-07-31" in refused.errors[0].message
    assert (await answer(Role.CASEWORKER, "2018-07-26")).errors is None


def leaves(tree: Any) -> list[int]:
    """Every count in a nested answer, in order."""
    if isinstance(tree, dict):
        return [n for value in tree.values() for n in leaves(value)]
    return [tree]


async def database_now(container: Container) -> datetime:
    moment: datetime = await container.database.pool.fetchval("SELECT clock_timestamp()")
    return moment


async def test_the_fingerprint_sql_computes_is_the_one_documented(
    container: Container, court: dict[str, Case]
) -> None:
    pool = container.database.pool
    rows = await pool.fetch(
        f"SELECT child_id, {sql.CHILD_HASH.format('child_id')} AS h FROM child_case"
    )
    assert len(rows) == 6
    assert all(r["h"] % FINGERPRINTS == child_hash(r["child_id"]) for r in rows)


async def with_second_child(case: Case, child: UUID, when: datetime) -> None:
    """Another child of the same parent, linked, separated and placed with the first."""
    await case.then(
        lambda f: f.add_member(
            Member(child, MemberRole.CHILD, PersonName("Eva"), Sex.FEMALE, age=9), when
        )
    )
    await case.then(
        lambda f: f.record_relationship(
            case.parent, child, RelationshipKind.MOTHER, Evidence.CLAIMED, when
        )
    )
    await case.then(
        lambda f: f.separate(
            case.parent, child, SAN_YSIDRO, SeparationReason.ZERO_TOLERANCE, None, False, when
        )
    )
    await case.then(lambda f: f.place_child(child, CASA_PADRE, ProgramType.SHELTER, when))


async def test_each_child_is_filed_by_its_own_parents_eligibility(container: Container) -> None:
    case, daughter = await separated(container, 6, on(5, 20)), uuid4()
    await with_second_child(case, daughter, on(5, 20))
    await case.then(
        lambda f: f.determine_eligibility(
            case.parent, case.child, EligibilityOutcome.INELIGIBLE, "record", on(7, 1)
        )
    )
    await case.then(
        lambda f: f.determine_eligibility(
            case.parent, daughter, EligibilityOutcome.ELIGIBLE, None, on(7, 2)
        )
    )
    await container.runner.catch_up()
    june = await report(container, date(2018, 6, 30))
    assert totals(june, "location_unknown") == {"5-17": 2}
    july = await report(container, date(2018, 7, 26))
    assert totals(july, "ineligible") == {"5-17": 1}
    assert totals(july, "location_unknown") == {"5-17": 1}


async def test_a_reunification_with_another_parent_is_discharge_in_other_circumstances(
    container: Container,
) -> None:
    case, father = await separated(container, 10, on(5, 20)), uuid4()
    await case.then(
        lambda f: f.add_member(
            Member(father, MemberRole.PARENT, PersonName("Beto"), Sex.MALE), on(5, 20)
        )
    )
    await case.then(
        lambda f: f.record_relationship(
            father, case.child, RelationshipKind.FATHER, Evidence.DOCUMENTS, on(6, 1)
        )
    )
    await case.then(lambda f: f.reunify(case.child, father, None, on(7, 20)))
    await container.runner.catch_up()
    rows = await report(container, date(2018, 7, 26))
    assert totals(rows, "discharged") == {"5-17": 1}
    assert totals(rows, "reunified") == {}
    assert totals(rows, "other") == {"5-17": 1}
    ctx = Context(
        container, None, None, Identity("jo", Role.COUNSEL), Loaders.create(container.database.pool)
    )
    result = await create_schema().execute(
        """{ courtReport(asOf: "2018-07-26") { discharged {
            reunifiedWithSeparatedParent { total } otherAppropriateCircumstances { total } } } }""",
        context_value=ctx,
    )
    assert result.errors is None and result.data is not None, result.errors
    assert result.data["courtReport"]["discharged"] == {
        "reunifiedWithSeparatedParent": {"total": 0},
        "otherAppropriateCircumstances": {"total": 1},
    }


async def test_a_child_never_separated_is_not_in_the_report(container: Container) -> None:
    family_id, child = uuid4(), uuid4()
    await container.commands.open_case(
        family_id, ctx(), occurred_at=on(6, 1), case_number="C-alone", source="test"
    )
    never = Case(container, family_id, child, child)
    await never.then(
        lambda f: f.add_member(
            Member(child, MemberRole.CHILD, PersonName("Solo"), Sex.MALE, age=15), on(6, 1)
        )
    )
    await never.then(lambda f: f.place_child(child, CASA_PADRE, ProgramType.SHELTER, on(6, 2)))
    await container.runner.catch_up()
    assert await report(container, date(2018, 7, 26)) == []
    situation = await container.database.pool.fetchval(
        "SELECT parent_situation FROM child_case WHERE child_id = $1", child
    )
    assert situation is None
