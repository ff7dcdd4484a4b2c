"""GraphQL types of the case read models: children, parents, facilities, the court report."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from enum import Enum
from typing import Any
from uuid import UUID

import strawberry

from schema.context import Info
from schema.loaders import Loaders
from schema.permissions import confidential


@strawberry.enum
class AgeBand(Enum):
    """The court report's age bands."""

    UNDER_5 = "0-4"
    FROM_5_TO_17 = "5-17"
    ADULT = "18+"


@strawberry.enum
class ChildStatus(Enum):
    """Where a child's path stands."""

    WITH_FAMILY = "with_family"
    SEPARATED = "separated"
    REFERRED = "referred"
    IN_CARE = "in_care"
    REUNIFIED = "reunified"
    DISCHARGED = "discharged"


@strawberry.enum
class ParentSituation(Enum):
    """The joint status report's categories for a separated parent."""

    REMOVED = "removed"
    ICE_CUSTODY = "ice_custody"
    CRIMINAL_CUSTODY = strawberry.enum_value(
        "criminal_custody",
        description="In other federal, state or local custody: US Marshals, state or local, "
        "or any other hold but ICE.",
    )
    RELEASED_INTERIOR = strawberry.enum_value(
        "released_interior",
        description="In the US and out of custody: released, returned (parole or court "
        "order) and not detained since, or located while not removed.",
    )
    LOCATION_UNKNOWN = "location_unknown"
    INELIGIBLE = strawberry.enum_value(
        "ineligible",
        description="Found ineligible for reunification with this child; for a parent, "
        "with any of their children.",
    )
    WAIVED = "waived"


def _fields(cls: type[Any], row: Any) -> dict[str, Any]:
    present = set(row.keys())
    return {name: row[name] for name in cls.__annotations__ if name in present}


STALE = (
    "Whether some of the family's events wait, parked, for a fix (see projectionStatus): "
    "its read models stop before the first of them."
)


async def family_is_stale(info: Info, family_id: UUID) -> bool:
    """Whether a read model stopped at one of the family's events."""
    return bool(await info.context.loaders.parked.load(family_id))


@strawberry.type
class Facility:
    """An ORR care provider as recorded."""

    facility_id: str
    facility_name: str
    program_type: str | None = None


@strawberry.type
class Parent:
    """A parent's custody, proceedings, removal and return."""

    parent_id: UUID
    family_id: UUID
    name: str | None
    sex: str
    country: str | None
    a_number: str | None
    custody: str | None
    facility_name: str | None
    released_at: date | None
    removal_order: str | None
    removal_election: str | None
    removed_at: date | None
    removed_to: str | None
    times_removed: int
    returned_at: date | None
    return_route: str | None
    location_attempts: int
    located: bool
    preference: str | None
    eligibility: str | None = strawberry.field(
        description="Decided per child, summed up: ineligible for any child, else eligible "
        "once determined for one."
    )
    red_flag: str | None = strawberry.field(
        description="The latest red flag standing for any of the parent's children."
    )
    settlement_election: str | None
    asylum_reopened: bool
    situation: ParentSituation
    credible_fear: str | None = confidential()
    credible_fear_while_separated: bool | None = confidential()
    reinterview_outcome: str | None = confidential()

    @strawberry.field(description=STALE)
    async def stale(self, info: Info) -> bool:
        return await family_is_stale(info, self.family_id)

    @classmethod
    def from_row(cls, row: Any) -> Parent:
        values = _fields(cls, row)
        values["situation"] = ParentSituation(row["situation"])
        return cls(**values)


@strawberry.type
class Child:
    """A child's status, care and the parent it was separated from."""

    child_id: UUID
    family_id: UUID
    name: str | None
    age: int | None
    age_band: AgeBand | None
    sex: str
    country: str | None
    status: ChildStatus
    separated_at: date | None
    separation_reason: str | None
    separation_reason_text: str | None
    referred_at: date | None
    referring_office: str | None
    placed_at: date | None
    discharged_at: date | None
    discharge_kind: str | None
    parent_situation: ParentSituation | None
    removal_country: str | None
    parents: list[Parent] = strawberry.field(
        description="The adults a recorded relationship links to this child."
    )
    facility: Facility | None = strawberry.field(
        description="The care provider the child is with now, if any."
    )

    @strawberry.field(description=STALE)
    async def stale(self, info: Info) -> bool:
        return await family_is_stale(info, self.family_id)

    @classmethod
    def from_row(cls, row: Any, parents: list[Parent], facility: Facility | None) -> Child:
        values = _fields(cls, row)
        values["status"] = ChildStatus(row["status"])
        values["age_band"] = AgeBand(row["age_band"]) if row["age_band"] else None
        situation = row["parent_situation"]
        values["parent_situation"] = ParentSituation(situation) if situation else None
        return cls(**values, parents=parents, facility=facility)


async def children_from_rows(loaders: Loaders, rows: Sequence[Any]) -> list[Child]:
    """Children with their linked parents, loaded for the whole page at once, and their
    current facility from their own row (it holds the current stay).

    Loading here, through the request's DataLoader, rather than in async field
    resolvers keeps a page at two queries and spares a coroutine per child and field.
    The family's adults come in one query; the child's row names those linked to it.
    """
    families = await loaders.parents.load_many([r["family_id"] for r in rows])
    children = []
    for row, adults in zip(rows, families, strict=True):
        facility = Facility(**_fields(Facility, row)) if row["facility_id"] else None
        linked = set(row["parent_ids"])
        parents = [Parent.from_row(p) for p in adults if p["parent_id"] in linked]
        children.append(Child.from_row(row, parents, facility))
    return children


@strawberry.type
class Counts:
    """A count with its age-band split; null where a small count is suppressed."""

    total: int | None
    under_5: int | None
    from_5_to_17: int | None
    adult: int | None
    unknown_age: int | None


@strawberry.type
class InCareByParentSituation:
    """Children still in care, by where their separated parent stands."""

    total: Counts
    removed: Counts = strawberry.field(
        description="Parent removed from the US; the seed's 'parents deported' figure."
    )
    ice_custody: Counts
    criminal_custody: Counts
    released_interior: Counts
    location_unknown: Counts
    ineligible: Counts
    waived: Counts


@strawberry.type
class Discharged:
    """Children discharged from care by the date."""

    total: Counts
    reunified_with_separated_parent: Counts = strawberry.field(
        description="Reunified with the parent the child was separated from."
    )
    other_appropriate_circumstances: Counts
    sponsor: Counts
    aged_out: Counts
    other: Counts = strawberry.field(
        description="Discharged for another reason, or reunified with a parent other than "
        "the one the child was separated from."
    )


@strawberry.type
class CourtReport:
    """The joint status report's figures as of a date."""

    as_of: date
    children: Counts
    discharged: Discharged
    in_care: InCareByParentSituation


@strawberry.type
class FacilityStats:
    """One facility's census on a date and how long children stayed."""

    facility_id: str
    facility_name: str
    census: int | None
    stays: int | None
    median_days: float | None = strawberry.field(
        description="Over the stays; null where the stays count is suppressed."
    )
    p90_days: float | None = strawberry.field(
        description="Over the stays; null where the stays count is suppressed."
    )
