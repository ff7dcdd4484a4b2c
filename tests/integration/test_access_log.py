"""The read audit's writer: every read on record before its answer, concurrent reads together."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest

from service.access import access_log
from service.access.access_log import AccessLog
from service.access.auth import Identity, Role
from service.application.container import Container
from service.eventstore.records import Connection

pytestmark = pytest.mark.integration

AUDITOR = Identity("ana.auditor", Role.AUDITOR)
COUNSEL = Identity("carlos.counsel", Role.COUNSEL)


class CountingPool:
    """The real pool, counting the statements the writer sends."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.statements = 0

    async def execute(self, query: str, *args: Any) -> str:
        self.statements += 1
        return await self.pool.execute(query, *args)


async def logged(pool: asyncpg.Pool | Connection) -> list[tuple[str, str, UUID]]:
    rows = await pool.fetch(
        "SELECT subject, operation, f FROM access_log,"
        " unnest(family_ids) WITH ORDINALITY AS u(f, n) ORDER BY id, n"
    )
    return [(r["subject"], r["operation"], r["f"]) for r in rows]


async def test_each_read_is_committed_before_its_caller_goes_on(container: Container) -> None:
    pool = container.database.pool
    family = uuid4()
    await container.access_log.record(AUDITOR, "query timeline", [family])
    # Another connection sees it at once: it was committed, not only sent.
    async with pool.acquire() as other:
        assert await logged(other) == [("ana.auditor", "query timeline", family)]


async def test_concurrent_reads_share_statements_and_none_is_lost(container: Container) -> None:
    pool = container.database.pool
    counting = CountingPool(pool)
    writer = AccessLog(counting)  # type: ignore[arg-type]
    reads = [(f"reader-{n}", [uuid4(), uuid4()]) for n in range(40)]

    await asyncio.gather(
        *(writer.record(Identity(who, Role.CASEWORKER), "query family", ids) for who, ids in reads)
    )

    # All were queued before the writer ran: one insert, after the months ahead were made
    # (once a month). One record each, naming its two families.
    assert counting.statements == 2
    assert await pool.fetchval("SELECT count(*) FROM access_log") == 40
    expected = {(who, "query family", f) for who, ids in reads for f in ids}
    assert set(await logged(pool)) == expected and len(expected) == 80


async def test_a_read_that_cannot_be_written_fails_alone(container: Container) -> None:
    pool = container.database.pool
    fine, other = uuid4(), uuid4()
    # PostgreSQL refuses a NUL byte in text: that read fails, the others in its batch do not.
    results = await asyncio.gather(
        container.access_log.record(AUDITOR, "query family", [fine]),
        container.access_log.record(Identity("bad\x00subject", Role.COUNSEL), "query", [fine]),
        container.access_log.record(COUNSEL, "query family", [other]),
        return_exceptions=True,
    )
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], asyncpg.CharacterNotInRepertoireError)
    assert await logged(pool) == [
        ("ana.auditor", "query family", fine),
        ("carlos.counsel", "query family", other),
    ]
    await container.access_log.record(AUDITOR, "query child", [other])
    assert len(await logged(pool)) == 3


async def test_the_log_pages_newest_first_by_family_and_by_reader(container: Container) -> None:
    pool = container.database.pool
    one, two = UUID(int=1), UUID(int=2)
    await container.access_log.record(AUDITOR, "query family", [one, two])
    await container.access_log.record(COUNSEL, "query family", [one])
    await container.access_log.record(AUDITOR, "query timeline", [one])

    newest = await access_log.page(pool, None, None, 2**63 - 1, 10)
    # One record per answer, naming every family it read.
    assert [(r["subject"], r["family_ids"]) for r in newest] == [
        ("ana.auditor", [one]),
        ("carlos.counsel", [one]),
        ("ana.auditor", [one, two]),
    ]
    by_family = await access_log.page(pool, two, None, 2**63 - 1, 10)
    assert [r["family_ids"] for r in by_family] == [[one, two]]
    by_both = await access_log.page(pool, one, "ana.auditor", 2**63 - 1, 10)
    assert [r["operation"] for r in by_both] == ["query timeline", "query family"]
    after_first = await access_log.page(pool, one, "ana.auditor", by_both[0]["id"], 10)
    assert [r["operation"] for r in after_first] == ["query family"]
