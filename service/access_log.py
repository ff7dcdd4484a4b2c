"""The read audit: who read which family's personal data, when, and how."""

from __future__ import annotations

from collections.abc import Collection
from uuid import UUID

import asyncpg

from service.auth import Identity

RECORD = """
INSERT INTO access_log (subject, role, operation, family_id)
SELECT $1, $2, $3, unnest($4::uuid[])
"""
PAGE = """
SELECT id, read_at, subject, role, operation, family_id FROM access_log
 WHERE ($1::uuid IS NULL OR family_id = $1) AND ($2::text IS NULL OR subject = $2)
   AND id < $3
 ORDER BY id DESC LIMIT $4
"""


async def record_reads(
    pool: asyncpg.Pool, reader: Identity, operation: str, family_ids: Collection[UUID]
) -> None:
    """Append one row per family read."""
    if family_ids:
        await pool.execute(RECORD, reader.subject, reader.role.value, operation, sorted(family_ids))


async def page(
    pool: asyncpg.Pool, family_id: UUID | None, subject: str | None, before: int, limit: int
) -> list[asyncpg.Record]:
    """Newest first, optionally for one family or one reader."""
    return await pool.fetch(PAGE, family_id, subject, before, limit)
