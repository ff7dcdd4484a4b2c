"""The read audit's insert with the access log chained (migration 0010) against without it.

What is compared
    Two throwaway databases on one server: (a) migrated up to 0009, where a read's stamp
    trigger only numbers and dates it; (b) migrated to the latest, where the trigger also
    locks the chain's head, hashes the read and moves the head, so inserts of different
    transactions chain one at a time until each commits. Each connection acts as
    reunite_app, as the server's pool does.

    Writers insert reads the way ``service.access.access_log.AccessLog`` does: one
    autocommitted ``INSERT ... SELECT FROM unnest(...)`` per batch. Cases: 1 and 4 writers
    (connections), 1 and 10 reads a statement. Each timed run inserts ``2,000 * --scale``
    statements a writer; (a) and (b) alternate in order from run to run, a CHECKPOINT
    before each; medians of ``--runs`` runs, as reads/s and the ratio (b)/(a).

Reproduce
    .venv/bin/python -m bench.access_log                     # 3 runs
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
from uuid import uuid4

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
from service.postgres.migrate import CREATE_TABLE, load_migrations
from service.postgres.migrate import RECORD as RECORD_MIGRATION

UNCHAINED = 9  # the last migration before the chain
STATEMENTS = 2_000
CASES = [(1, 1), (1, 10), (4, 1), (4, 10)]  # (writers, reads a statement)


@asynccontextmanager
async def database(up_to: int | None) -> AsyncIterator[asyncpg.Pool]:
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
            yield pool
        finally:
            await pool.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def insert_reads(pool: asyncpg.Pool, writers: int, per_statement: int, count: int) -> float:
    """Seconds for writers to insert count statements each, per_statement reads a statement."""
    columns = (
        ["bench.reader"] * per_statement,
        ["counsel"] * per_statement,
        ["query:family,timeline"] * per_statement,
        [uuid4() for _ in range(per_statement)],
    )

    async def writer() -> None:
        async with pool.acquire() as conn:
            for _ in range(count):
                await conn.execute(RECORD, *columns)

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(writers)))
    return time.perf_counter() - started


async def main() -> None:
    args = parse_args(__doc__ or "", runs=3)
    count = max(1, int(STATEMENTS * args.scale))
    # CHECKPOINT is the server's, and the owner's to ask for: reunite_app may not.
    owner = await asyncpg.connect(os.environ.get("DATABASE_URL") or DEFAULT_SERVER)
    async with database(UNCHAINED) as before, database(None) as after:
        pools = {"(a) unchained": before, "(b) chained": after}
        for pool in pools.values():
            await insert_reads(pool, 4, 10, max(1, count // 10))  # warm up
        rows = []
        for writers, per_statement in CASES:
            seconds: dict[str, list[float]] = {name: [] for name in pools}
            for run in range(args.runs):
                order = list(pools) if run % 2 == 0 else list(reversed(pools))
                for name in order:
                    await owner.execute("CHECKPOINT")
                    seconds[name].append(
                        await insert_reads(pools[name], writers, per_statement, count)
                    )
            reads = writers * per_statement * count
            rates = {name: [reads / s for s in seconds[name]] for name in pools}
            a, b = median(rates["(a) unchained"]), median(rates["(b) chained"])
            rows.append(
                [
                    f"{writers} writer(s), {per_statement} a statement",
                    f"{rate(a)} ({runs_text(rates['(a) unchained'])})",
                    f"{rate(b)} ({runs_text(rates['(b) chained'])})",
                    f"{b / a:.2f}",
                ]
            )
        print(f"{count:,} statements a writer, {args.runs} runs, medians in reads/s")
        print_table(["case", "(a) unchained", "(b) chained", "(b)/(a)"], rows)
    await owner.close()


if __name__ == "__main__":
    asyncio.run(main())
