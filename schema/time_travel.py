"""GraphQL types of the audit trail: a case replayed to a point, a diff, a timeline filter."""

from __future__ import annotations

import dataclasses
import typing
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

import strawberry
from strawberry.types.private import is_private

from projections.case_rows import Flag
from projections.projection import Envelope
from projections.summaries import SUMMARIES
from schema.errors import PublicError
from schema.policy import Scope
from schema.read_types import AgeBand, ChildStatus, Parent, ParentSituation
from schema.types import DataQualityFlag, Member, TimelineEntry
from service.history import replay
from service.history.replay import CaseState, Change, MemberChanges, Point

Moment = TypeVar("Moment", bound=datetime | None)
T = TypeVar("T")


def aware(moment: Moment, name: str) -> Moment:
    """A moment with a time zone; a bare one is refused rather than guessed."""
    if moment is not None and moment.utcoffset() is None:
        raise PublicError(f"{name} needs a time zone, e.g. 2018-07-26T17:00:00Z", "BAD_ARGUMENT")
    return moment


@strawberry.input
class TimelineFilter:
    """Which timeline entries to list; every field narrows, none means all."""

    member_id: UUID | None = strawberry.field(
        default=None,
        description="Entries naming this member, with the corrections and flags of them.",
    )
    event_types: list[str] | None = strawberry.field(
        default=None, description="Entries of these types, e.g. Separated, EntryCorrected."
    )

    def checked_types(self) -> list[str] | None:
        """The event types asked for, refusing names no event has."""
        unknown = sorted(set(self.event_types or ()) - SUMMARIES.keys())
        if unknown:
            raise PublicError(f"unknown event types: {', '.join(unknown)}", "BAD_FILTER")
        return self.event_types


@strawberry.input
class CasePoint:
    """A point on the two clocks; an empty point is now."""

    recorded_at: datetime | None = strawberry.field(
        default=None, description="Only the events recorded by this moment count."
    )
    occurred_at: date | None = strawberry.field(
        default=None,
        description="The world at the end of this day: events that occurred later, or on no "
        "known date, are left out; opening, members and relationships always count.",
    )

    def point(self) -> Point:
        """The service's point, with the moment checked."""
        return Point(aware(self.recorded_at, "recordedAt"), self.occurred_at)


@strawberry.type
class ChildAsOf:
    """A child as replayed: the child_case row at that point (no links to the live models)."""

    child_id: UUID
    name: str | None
    age: int | None
    age_band: AgeBand | None
    sex: str
    country: str | None
    status: ChildStatus
    separated_at: date | None
    separated_from: UUID | None
    separation_reason: str | None
    separation_reason_text: str | None
    referred_at: date | None
    referring_office: str | None
    placed_at: date | None
    facility_id: str | None
    facility_name: str | None
    program_type: str | None
    discharged_at: date | None
    discharge_kind: str | None
    reunified_with: UUID | None
    parent_situation: ParentSituation | None
    removal_country: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ChildAsOf:
        values = {name: row[name] for name in cls.__annotations__}
        values["status"] = ChildStatus(row["status"])
        values["age_band"] = AgeBand(row["age_band"]) if row["age_band"] else None
        situation = row["parent_situation"]
        values["parent_situation"] = ParentSituation(situation) if situation else None
        return cls(**values)


def snapshot(cls: type[Any], name: str, description: str) -> type[Any]:
    """A type with the fields of `cls` (and their resolvers) but not its global id: the
    values an object had at a point of its history are not the object, and a client's cache
    must not take them for it (under the object's id they would overwrite what it is now)."""
    hints = typing.get_type_hints(cls, include_extras=True)
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {"__module__": __name__, "__annotations__": annotations}
    for found in cls.__strawberry_definition__.fields:
        field_name = found.python_name
        if field_name == "id":
            continue
        if field_name in hints and is_private(hints[field_name]):
            annotations[field_name] = hints[field_name]
        elif found.base_resolver is not None:
            namespace[field_name] = strawberry.field(
                resolver=found.base_resolver.wrapped_func, description=found.description
            )
        else:
            annotations[field_name] = hints[field_name]
            namespace[field_name] = strawberry.field(description=found.description)
    return strawberry.type(type(name, (), namespace), name=name, description=description)


def as_of(value: Any, kind: type[T]) -> T:
    """An object's values as an object of its snapshot type."""
    names = [f.name for f in dataclasses.fields(kind) if f.init]  # type: ignore[arg-type]
    return kind(**{name: getattr(value, name) for name in names})


if TYPE_CHECKING:  # the same fields, as far as the checker is concerned
    MemberAsOf = Member
    ParentAsOf = Parent
else:
    MemberAsOf = snapshot(
        Member, "MemberAsOf", "A member of a case as replayed to a point (not the member now)."
    )
    ParentAsOf = snapshot(
        Parent, "ParentAsOf", "A parent as replayed to a point (not the parent now)."
    )


@strawberry.type
class CaseAsOf:
    """A family case replayed from its stream to a point, in the read models' shapes."""

    family_id: UUID
    recorded_at: datetime | None = strawberry.field(description="The point's recording clock.")
    occurred_at: date | None = strawberry.field(description="The point's world clock.")
    case_number: str
    status: str
    opened_at: datetime | None
    version: int = strawberry.field(description="The last stream version recorded by the point.")
    last_position: int
    last_recorded_at: datetime
    events_recorded: int = strawberry.field(description="Stream events recorded by the point.")
    events_counted: int = strawberry.field(
        description="Events folded: as corrected, without retracted ones or ones that had "
        "not occurred by occurredAt."
    )
    members: list[MemberAsOf]
    children: list[ChildAsOf]
    parents: list[ParentAsOf]
    flags: list[DataQualityFlag]

    @classmethod
    def from_state(cls, state: CaseState, scope: Scope) -> CaseAsOf:
        s = state.summary
        return cls(
            family_id=s.family_id,
            recorded_at=state.point.known_at,
            occurred_at=state.point.on,
            case_number=s.case_number,
            status=s.status,
            opened_at=s.opened_at,
            version=s.version,
            last_position=s.last_position,
            last_recorded_at=s.updated_at,
            events_recorded=len(state.known),
            events_counted=len(state.counted),
            members=[
                as_of(Member.from_row(vars(m), scope), MemberAsOf) for m in state.rows.members
            ],
            children=[ChildAsOf.from_row(r) for r in state.children()],
            parents=[as_of(Parent.from_row(r, scope), ParentAsOf) for r in state.parents()],
            flags=[flag(f) for f in state.rows.flags],
        )


def flag(found: Flag) -> DataQualityFlag:
    """A flag row as its schema type."""
    return DataQualityFlag(version=found.version, rule=found.rule, detail=found.detail)


def shown(value: object) -> str | None:
    """A field's value as text: ISO dates, lists joined, enums by value, null kept."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


@strawberry.type
class ValueChange:
    """One field that differs between the two points, as text."""

    field: str
    before: str | None
    after: str | None

    @classmethod
    def of(cls, change: Change) -> ValueChange:
        return cls(field=change.field, before=shown(change.before), after=shown(change.after))


@strawberry.type
class MemberChange:
    """What changed for one member; a member added in between has no before values."""

    person_id: UUID
    role: str
    name: str | None
    present_before: bool
    present_after: bool
    changes: list[ValueChange]

    @classmethod
    def of(cls, member: MemberChanges) -> MemberChange:
        return cls(
            person_id=member.person_id,
            role=member.role,
            name=member.name,
            present_before=member.present_before,
            present_after=member.present_after,
            changes=[ValueChange.of(c) for c in member.changes],
        )


@strawberry.type
class CaseDiff:
    """What changed in a case between two points, and the events that made the difference."""

    family_id: UUID
    before: CaseAsOf | None
    after: CaseAsOf | None
    case: list[ValueChange]
    members: list[MemberChange]
    flags_raised: list[DataQualityFlag]
    flags_cleared: list[DataQualityFlag]
    events: list[TimelineEntry] = strawberry.field(
        description="Entries that count at `to` and not at `from`, in stream order."
    )
    withdrawn: list[TimelineEntry] = strawberry.field(
        description="Entries that count at `from` and not at `to` (`to` is earlier, or a "
        "correction moved an event's date)."
    )

    @classmethod
    def of(cls, family_id: UUID, found: replay.CaseDiff, scope: Scope) -> CaseDiff:
        names, amending = replay.labels(found.history), replay.amended_by(found.history)

        def entries(events: list[Envelope]) -> list[TimelineEntry]:
            return [
                TimelineEntry.from_row(replay.timeline_entry(e, names, amending), scope)
                for e in events
            ]

        return cls(
            family_id=family_id,
            before=CaseAsOf.from_state(found.before, scope) if found.before else None,
            after=CaseAsOf.from_state(found.after, scope) if found.after else None,
            case=[ValueChange.of(c) for c in found.case],
            members=[MemberChange.of(m) for m in found.members],
            flags_raised=[flag(f) for f in found.flags_raised],
            flags_cleared=[flag(f) for f in found.flags_cleared],
            events=entries(found.events),
            withdrawn=entries(found.withdrawn),
        )
