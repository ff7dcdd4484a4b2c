"""Cost limits, as a caller flooding a production-mode server meets them over HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from asyncpg.pool import PoolConnectionProxy

from service.access.auth import Role
from service.postgres.database import Database
from service.settings import Settings
from tests.scenarios.graphql import SEPARATE, WHEN, Client, ok, open_family, token

pytestmark = pytest.mark.e2e

# A month's last day: analysts are asked too, and have figures for no other (OFF_CALENDAR).
REPORT = """query($knownAt: DateTime) { courtReport(asOf: "2018-07-31", knownAt: $knownAt) {
  children { total under5 } discharged { total { total } } inCare { total { total } } } }"""


CAUGHT_UP = "query($pos: Int) { children(first: 1, minPosition: $pos) { totalCount } }"


def client(http: httpx.AsyncClient, settings: Settings, role: Role, sub: str) -> Client:
    return Client(http, token(settings, role, sub))


def moment(seconds: float = 0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def next_month() -> str:
    """The start of next month, UTC: a moment analysts may ask for as knownAt."""
    ahead = datetime.now(UTC).replace(day=28) + timedelta(days=4)
    return f"{ahead:%Y-%m}-01T00:00:00Z"


async def separated_child(caseworker: Client) -> None:
    """A child separated from its mother, in the read models by the time this returns."""
    fid, mother, son, _ = await open_family(caseworker)
    separation = {
        "familyId": fid,
        "parentId": mother,
        "childId": son,
        "reason": "ZERO_TOLERANCE",
        "place": {"kind": "PORT_OF_ENTRY", "name": "San Ysidro"},
        "occurredAt": WHEN,
    }
    done = await ok(caseworker, SEPARATE, input=separation, v=4)
    await caseworker.run(CAUGHT_UP, pos=done["position"])  # the projections are idle again


@asynccontextmanager
async def log_locked(database: Database) -> AsyncIterator[PoolConnectionProxy[asyncpg.Record]]:
    """Nobody reads the event log until the block ends."""
    async with database.pool.acquire() as conn, conn.transaction():
        await conn.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
        yield conn


async def blocked_on_the_lock(conn: PoolConnectionProxy[asyncpg.Record], count: int) -> None:
    """Wait until `count` sessions wait for the log, and the requests among them arrived."""
    for _ in range(200):
        waiting = await conn.fetchval(
            "SELECT count(*) FROM pg_locks WHERE relation = 'events'::regclass AND NOT granted"
        )
        if waiting >= count:
            await asyncio.sleep(0.5)  # the projections' readers may be among them
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {count} sessions wait for the log")


def only_error(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("data") is None, body
    [error] = body["errors"]
    return error  # type: ignore[no-any-return]


async def test_fifteen_reports_as_known_at_a_time_are_refused_by_their_cost(
    http: httpx.AsyncClient, server_settings: Settings
) -> None:
    caseworker = client(http, server_settings, Role.CASEWORKER, "cost.caseworker")
    aliases = " ".join(
        f'r{n}: courtReport(asOf: "2018-07-26", knownAt: "2018-08-{n + 1:02d}T00:00:00Z")'
        " { children { total } }"
        for n in range(15)
    )
    started = time.perf_counter()
    response = await caseworker.post(f"{{ {aliases} }}")
    error = only_error(response.json())
    assert time.perf_counter() - started < 2  # refused before any replay ran
    assert error["extensions"]["code"] == "TOO_COSTLY"
    cost, budget = error["extensions"]["cost"], error["extensions"]["budget"]
    assert cost > budget == 3000
    assert f"costs {cost}" in error["message"] and f"budget of {budget}" in error["message"]


async def test_an_analyst_gets_one_report_as_known_at_a_time_per_request_not_two(
    http: httpx.AsyncClient, server_settings: Settings
) -> None:
    analyst = client(http, server_settings, Role.ANALYST, "cost.analyst")
    one = await analyst.run(REPORT, knownAt="2018-08-01T00:00:00Z")
    assert one["courtReport"]["children"] is not None
    two = await analyst.post(
        """{ a: courtReport(asOf: "2018-06-30", knownAt: "2018-08-01T00:00:00Z") { asOf }
             b: courtReport(asOf: "2018-07-31", knownAt: "2018-08-01T00:00:00Z") { asOf } }"""
    )
    assert only_error(two.json())["extensions"]["code"] == "TOO_COSTLY"


async def test_a_fifth_concurrent_expensive_request_of_one_subject_is_rate_limited(
    http: httpx.AsyncClient, server_settings: Settings, database: Database
) -> None:
    analyst = client(http, server_settings, Role.ANALYST, "busy.analyst")
    other = client(http, server_settings, Role.ANALYST, "other.analyst")
    async with log_locked(database) as lock:
        # Reports past the horizon, so none is kept and each holds a replay slot: as known
        # at the start of next month (analysts may ask for no other moment than a month's).
        ahead = next_month()
        running = [asyncio.create_task(analyst.post(REPORT, knownAt=ahead)) for _ in range(4)]
        await blocked_on_the_lock(lock, 1)  # one replay runs at a time, the others queue
        fifth = await analyst.post(REPORT, knownAt=ahead)
        error = only_error(fifth.json())
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert error["extensions"]["retryAfter"] >= 1
        assert int(fifth.headers["Retry-After"]) == error["extensions"]["retryAfter"]
        another_subject = asyncio.create_task(other.post(REPORT, knownAt=ahead))
        await asyncio.sleep(0.5)
        assert not another_subject.done()  # admitted, waiting for the log: the limit is per subject
    for answer in [*await asyncio.gather(*running), await another_subject]:
        assert "errors" not in answer.json(), answer.json()
    assert "errors" not in (await analyst.post(REPORT, knownAt=ahead)).json()


async def test_a_sealed_report_answers_identically_and_without_reading_the_log_again(
    http: httpx.AsyncClient, server_settings: Settings, database: Database
) -> None:
    caseworker = client(http, server_settings, Role.CASEWORKER, "court.caseworker")
    await separated_child(caseworker)
    known_at = moment()
    await asyncio.sleep(0.05)  # the moment is behind us, and the writes committed
    first = await caseworker.run(REPORT, knownAt=known_at)
    assert first["courtReport"]["children"]["total"] >= 1
    async with log_locked(database):
        started = time.perf_counter()
        again = await caseworker.run(REPORT, knownAt=known_at)
        assert time.perf_counter() - started < 0.5
    assert again == first


async def test_a_report_known_at_a_moment_past_the_horizon_is_not_kept(
    http: httpx.AsyncClient, server_settings: Settings
) -> None:
    caseworker = client(http, server_settings, Role.CASEWORKER, "late.caseworker")
    known_at = moment(3600)  # an hour ahead: events recorded until then still count
    before = (await caseworker.run(REPORT, knownAt=known_at))["courtReport"]
    await separated_child(caseworker)
    after = (await caseworker.run(REPORT, knownAt=known_at))["courtReport"]
    assert after["children"]["total"] == before["children"]["total"] + 1
