"""The read audit's layouts, on the same load: (a) migration 0010's, a chained row per family
read, against (b) migration 0011's, a chained record per answer naming every family it read,
in monthly partitions with a GIN index on the families (issue #23, ADR 0015).

What is compared
    Two throwaway databases on one server, one migrated up to 0010 (a), one to the latest
    (b); each writer connection acts as reunite_app, as the server's pool does.

    Storage: ``2,000 * --scale`` answers, each reading the same page of 100 children (the
    issue's load) or 100 families no other answer read (the GIN index's worst case), one
    autocommitted INSERT an answer as ``AccessLog`` sends it; then VACUUM, and the bytes of
    the table, its partitions, TOAST and indexes divided by the family reads (answers x 100).

    Insert rate: 1 and 4 writers, answers of 1 and 100 families, ``2,000 * --scale``
    answers a writer, family reads a second. (a) and (b) alternate in order from run to
    run, a CHECKPOINT before each; medians of ``--runs`` runs, and the ratio (b)/(a).

Reproduce
    .venv/bin/python -m bench.access_log --runs 3
    .venv/bin/python -m bench.access_log --scale 0.25 --runs 1   # quick

    The databases ``reunite_bench_<random>`` are created on DATABASE_URL's server
    (else postgresql://postgres@127.0.0.1:5432/postgres) and dropped at the end.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from uuid import UUID, uuid4

import asyncpg

from bench.common import (
    DEFAULT_SERVER,
    median,
    parse_args,
    print_table,
    rate,
    runs_text,
    with_database,
)
from service.access.access_log import RECORD
from service.eventstore.records import Connection
from service.postgres.migrate import CREATE_TABLE, load_migrations
from service.postgres.migrate import RECORD as RECORD_MIGRATION

ROW_PER_FAMILY = 10  # the last migration with a row per family read
# As service.access.access_log.AccessLog wrote reads before migration 0011.
RECORD_0010 = """
INSERT INTO access_log (subject, role, operation, family_id)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::uuid[])
"""
ANSWERS = 2_000
PAGE = 100  # families an answer reads, in the storage cases
CASES = [(1, 1), (1, 100), (4, 100)]  # (writers, families an answer reads)
LAYOUTS = {"(a) row per family (0010)": ROW_PER_FAMILY, "(b) record per answer (0011)": None}
SIZE = """
SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)
  FROM pg_class c
 WHERE c.oid = 'access_log'::regclass
    OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'access_log'::regclass)
"""


@dataclass
class Layout:
    """A throwaway database with one layout: the app role's pool and the owner's URL."""

    pool: asyncpg.Pool
    url: str
    per_family: bool  # (a): a row per family read

    async def answer(self, conn: Connection, families: list[UUID]) -> None:
        """One answer's reads, as the server's writer of that layout sends them."""
        n = len(families)
        if self.per_family:
            who = (["bench.reader"] * n, ["counsel"] * n, ["query:children"] * n)
            await conn.execute(RECORD_0010, *who, families)
        else:
            who = (["bench.reader"], ["counsel"], ["query:children"])
            await conn.execute(RECORD, *who, families, [1], [n])

    async def empty(self) -> None:
        """Empty the log (the owner, guards off), so each run measures its own rows."""
        owner = await asyncpg.connect(self.url)
        try:
            await owner.execute("SET session_replication_role = replica")
            await owner.execute("TRUNCATE access_log")
        finally:
            await owner.close()

    async def size(self) -> int:
        """Bytes of the access log after VACUUM: heap, TOAST and indexes, every partition."""
        owner = await asyncpg.connect(self.url)
        try:
            await owner.execute("VACUUM access_log")
            return int(await owner.fetchval(SIZE))
        finally:
            await owner.close()


@asynccontextmanager
async def database(up_to: int | None) -> AsyncIterator[Layout]:
    """A throwaway database migrated up to a version (None: all), its pool as reunite_app."""
    server = os.environ.get("DATABASE_URL") or DEFAULT_SERVER
    name = f"reunite_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = with_database(server, name)
    try:
        conn = await asyncpg.connect(url)
        try:
            async with conn.transaction():
                await conn.execute(CREATE_TABLE)
                for m in load_migrations():
                    if up_to is None or m.version <= up_to:
                        await conn.execute(m.sql)
                        await conn.execute(RECORD_MIGRATION, m.version, m.name, m.checksum)
        finally:
            await conn.close()
        pool = await asyncpg.create_pool(
            url, min_size=4, max_size=4, server_settings={"role": "reunite_app"}
        )
        try:
            yield Layout(pool, url, up_to is not None)
        finally:
            await pool.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def insert_answers(layout: Layout, writers: int, families: int, count: int) -> float:
    """Seconds for writers to insert count answers each, each reading families families."""
    page = [uuid4() for _ in range(families)]

    async def writer() -> None:
        async with layout.pool.acquire() as conn:
            for _ in range(count):
                await layout.answer(conn, page)

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(writers)))
    return time.perf_counter() - started


async def bytes_per_family_read(layout: Layout, count: int, same_page: bool) -> float:
    """Storage per family read after count answers of PAGE families (one writer)."""
    await layout.empty()
    page = [uuid4() for _ in range(PAGE)]
    async with layout.pool.acquire() as conn:
        for _ in range(count):
            await layout.answer(conn, page if same_page else [uuid4() for _ in range(PAGE)])
    return await layout.size() / (count * PAGE)


async def main() -> None:
    args = parse_args(__doc__ or "", runs=3)
    count = max(1, int(ANSWERS * args.scale))
    # CHECKPOINT is the server's, and the owner's to ask for: reunite_app may not.
    owner = await asyncpg.connect(os.environ.get("DATABASE_URL") or DEFAULT_SERVER)
    async with database(ROW_PER_FAMILY) as before, database(None) as after:
        await after.pool.execute("SELECT reunite_access_log_months(2)")
        layouts = dict(zip(LAYOUTS, (before, after), strict=True))
        a_name, b_name = LAYOUTS
        for layout in layouts.values():
            await insert_answers(layout, 4, 10, max(1, count // 10))  # warm up

        storage = []
        for same_page, label in ((True, "the same page of 100"), (False, "100 new families")):
            sizes: dict[str, list[float]] = {name: [] for name in layouts}
            for run in range(args.runs):
                order = list(layouts) if run % 2 == 0 else list(reversed(layouts))
                for name in order:
                    sizes[name].append(await bytes_per_family_read(layouts[name], count, same_page))
            a, b = median(sizes[a_name]), median(sizes[b_name])
            storage.append(
                [
                    f"{count:,} answers reading {label}",
                    f"{a:.1f} ({' '.join(f'{v:.1f}' for v in sizes[a_name])})",
                    f"{b:.1f} ({' '.join(f'{v:.1f}' for v in sizes[b_name])})",
                    f"{b / a:.2f}",
                ]
            )
        print(f"Storage: bytes a family read after VACUUM, {args.runs} runs, medians")
        print_table(["case", a_name, b_name, "(b)/(a)"], storage)

        rows = []
        for writers, families in CASES:
            seconds: dict[str, list[float]] = {name: [] for name in layouts}
            for run in range(args.runs):
                order = list(layouts) if run % 2 == 0 else list(reversed(layouts))
                for name in order:
                    await layouts[name].empty()
                    await owner.execute("CHECKPOINT")
                    seconds[name].append(
                        await insert_answers(layouts[name], writers, families, count)
                    )
            reads = writers * families * count
            rates = {name: [reads / s for s in seconds[name]] for name in layouts}
            a, b = median(rates[a_name]), median(rates[b_name])
            rows.append(
                [
                    f"{writers} writer(s), {families} families an answer",
                    f"{rate(a)} ({runs_text(rates[a_name])})",
                    f"{rate(b)} ({runs_text(rates[b_name])})",
                    f"{b / a:.2f}",
                ]
            )
        print()
        print(f"Insert rate: {count:,} answers a writer, {args.runs} runs, family reads/s, medians")
        print_table(["case", a_name, b_name, "(b)/(a)"], rows)
    await owner.close()


if __name__ == "__main__":
    asyncio.run(main())
