"""GraphQL object types, each mapped from a read-model row."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

import strawberry

from domain.values import RepresentationBasis
from schema.context import Info
from schema.node import Node
from schema.policy import Fact, Scope, Use
from schema.read_types import STALE, family_is_stale
from schema.scoping import require, scope_of, shown

N = TypeVar("N")


# Whether rows lie beyond one end of a page: known from the page's own query, or asked
# (one more query, run only when the field is selected).
Beyond = bool | Callable[[], Awaitable[bool]]


@strawberry.type(
    description="Where a keyset page starts and ends, and whether rows lie beyond each end "
    "(Relay's cursor connections)."
)
class PageInfo:
    """Where a keyset page starts and ends, and whether rows lie beyond each end."""

    start_cursor: str | None = strawberry.field(
        description="The first edge's cursor: pass it as `before` (with `last`) for the "
        "page before."
    )
    end_cursor: str | None = strawberry.field(
        description="The last edge's cursor: pass it as `after` (with `first`) for the page after."
    )
    next: strawberry.Private[Beyond] = False
    previous: strawberry.Private[Beyond] = False

    @strawberry.field(
        description="Whether rows follow this page: more than `first` after `after`, or, "
        "paging backwards, any row after `before`."
    )
    async def has_next_page(self) -> bool:
        return self.next if isinstance(self.next, bool) else await self.next()

    @strawberry.field(
        description="Whether rows precede this page: more than `last` before `before`, or, "
        "paging forwards, any row before `after`."
    )
    async def has_previous_page(self) -> bool:
        return self.previous if isinstance(self.previous, bool) else await self.previous()


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
    has_next: Beyond,
    count: Callable[[], Awaitable[int]] | None = None,
    has_previous: Beyond = False,
) -> Connection[N]:
    """Assemble a page, its nodes and cursors in the list's order; `count` answers
    totalCount."""
    edges = [Edge(node=n, cursor=c) for n, c in zip(nodes, cursors, strict=True)]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
            next=has_next,
            previous=has_previous,
        ),
        count=count,
    )


@strawberry.type
class Member(Node):
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
    personal_data_erased: bool = strawberry.field(
        description="The person's personal data was erased by order: their name, birth date "
        "and A-number are null because they no longer exist anywhere, not because unknown."
    )
    family_id: strawberry.Private[UUID]

    def node_key(self) -> tuple[Any, ...]:
        return (self.family_id, self.person_id)

    @classmethod
    def from_row(cls, row: Any, scope: Scope) -> Member:
        """The member as this caller may see them (schema/policy.py)."""
        values = {f: row[f] for f in MEMBER_FIELDS}
        return cls(**shown(cls, values, scope, row["family_id"], row["person_id"]))


MEMBER_FIELDS = tuple(Member.__annotations__)


@strawberry.type
class Representation:
    """A lawyer's time as counsel of record for a member of the case."""

    family_id: UUID
    person_id: UUID
    counsel: str = strawberry.field(description="The lawyer, as their token's subject says.")
    basis: RepresentationBasis
    reference: str | None
    consent_to_disclosure: bool = strawberry.field(
        description="Whether the person consented to disclosure of their asylum facts "
        "(8 CFR 208.6) to this counsel: counsel reads them only then."
    )
    since: date | None
    ended_at: date | None
    active: bool

    @classmethod
    def from_row(cls, row: Any, scope: Scope) -> Representation:
        """Who represents whom, refused to a caller who may not read it (schema/policy.py)."""
        require(scope, Fact.IDENTITY, Use.READ, row["family_id"])
        values = {name: row[name] for name in cls.__annotations__}
        values["basis"] = RepresentationBasis(row["basis"])
        return cls(**values)


@strawberry.type
class DataQualityFlag:
    """A rule a recorded entry broke; the entry was kept."""

    version: int
    rule: str
    detail: str


@strawberry.type
class Family(Node):
    """A family case as the read model knows it."""

    family_id: UUID
    case_number: str
    status: str
    opened_at: datetime | None
    version: int
    last_position: int
    updated_at: datetime

    def node_key(self) -> tuple[Any, ...]:
        return (self.family_id,)

    @strawberry.field(description="The case's members, parents first as recorded.")
    async def members(self, info: Info) -> list[Member]:
        rows = await info.context.loaders.members.load(self.family_id)
        scope = scope_of(info)
        return [Member.from_row(r, scope) for r in rows]

    @strawberry.field(
        description="Data-quality rules the case's entries broke; kept, flagged. A flag about "
        "an asylum record only for a caller who may read that person's asylum facts."
    )
    async def data_quality_flags(self, info: Info) -> list[DataQualityFlag]:
        rows = await info.context.loaders.flags.load(self.family_id)
        scope = scope_of(info)
        return [
            DataQualityFlag(version=r["version"], rule=r["rule"], detail=r["detail"])
            for r in rows
            if r["asylum_person"] is None
            or scope.allows(Fact.ASYLUM, Use.LIST, self.family_id, r["asylum_person"])
        ]

    @strawberry.field(
        description="Counsel of record of the case's members, past and present, in the order "
        "recorded; empty for a caller who may not read who they are (schema/policy.py)."
    )
    async def counsel_of_record(self, info: Info) -> list[Representation]:
        scope = scope_of(info)
        if not scope.allows(Fact.IDENTITY, Use.READ, self.family_id):
            return []
        rows = await info.context.loaders.representations.load(self.family_id)
        return [Representation.from_row(r, scope) for r in rows]

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
class TimelineEntry(Node):
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
    family_id: strawberry.Private[UUID]

    def node_key(self) -> tuple[Any, ...]:
        return (self.family_id, self.version)

    @classmethod
    def from_row(cls, row: Any, scope: Scope) -> TimelineEntry:
        """The entry, refused to a caller who may not read the family's history or, for an
        asylum record (or an amendment or flag of one), the asylum facts of whom it names."""
        require_entry(scope, row)
        values: dict[str, Any] = {f: row[f] for f in TIMELINE_FIELDS}
        values["amended_by"] = list(row["amended_by"])
        return cls(**values)


TIMELINE_FIELDS = tuple(TimelineEntry.__annotations__)


def require_entry(scope: Scope, row: Any) -> None:
    """Refuse a timeline row to a caller who may not read the family's history or, for an
    asylum record (or an amendment or flag of one), the asylum facts of whom it names."""
    require(scope, Fact.IDENTITY, Use.READ, row["family_id"])
    if row["asylum"]:
        for person in row["people"]:
            require(scope, Fact.ASYLUM, Use.READ, row["family_id"], person)


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
