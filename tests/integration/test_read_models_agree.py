"""Property: for any valid history, the aggregate, a replay from the store and the read
models tell the same story."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from domain.family import Family
from domain.paths import ParentPath
from domain.values import EligibilityOutcome
from service.application.container import Container
from tests.scenarios.database import reset
from tests.scenarios.family import CASEWORKER
from tests.scenarios.histories import family_histories

pytestmark = pytest.mark.integration

AGREE = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


async def record(container: Container, family: Family) -> None:
    """Append the whole history as one command, as an import would."""
    events = await container.store.encode_all(family.collect_events())
    await container.store.append(family.id, 0, events, CASEWORKER)


def expected_children(family: Family) -> dict[Any, dict[str, Any]]:
    return {
        child_id: {
            "status": path.status.value,
            "facility_id": path.facility.id if path.facility else None,
            "reunified_with": path.reunified_with,
            "linked": {p for p, c in family.links if c == child_id},
            "separated": bool(path.separated_from),
        }
        for child_id, path in family.children.items()
    }


def child_view(row: Any) -> dict[str, Any]:
    return {
        **{k: row[k] for k in ("status", "facility_id", "reunified_with")},
        "linked": set(row["parent_ids"]),
        "separated": row["parent_situation"] is not None,
    }


def eligibility(path: ParentPath) -> str | None:
    """The parent's summary: ineligible for any child, else eligible once determined."""
    outcomes = {e.outcome for e in path.eligibility.values()}
    if EligibilityOutcome.INELIGIBLE in outcomes:
        return "ineligible"
    return "eligible" if outcomes else None


def expected_adults(family: Family) -> dict[Any, dict[str, Any]]:
    return {
        adult_id: {
            "times_removed": path.removals,
            "location_attempts": path.location_attempts,
            "custody": path.custody.value if path.custody else None,
            "removal_election": (path.removal_election.value if path.removal_election else None),
            "preference": path.preference.value if path.preference else None,
            "eligibility": eligibility(path),
            "red_flagged": any(e.red_flag for e in path.eligibility.values()),
        }
        for adult_id, path in family.parents.items()
    }


def adult_view(row: Any) -> dict[str, Any]:
    keys = ("times_removed", "location_attempts", "custody", "removal_election", "preference")
    return {
        **{k: row[k] for k in keys},
        "eligibility": row["eligibility"],
        "red_flagged": row["red_flag"] is not None,
    }


@AGREE
@given(family=family_histories())
async def test_aggregate_replay_and_read_models_agree(container: Container, family: Family) -> None:
    await reset(container.database.pool)
    await container.runner.setup()
    await record(container, family)
    await container.runner.catch_up()
    pool = container.database.pool

    replayed = await container.commands.load(family.id)
    assert vars(replayed) == vars(family)

    summary = await pool.fetchrow("SELECT * FROM family_summary WHERE family_id = $1", family.id)
    assert summary is not None
    assert (summary["status"], summary["version"]) == (family.status.value, family.version)

    children = {r["child_id"]: child_view(r) for r in await pool.fetch("SELECT * FROM child_case")}
    assert children == expected_children(family)
    adults = {r["parent_id"]: adult_view(r) for r in await pool.fetch("SELECT * FROM parent_case")}
    assert adults == expected_adults(family)
    timeline = await pool.fetchval("SELECT count(*) FROM timeline")
    assert timeline == family.version
    # Counsel of record, whom a counsel token's reach follows.
    standing = await pool.fetch("SELECT * FROM counsel_clients WHERE active")
    assert {(r["counsel"], r["person_id"]): r["consent_to_disclosure"] for r in standing} == {
        key: found.consent_to_disclosure for key, found in family.representations.items()
    }
