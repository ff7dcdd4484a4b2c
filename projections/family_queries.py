"""Queries over family_summary, family_members and counsel_clients (written by the cases
projection)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from uuid import UUID

import asyncpg

GET_FAMILY = "SELECT * FROM family_summary WHERE family_id = $1"
# $4, when not null: only the families where this subject is counsel of record now; $5, when
# not null: only these families (the caller may read who represents whom there alone); $6,
# when not null: the families whose case number or a member's name holds it, or with a
# member of this A-number (dashes and spaces aside).
# Forwards: after ($1, $2), in order; backwards: before it, nearest first.
PAGE_FAMILIES = {
    backward: f"""
SELECT * FROM family_summary f
 WHERE (opened_at, family_id) {op} ($1, $2)
   AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM counsel_clients k
         WHERE k.family_id = f.family_id AND k.counsel = $4 AND k.active))
   AND ($5::uuid[] IS NULL OR f.family_id = ANY ($5))
   AND ($6::text IS NULL OR strpos(lower(f.case_number), lower($6)) > 0
        OR EXISTS (SELECT 1 FROM family_members m WHERE m.family_id = f.family_id
             AND (strpos(lower(m.name), lower($6)) > 0
                  OR regexp_replace(upper(m.a_number), '[^A0-9]', '', 'g')
                     = regexp_replace(upper($6), '[^A0-9]', '', 'g'))))
 ORDER BY opened_at {direction}, family_id {direction}
 LIMIT $3
"""
    for backward, (op, direction) in {False: (">", "ASC"), True: ("<", "DESC")}.items()
}
# Whom a counsel represents now: what its token may read follows (schema/policy.py).
CLIENTS_OF = """
SELECT family_id, person_id, consent_to_disclosure FROM counsel_clients
 WHERE counsel = $1 AND active
"""
REPRESENTATIONS_OF = """
SELECT * FROM counsel_clients WHERE family_id = ANY($1::uuid[])
 ORDER BY family_id, since NULLS FIRST, counsel, person_id
"""
MEMBERS_OF = """
SELECT * FROM family_members WHERE family_id = ANY($1::uuid[]) ORDER BY family_id, ordinal
"""


async def get_family(
    pool: asyncpg.Pool, family_id: UUID, columns: str = "*"
) -> asyncpg.Record | None:
    """One case's summary row (`columns` of family_summary: schema/read_plans.py asks for
    only what is selected)."""
    sql = GET_FAMILY if columns == "*" else GET_FAMILY.replace("SELECT *", f"SELECT {columns}", 1)
    return await pool.fetchrow(sql, family_id)


async def page_families(
    pool: asyncpg.Pool,
    after: tuple[datetime, UUID] | None,
    limit: int,
    represented_by: str | None = None,
    only: Collection[UUID] | None = None,
    backward: bool = False,
    search: str | None = None,
    columns: str = "*",
) -> list[asyncpg.Record]:
    """Cases in the order they were opened, after a keyset cursor (backward: before it,
    nearest first): those where `represented_by` is counsel of record, when given, that
    `search` finds (PAGE_FAMILIES), when given, and among `only`, when given."""
    end = (datetime.max, UUID(int=2**128 - 1)) if backward else (datetime.min, UUID(int=0))
    opened_at, family_id = after or (end[0].replace(tzinfo=UTC), end[1])
    among = list(only) if only is not None else None
    sql = PAGE_FAMILIES[backward]
    if columns != "*":  # only what a compiled plan selects (schema/read_plans.py)
        sql = sql.replace("SELECT *", f"SELECT {columns}", 1)
    return await pool.fetch(sql, opened_at, family_id, limit, represented_by, among, search)


async def clients_of(pool: asyncpg.Pool, counsel: str) -> list[asyncpg.Record]:
    """The people a counsel represents now, with their families and consent."""
    return await pool.fetch(CLIENTS_OF, counsel)


async def representations_of(pool: asyncpg.Pool, family_ids: list[UUID]) -> list[asyncpg.Record]:
    """Counsel of record of several cases, past and present, in one query."""
    return await pool.fetch(REPRESENTATIONS_OF, family_ids)


async def members_of(pool: asyncpg.Pool, family_ids: list[UUID]) -> list[asyncpg.Record]:
    """The members of several cases in one query."""
    return await pool.fetch(MEMBERS_OF, family_ids)
