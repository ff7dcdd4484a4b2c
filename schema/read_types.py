"""GraphQL types of the case read models: children, parents, facilities, the court report."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from enum import Enum
from typing import Any
from uuid import UUID

import strawberry

from schema.context import Info
from schema.disclosure import (
    BASE,
    DISTRIBUTION_MIN_STAYS,
    MAX_COUNT_DEVIATION,
    MAX_DAYS_DEVIATION,
    NAMED_MIN_STAYS,
    POOLED_ID,
)
from schema.loaders import Loaders
from schema.node import Node
from schema.policy import Scope
from schema.scoping import shown


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


@strawberry.enum
class ReinterviewStance(Enum):
    """Where a parent in the settlement's class stands on their re-interview."""

    AWAITING_REINTERVIEW = strawberry.enum_value(
        "awaiting", description="Not re-interviewed yet, and the review not declined."
    )
    DECLINED_REVIEW = strawberry.enum_value(
        "declined", description="Declined the settlement's review; not re-interviewed."
    )
    REINTERVIEW_DECIDED = strawberry.enum_value(
        "decided", description="Re-interviewed: the outcome is reinterviewOutcome."
    )


def _fields(cls: type[Any], row: Any) -> dict[str, Any]:
    present = set(row.keys())
    return {name: row[name] for name in cls.__annotations__ if name in present}


ERASED = (
    "The person's personal data was erased by order: their name, A-number and notes are null "
    "because they no longer exist anywhere, not because unknown."
)
STALE = (
    "Whether some of the family's events wait, parked, for a fix (see projectionStatus): "
    "its read models stop before the first of them."
)


async def family_is_stale(info: Info, family_id: UUID) -> bool:
    """Whether a read model stopped at one of the family's events."""
    return bool(await info.context.loaders.parked.load(family_id))


@strawberry.type
class Facility(Node):
    """An ORR care provider as recorded."""

    facility_id: str
    facility_name: str
    program_type: str | None = None

    def node_key(self) -> tuple[Any, ...]:
        return (self.facility_id,)


@strawberry.type
class Parent(Node):
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
    situation: ParentSituation
    # Asylum facts (8 CFR 208.6): null for a caller who may not read this person's.
    settlement_election: str | None
    asylum_reopened: bool | None
    credible_fear: str | None
    credible_fear_while_separated: bool | None
    reinterview_outcome: str | None
    reinterview_stance: ReinterviewStance | None = strawberry.field(
        description="Where the parent stands in the settlement's class (parents whose "
        "negative credible-fear decision was made while separated from a child, red-flagged "
        "or ineligible for none of their children); null outside it."
    )

    personal_data_erased: bool = strawberry.field(description=ERASED)

    @strawberry.field(description=STALE)
    async def stale(self, info: Info) -> bool:
        return await family_is_stale(info, self.family_id)

    def node_key(self) -> tuple[Any, ...]:
        return (self.parent_id,)

    @classmethod
    def from_row(cls, row: Any, scope: Scope) -> Parent:
        """The parent as this caller may see them (schema/policy.py)."""
        values = _fields(cls, row)
        values["situation"] = ParentSituation(row["situation"])
        stance = row.get("reinterview_stance")
        values["reinterview_stance"] = ReinterviewStance(stance) if stance else None
        return cls(**shown(cls, values, scope, row["family_id"], row["parent_id"]))


@strawberry.type
class Child(Node):
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

    personal_data_erased: bool = strawberry.field(description=ERASED)

    @strawberry.field(description=STALE)
    async def stale(self, info: Info) -> bool:
        return await family_is_stale(info, self.family_id)

    def node_key(self) -> tuple[Any, ...]:
        return (self.child_id,)

    @classmethod
    def from_row(
        cls, row: Any, parents: list[Parent], facility: Facility | None, scope: Scope
    ) -> Child:
        """The child as this caller may see them (schema/policy.py)."""
        values = _fields(cls, row)
        values["status"] = ChildStatus(row["status"])
        values["age_band"] = AgeBand(row["age_band"]) if row["age_band"] else None
        situation = row["parent_situation"]
        values["parent_situation"] = ParentSituation(situation) if situation else None
        values = shown(cls, values, scope, row["family_id"], row["child_id"])
        return cls(**values, parents=parents, facility=facility)


async def children_from_rows(loaders: Loaders, rows: Sequence[Any], scope: Scope) -> list[Child]:
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
        parents = [Parent.from_row(p, scope) for p in adults if p["parent_id"] in linked]
        children.append(Child.from_row(row, parents, facility, scope))
    return children


@strawberry.type(
    description="A count with its age-band split. Exact for caseworkers, counsel and "
    f"auditors. Analysts are shown every figure, the total included, rounded to a multiple "
    f"of {BASE} at random by a key drawn from the children it counts (cell-key random "
    f"rounding, ADR 0013): at most {MAX_COUNT_DEVIATION} from the exact count and unbiased "
    f"({BASE}q + r is shown as {BASE}q + {BASE} with probability r/{BASE}, else as {BASE}q); "
    f"an exact 0 is shown as 0, and 1 to {BASE - 1} as 0 or {BASE}, never as themselves. "
    "The same children always give the same figure, whatever the query, date or cell, so "
    "repeating or re-slicing a question averages nothing out. Each figure is rounded on its "
    "own: a total need not equal the sum of its parts as shown."
)
class Counts:
    """A count with its age-band split (the description says what analysts see)."""

    total: int
    under_5: int
    from_5_to_17: int
    adult: int
    unknown_age: int


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


@strawberry.type(
    description="The joint status report's figures as of a date. Analysts have them only "
    "for the last day of a month, and with knownAt only as known at the start of a month "
    "(00:00 UTC on its first day); anything else is refused with OFF_CALENDAR. Their "
    "figures are rounded as Counts says; everyone else has them exact, for any date."
)
class CourtReport:
    """The joint status report's figures as of a date."""

    as_of: date
    children: Counts
    discharged: Discharged
    in_care: InCareByParentSituation


@strawberry.type(
    description="One facility's census on a date and how long children stayed. Exact for "
    "caseworkers, counsel and auditors. Analysts have it only for the last day of a month "
    f"(OFF_CALENDAR otherwise); facilities with fewer than {NAMED_MIN_STAYS} stays begun by "
    f"then are not named but pooled in one row, facilityId {POOLED_ID}, listed last; census "
    f"and stays are rounded as Counts says (at most {MAX_COUNT_DEVIATION} off), and rows are "
    "ordered by the census shown."
)
class FacilityStats:
    """One facility's census on a date and how long children stayed."""

    facility_id: str
    facility_name: str
    census: int = strawberry.field(description="Children in its care on the date.")
    stays: int = strawberry.field(description="Stays begun there by the date.")
    median_days: float | None = strawberry.field(
        description="Median days in care over those stays (an open stay counts to the date). "
        f"Analysts: null over fewer than {DISTRIBUTION_MIN_STAYS} stays and for the pooled "
        "row; otherwise rounded to a whole number of weeks at random, up with probability "
        "the fraction of a week left over (unbiased, less than "
        f"{MAX_DAYS_DEVIATION} days off), by a key of the facility's that is the same "
        "every month."
    )
    p90_days: float | None = strawberry.field(
        description="90th percentile of days in care over those stays, shown to analysts "
        "as medianDays is."
    )
