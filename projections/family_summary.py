"""Read model: one row per family case and one per member, with each child's status."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from projections.projection import Envelope
from service.store import Connection

DDL = """
CREATE TABLE IF NOT EXISTS family_summary (
    family_id      uuid PRIMARY KEY,
    case_number    text NOT NULL,
    status         text NOT NULL,
    opened_at      timestamptz NOT NULL,
    members        integer NOT NULL,
    children       integer NOT NULL,
    separated      integer NOT NULL,
    version        integer NOT NULL,
    last_position  bigint NOT NULL,
    updated_at     timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS family_members (
    family_id      uuid NOT NULL,
    person_id      uuid PRIMARY KEY,
    role           text NOT NULL,
    name           text,
    sex            text NOT NULL,
    birth_date     date,
    age            integer,
    country        text,
    a_number       text,
    status         text,
    facility_id    text,
    facility_name  text,
    separated_at   timestamptz,
    reunified_at   timestamptz,
    reunified_with uuid,
    ordinal        integer NOT NULL
);
CREATE INDEX IF NOT EXISTS family_members_family_idx ON family_members (family_id, ordinal);
"""

LOAD_SUMMARIES = "SELECT * FROM family_summary WHERE family_id = ANY($1::uuid[])"
LOAD_MEMBERS = "SELECT * FROM family_members WHERE family_id = ANY($1::uuid[])"

SUMMARY_COLUMNS = (
    "family_id",
    "case_number",
    "status",
    "opened_at",
    "members",
    "children",
    "separated",
    "version",
    "last_position",
    "updated_at",
)
MEMBER_COLUMNS = (
    "family_id",
    "person_id",
    "role",
    "name",
    "sex",
    "birth_date",
    "age",
    "country",
    "a_number",
    "status",
    "facility_id",
    "facility_name",
    "separated_at",
    "reunified_at",
    "reunified_with",
    "ordinal",
)


def _upsert(table: str, columns: tuple[str, ...], key: str) -> str:
    values = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != key)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values}) "
        f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
    )


UPSERT_SUMMARY = _upsert("family_summary", SUMMARY_COLUMNS, "family_id")
UPSERT_MEMBER = _upsert("family_members", MEMBER_COLUMNS, "person_id")

ACTIVE = {"separated", "in_care"}
DONE = {"reunified", "discharged"}

Row = dict[str, Any]


def case_status(members: Sequence[Row]) -> str:
    """Open, separated or reunified, from the children's statuses."""
    statuses = [m["status"] for m in members if m["role"] == "child" and m["status"]]
    touched = [s for s in statuses if s != "with_family"]
    if any(s in ACTIVE for s in touched):
        return "separated"
    return "reunified" if touched else "open"


class FamilySummaryProjection:
    """Folds family events into family_summary and family_members."""

    name = "family_summary"
    tables: tuple[str, ...] = ("family_summary", "family_members")
    ddl = DDL

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        ids = list({e.recorded.stream_id for e in batch})
        summaries = {r["family_id"]: dict(r) for r in await conn.fetch(LOAD_SUMMARIES, ids)}
        members: dict[UUID, Row] = {
            r["person_id"]: dict(r) for r in await conn.fetch(LOAD_MEMBERS, ids)
        }
        for envelope in batch:
            self._fold(envelope, summaries, members)
        for summary in summaries.values():
            own = [m for m in members.values() if m["family_id"] == summary["family_id"]]
            summary["members"] = len(own)
            summary["children"] = sum(m["role"] == "child" for m in own)
            summary["separated"] = sum(m["status"] in ACTIVE for m in own)
            summary["status"] = case_status(own)
        await conn.executemany(
            UPSERT_SUMMARY, [tuple(s[c] for c in SUMMARY_COLUMNS) for s in summaries.values()]
        )
        await conn.executemany(
            UPSERT_MEMBER, [tuple(m[c] for c in MEMBER_COLUMNS) for m in members.values()]
        )

    def _fold(
        self, envelope: Envelope, summaries: dict[UUID, Row], members: dict[UUID, Row]
    ) -> None:
        recorded, e, kind = envelope.recorded, envelope.event, envelope.kind
        if kind == "CaseOpened":
            summaries[recorded.stream_id] = {
                "family_id": recorded.stream_id,
                "case_number": e.case_number,
                "status": "open",
                "opened_at": e.occurred_at,
            }
        elif kind == "MemberAdded":
            members[e.person_id] = {
                "family_id": recorded.stream_id,
                "person_id": e.person_id,
                "role": e.role.value,
                "name": e.name.value if e.name else None,
                "sex": e.sex.value,
                "birth_date": e.birth_date,
                "age": e.age,
                "country": e.country.code if e.country else None,
                "a_number": e.a_number.value if e.a_number else None,
                "status": "with_family" if e.role.value == "child" else None,
                "facility_id": None,
                "facility_name": None,
                "separated_at": None,
                "reunified_at": None,
                "reunified_with": None,
                "ordinal": recorded.version,
            }
        elif kind == "Separated":
            child = members[e.child_id]
            if child["status"] == "with_family":
                child["status"] = "separated"
            child["separated_at"] = child["separated_at"] or e.occurred_at
        elif kind == "ChildPlaced":
            members[e.child_id].update(
                status="in_care", facility_id=e.facility.id, facility_name=e.facility.name
            )
        elif kind == "Reunified":
            members[e.child_id].update(
                status="reunified",
                facility_id=None,
                facility_name=None,
                reunified_at=e.occurred_at,
                reunified_with=e.parent_id,
            )
        summary = summaries[recorded.stream_id]
        summary.update(
            version=recorded.version,
            last_position=recorded.position,
            updated_at=recorded.recorded_at,
        )


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
