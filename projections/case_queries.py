"""SQL over the case read models: pages with filters, the court report, stakeholder lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

# In care on D: approved into ORR care on or before D and not discharged by D (an unknown
# discharge date leaves the stay open: it is never invented). Only children separated from a
# parent count; one in care by D had been separated by D, whatever separation day imported
# history gives (it may be out of order). Each child takes its separated parent's category
# for that child (eligibility is per parent and child). "Reunified with the separated
# parent" means that parent: a reunification with another parent (or guardian) is a
# discharge in other appropriate circumstances, counted in `other`.
COURT_REPORT = """
WITH kids AS (
  SELECT c.age_band, c.discharged_at,
         CASE WHEN c.discharge_kind = 'reunified' AND c.reunified_with <> c.separated_from
              THEN 'other' ELSE c.discharge_kind END AS discharge_kind,
         (c.placed_at <= $1 AND (c.discharged_at IS NULL OR c.discharged_at > $1)) AS in_care,
         coalesce(ps.situation, 'location_unknown') AS situation
    FROM child_case c
    LEFT JOIN parent_situations ps
      ON ps.parent_id = c.separated_from AND ps.child_id = c.child_id
     AND ps.start_date <= $1 AND (ps.end_date IS NULL OR ps.end_date > $1)
   WHERE c.separated_from IS NOT NULL AND (c.separated_at <= $1 OR c.placed_at <= $1)
)
SELECT coalesce(age_band, 'unknown') AS age_band,
       count(*) AS total,
       count(*) FILTER (WHERE discharged_at <= $1) AS discharged,
       count(*) FILTER (WHERE discharged_at <= $1 AND discharge_kind = 'reunified')
         AS reunified,
       count(*) FILTER (WHERE discharged_at <= $1 AND discharge_kind = 'sponsor') AS sponsor,
       count(*) FILTER (WHERE discharged_at <= $1 AND discharge_kind = 'aged_out') AS aged_out,
       count(*) FILTER (WHERE discharged_at <= $1 AND discharge_kind = 'other') AS other,
       count(*) FILTER (WHERE in_care) AS in_care,
       count(*) FILTER (WHERE in_care AND situation = 'removed') AS removed,
       count(*) FILTER (WHERE in_care AND situation = 'ice_custody') AS ice_custody,
       count(*) FILTER (WHERE in_care AND situation = 'criminal_custody') AS criminal_custody,
       count(*) FILTER (WHERE in_care AND situation = 'released_interior')
         AS released_interior,
       count(*) FILTER (WHERE in_care AND situation = 'location_unknown') AS location_unknown,
       count(*) FILTER (WHERE in_care AND situation = 'ineligible') AS ineligible,
       count(*) FILTER (WHERE in_care AND situation = 'waived') AS waived
  FROM kids GROUP BY 1 ORDER BY 1
"""

FACILITIES = """
SELECT facility_id, min(facility_name) AS facility_name,
       count(*) FILTER (WHERE start_date <= $1 AND (end_date IS NULL OR end_date > $1))
         AS census,
       count(*) AS stays,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY least(coalesce(end_date, $1), $1)
         - start_date) AS median_days,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY least(coalesce(end_date, $1), $1)
         - start_date) AS p90_days
  FROM care_stays
 WHERE start_date <= $1
 GROUP BY facility_id
 ORDER BY census DESC, facility_id
"""

PARENTS_OF_FAMILIES = """
SELECT * FROM parent_case WHERE family_id = ANY($1::uuid[]) ORDER BY family_id, parent_id
"""

# The settlement's class: parents separated from a child whose negative credible-fear
# decision was made while separated. parent_case sums eligibility up per parent, so a red
# flag or an ineligibility for any one child keeps the parent out.
REINTERVIEW_ELIGIBLE = """
p.credible_fear = 'negative' AND p.credible_fear_while_separated
AND p.red_flag IS NULL AND p.eligibility IS DISTINCT FROM 'ineligible'
AND EXISTS (SELECT 1 FROM child_case c WHERE c.separated_from = p.parent_id)
"""

REMOVALS_WITHOUT_CHOICE = """
p.removed_at IS NOT NULL AND p.removal_election IS NULL
AND EXISTS (SELECT 1 FROM child_case c
             WHERE c.separated_from = p.parent_id
               AND NOT c.child_id = ANY(p.children_removed_with))
"""


def listed_parents_sql(where: str) -> str:
    """One keyset page ($1 after, $2 limit) of the parents a fixed condition lists."""
    return (
        f"SELECT p.* FROM parent_case p WHERE {where} AND p.parent_id > $1"
        " ORDER BY p.parent_id LIMIT $2"
    )


def listed_parents_count_sql(where: str) -> str:
    """How many parents a fixed condition lists."""
    return f"SELECT count(*) FROM parent_case p WHERE {where}"


CHILD_BY_ID = "SELECT * FROM child_case WHERE child_id = $1"
PARENT_BY_ID = "SELECT * FROM parent_case WHERE parent_id = $1"

FLAGS_OF_FAMILIES = """
SELECT family_id, version, rule, detail FROM data_quality_flags
 WHERE family_id = ANY($1::uuid[]) ORDER BY family_id, version, rule
"""


@dataclass(frozen=True)
class ChildFilter:
    """The stakeholder filters over child_case; None means any."""

    status: str | None = None
    age_band: str | None = None
    facility_id: str | None = None
    parent_situation: str | None = None
    removal_country: str | None = None
    separated_from: date | None = None
    separated_to: date | None = None
    separation_reason: str | None = None
    data_quality_flag: str | None = None
    family_id: UUID | None = None
    # The facility census: children with a stay at this facility covering this day.
    in_facility_on: tuple[str, date] | None = None


# Each filter is a fixed SQL fragment with its own placeholder; values are never formatted.
# Columns are qualified so the same fragments serve queries that join child_case.
_FILTER_SQL = {
    "status": "child_case.status = ${}",
    "age_band": "child_case.age_band = ${}",
    "facility_id": "child_case.facility_id = ${}",
    "parent_situation": "child_case.parent_situation = ${}",
    "removal_country": "child_case.removal_country = ${}",
    "separated_from": "child_case.separated_at >= ${}",
    "separated_to": "child_case.separated_at <= ${}",
    "separation_reason": "child_case.separation_reason = ${}",
    "data_quality_flag": (
        "EXISTS (SELECT 1 FROM data_quality_flags f"
        " WHERE f.family_id = child_case.family_id AND f.rule = ${})"
    ),
    "family_id": "child_case.family_id = ${}",
    "in_facility_on": (
        "EXISTS (SELECT 1 FROM care_stays s WHERE s.child_id = child_case.child_id"
        " AND s.facility_id = ${0} AND s.start_date <= ${1}"
        " AND (s.end_date IS NULL OR s.end_date > ${1}))"
    ),
}
# A status change passes the status filter by the status it changed to.
_CHANGE_FILTER_SQL = {**_FILTER_SQL, "status": "status_changes.to_status = ${}"}


def _filters(
    flt: ChildFilter, first: int, fragments: dict[str, str] = _FILTER_SQL
) -> tuple[list[str], list[Any]]:
    """The filter's clauses, numbered from placeholder `first`, and their values."""
    clauses: list[str] = []
    args: list[Any] = []
    for name, fragment in fragments.items():
        value = getattr(flt, name)
        if value is not None:
            values = value if isinstance(value, tuple) else (value,)
            numbers = range(first + len(args), first + len(args) + len(values))
            args.extend(values)
            clauses.append(fragment.format(*numbers))
    return clauses, args


# Keyset orders: the sort key (never null, so row comparison works) and the tiebreak id.
NO_DATE = date.min
CHILD_ORDERS = {
    "child_id": ("(child_id) > ($1::uuid)", "child_id", 1),
    "separated_at": (
        "(coalesce(separated_at, DATE '0001-01-01'), child_id) > ($1::date, $2::uuid)",
        "coalesce(separated_at, DATE '0001-01-01'), child_id",
        2,
    ),
}


def children_page_sql(flt: ChildFilter, order: str = "child_id") -> tuple[str, list[Any]]:
    """SQL for one keyset page: cursor values first, then the limit, then the filters."""
    keyset, order_by, keys = CHILD_ORDERS[order]
    clauses, args = _filters(flt, keys + 2)
    where = " AND ".join([keyset, *clauses])
    sql = f"SELECT * FROM child_case WHERE {where} ORDER BY {order_by} LIMIT ${keys + 1}"
    return sql, args


def child_cursor(row: Any, order: str) -> tuple[Any, ...]:
    """The keyset values of a row in the given order."""
    if order == "separated_at":
        return (row["separated_at"] or NO_DATE, row["child_id"])
    return (row["child_id"],)


async def children_page(
    pool: asyncpg.Pool,
    flt: ChildFilter,
    after: tuple[Any, ...],
    limit: int,
    order: str = "child_id",
) -> list[asyncpg.Record]:
    """Children matching the filter, in the given order, after a keyset cursor."""
    sql, args = children_page_sql(flt, order)
    return await pool.fetch(sql, *after, limit, *args)


@dataclass(frozen=True)
class ParentFilter:
    """The stakeholder filters over parent_case; None means any."""

    situation: str | None = None
    removal_country: str | None = None
    custody: str | None = None
    located: bool | None = None
    family_id: UUID | None = None


_PARENT_SQL = {
    "situation": "situation = ${}",
    "removal_country": "removed_to = ${}",
    "custody": "custody = ${}",
    "located": "located = ${}",
    "family_id": "family_id = ${}",
}


def _parent_filters(flt: ParentFilter, first: int) -> tuple[list[str], list[Any]]:
    """The parent filter's clauses, numbered from placeholder `first`, and their values."""
    clauses: list[str] = []
    args: list[Any] = []
    for name, fragment in _PARENT_SQL.items():
        value = getattr(flt, name)
        if value is not None:
            args.append(value)
            clauses.append(fragment.format(first + len(args) - 1))
    return clauses, args


async def parents_page(
    pool: asyncpg.Pool, flt: ParentFilter, after: UUID, limit: int
) -> list[asyncpg.Record]:
    """Parents matching the filter, in id order, after a keyset cursor."""
    clauses, args = _parent_filters(flt, 3)
    where = " AND ".join(["parent_id > $1", *clauses])
    sql = f"SELECT * FROM parent_case WHERE {where} ORDER BY parent_id LIMIT $2"
    return await pool.fetch(sql, after, limit, *args)


async def parents_count(pool: asyncpg.Pool, flt: ParentFilter) -> int:
    """How many parents match the filter, whatever the page."""
    clauses, args = _parent_filters(flt, 1)
    where = " AND ".join(clauses) or "true"
    return int(await pool.fetchval(f"SELECT count(*) FROM parent_case WHERE {where}", *args))


async def children_count(pool: asyncpg.Pool, flt: ChildFilter) -> int:
    """How many children match the filter, whatever the page."""
    clauses, args = _filters(flt, 1)
    where = " AND ".join(clauses) or "true"
    return int(await pool.fetchval(f"SELECT count(*) FROM child_case WHERE {where}", *args))


async def court_report(pool: asyncpg.Pool, as_of: date) -> list[asyncpg.Record]:
    """One row per age band with every joint-status-report count as of a date."""
    return await pool.fetch(COURT_REPORT, as_of)


async def facilities(pool: asyncpg.Pool, on: date) -> list[asyncpg.Record]:
    """Each facility's census on a date and its days-in-care distribution up to it."""
    return await pool.fetch(FACILITIES, on)


STATUS_CHANGE_BATCH = 500


def status_changes_sql(flt: ChildFilter) -> tuple[str, list[Any]]:
    """SQL for the next status changes after a (transaction id, position, child id) cursor,
    each with the child's current row and whether it passes the filter: every change is
    returned, so the cursor moves past those that do not pass."""
    clauses, args = _filters(flt, 4, _CHANGE_FILTER_SQL)
    passes = " AND ".join(clauses) or "true"
    sql = f"""
SELECT status_changes.transaction_id, status_changes.position, status_changes.from_status,
       status_changes.to_status, status_changes.version, status_changes.occurred_at,
       ({passes}) AS passes, child_case.*
  FROM status_changes JOIN child_case USING (child_id)
 WHERE (status_changes.transaction_id, status_changes.position, status_changes.child_id)
       > ($1, $2, $3)
 ORDER BY status_changes.transaction_id, status_changes.position, status_changes.child_id
 LIMIT {STATUS_CHANGE_BATCH}
"""
    return sql, args
