"""Queries over family_summary and family_members (written by the cases projection)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import asyncpg

GET_FAMILY = "SELECT * FROM family_summary WHERE family_id = $1"
PAGE_FAMILIES = """
SELECT * FROM family_summary
 WHERE (opened_at, family_id) > ($1, $2)
 ORDER BY opened_at, family_id
 LIMIT $3
"""
MEMBERS_OF = """
SELECT * FROM family_members WHERE family_id = ANY($1::uuid[]) ORDER BY family_id, ordinal
"""


async def get_family(pool: asyncpg.Pool, family_id: UUID) -> asyncpg.Record | None:
    """One case's summary row."""
    return await pool.fetchrow(GET_FAMILY, family_id)


async def page_families(
    pool: asyncpg.Pool, after: tuple[datetime, UUID] | None, limit: int
) -> list[asyncpg.Record]:
    """Cases in the order they were opened, after a keyset cursor."""
    opened_at, family_id = after or (datetime.min.replace(tzinfo=UTC), UUID(int=0))
    return await pool.fetch(PAGE_FAMILIES, opened_at, family_id, limit)


async def members_of(pool: asyncpg.Pool, family_ids: list[UUID]) -> list[asyncpg.Record]:
    """The members of several cases in one query."""
    return await pool.fetch(MEMBERS_OF, family_ids)
