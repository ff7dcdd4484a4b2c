"""GraphQL object types, each mapped from a read-model row."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

import strawberry

from schema.context import Info
from schema.read_types import STALE, family_is_stale

N = TypeVar("N")


@strawberry.type
class PageInfo:
    """Where a keyset page ends."""

    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[N]):
    """A node and the cursor after it."""

    node: N
    cursor: str


@strawberry.type
class Connection(Generic[N]):
    """A Relay-style page."""

    edges: list[Edge[N]]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]] | None] = None

    @strawberry.field(
        description="How many match in all, whatever the page (one more query, run only "
        "when asked); null where this list is not counted."
    )
    async def total_count(self) -> int | None:
        return await self.count() if self.count is not None else None


def encode_cursor(*parts: Any) -> str:
    """An opaque cursor from the keyset values of a row."""
    text = "|".join(p.isoformat() if isinstance(p, datetime) else str(p) for p in parts)
    return base64.urlsafe_b64encode(text.encode()).decode()


def decode_cursor(cursor: str) -> list[str]:
    """The keyset values inside a cursor; ValueError when it was not ours."""
    try:
        return base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"invalid cursor {cursor!r}") from e


def connection(
    nodes: list[N],
    cursors: list[str],
    has_next: bool,
    count: Callable[[], Awaitable[int]] | None = None,
) -> Connection[N]:
    """Assemble a page; `count` answers totalCount."""
    edges = [Edge(node=n, cursor=c) for n, c in zip(nodes, cursors, strict=True)]
    return Connection(
        edges=edges,
        page_info=PageInfo(has_next_page=has_next, end_cursor=cursors[-1] if cursors else None),
        count=count,
    )


@strawberry.type
class Member:
    """A person in a case, with the child's current status where it applies."""

    person_id: UUID
    role: str
    name: str | None
    sex: str
    birth_date: date | None
    age: int | None
    country: str | None
    a_number: str | None
    status: str | None
    facility_id: str | None
    facility_name: str | None
    separated_at: date | None
    reunified_at: date | None
    reunified_with: UUID | None

    @classmethod
    def from_row(cls, row: Any) -> Member:
        return cls(**{f: row[f] for f in MEMBER_FIELDS})


MEMBER_FIELDS = tuple(Member.__annotations__)


@strawberry.type
class DataQualityFlag:
    """A rule a recorded entry broke; the entry was kept."""

    version: int
    rule: str
    detail: str


@strawberry.type
class Family:
    """A family case as the read model knows it."""

    family_id: UUID
    case_number: str
    status: str
    opened_at: datetime | None
    version: int
    last_position: int
    updated_at: datetime

    @strawberry.field(description="The case's members, parents first as recorded.")
    async def members(self, info: Info) -> list[Member]:
        rows = await info.context.loaders.members.load(self.family_id)
        return [Member.from_row(r) for r in rows]

    @strawberry.field(description="Data-quality rules the case's entries broke; kept, flagged.")
    async def data_quality_flags(self, info: Info) -> list[DataQualityFlag]:
        rows = await info.context.loaders.flags.load(self.family_id)
        return [
            DataQualityFlag(version=r["version"], rule=r["rule"], detail=r["detail"]) for r in rows
        ]

    @strawberry.field(description=STALE)
    async def stale(self, info: Info) -> bool:
        return await family_is_stale(info, self.family_id)

    @strawberry.field(description="When the case's read models first stopped at an event.")
    async def parked_since(self, info: Info) -> datetime | None:
        rows = await info.context.loaders.parked.load(self.family_id)
        return rows[0]["since"] if rows else None

    @strawberry.field(description="The read models that stopped at an event of the case.")
    async def stale_read_models(self, info: Info) -> list[str]:
        rows = await info.context.loaders.parked.load(self.family_id)
        return sorted(rows[0]["models"]) if rows else []

    @classmethod
    def from_row(cls, row: Any) -> Family:
        return cls(
            family_id=row["family_id"],
            case_number=row["case_number"],
            status=row["status"],
            opened_at=row["opened_at"],
            version=row["version"],
            last_position=row["last_position"],
            updated_at=row["updated_at"],
        )


@strawberry.type
class TimelineEntry:
    """One event of a family's history, in words, with who recorded it and why."""

    position: int
    version: int
    event_type: str
    summary: str
    occurred_at: datetime | None
    recorded_at: datetime
    actor: str
    role: str
    source: str
    reason: str | None
    correlation_id: UUID | None
    causation_id: UUID | None
    amends: int | None = strawberry.field(
        description="For a correction or retraction: the version of the entry it amends."
    )
    amended_by: list[int] = strawberry.field(
        description="Versions of later corrections or retractions of this entry."
    )

    @classmethod
    def from_row(cls, row: Any) -> TimelineEntry:
        values: dict[str, Any] = {f: row[f] for f in TIMELINE_FIELDS}
        values["amended_by"] = list(row["amended_by"])
        return cls(**values)


TIMELINE_FIELDS = tuple(TimelineEntry.__annotations__)


@strawberry.type
class ProjectionState:
    """A read model's checkpoint, how far it is behind the log, and what it parked."""

    name: str
    position: int
    events_applied: int
    lag: int
    parked_events: int = strawberry.field(
        description="Events set aside: each one it could not apply, and its family's after it."
    )
    parked_streams: int = strawberry.field(description="Families it stopped at.")
    last_failure: str | None = strawberry.field(
        description="Why it last parked an event (`reunite projections parked` lists all)."
    )
    last_failure_at: datetime | None
    failing: str | None = strawberry.field(
        description="Why its batches fail now in this process (the database is down, say)."
    )
