"""SQL over the case read models: pages with filters, the court report, stakeholder lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

# A fingerprint of a child: 64 bits of md5 of its id. The sum of the fingerprints of the
# children a count counts (modulo 2**64) names that set of children whatever the query, day
# or cell; schema.disclosure turns it into the cell key of the figures analysts are shown.
# Not a secret (ids can be guessed): the key is an HMAC of it under the server's secret.
CHILD_HASH = "('x' || left(md5({}::text), 16))::bit(64)::bigint"

# Each of the court report's counts, by the condition a child meets to be counted in it.
COURT_REPORT_COUNTS = {
    "total": "true",
    "discharged": "discharged_at <= $1",
    "reunified": "discharged_at <= $1 AND discharge_kind = 'reunified'",
    "sponsor": "discharged_at <= $1 AND discharge_kind = 'sponsor'",
    "aged_out": "discharged_at <= $1 AND discharge_kind = 'aged_out'",
    "other": "discharged_at <= $1 AND discharge_kind = 'other'",
    "in_care": "in_care",
    **{
        situation: f"in_care AND situation = '{situation}'"
        for situation in (
            "removed",
            "ice_custody",
            "criminal_custody",
            "released_interior",
            "location_unknown",
            "ineligible",
            "waived",
        )
    },
}


def _court_report(fingerprints: bool) -> str:
    """In care on D: approved into ORR care on or before D and not discharged by D (an
    unknown discharge date leaves the stay open: it is never invented). Only children
    separated from a parent count; one in care by D had been separated by D, whatever
    separation day imported history gives (it may be out of order). Each child takes its
    separated parent's category for that child (eligibility is per parent and child).
    "Reunified with the separated parent" means that parent: a reunification with another
    parent (or guardian) is a discharge in other appropriate circumstances, counted in
    `other`. With fingerprints, each count comes with `<count>_key`, the sum of its
    children's fingerprints (CHILD_HASH; null when none)."""
    counted = ",\n       ".join(
        f"count(*) FILTER (WHERE {where}) AS {name}"
        + (f", sum(h) FILTER (WHERE {where}) AS {name}_key" if fingerprints else "")
        for name, where in COURT_REPORT_COUNTS.items()
    )
    child = CHILD_HASH.format("c.child_id") if fingerprints else "0"
    return f"""
WITH kids AS (
  SELECT c.age_band, c.discharged_at, {child} AS h,
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
       {counted}
  FROM kids GROUP BY 1 ORDER BY 1
"""


# The report with fingerprints: what analysts' figures are rounded from, and what a report
# as known at a moment replays (service.history), which serves every role. The fingerprints
# cost about 10 ms over the ORR list, so the exact live report leaves them out.
COURT_REPORT = _court_report(fingerprints=True)
COURT_REPORT_EXACT = _court_report(fingerprints=False)


def _facilities(fingerprints: bool) -> str:
    """Per facility: the stays open on $1 (census) and every stay begun by $1, and the
    distribution of days in care; with fingerprints, the sum of its children's (CHILD_HASH)
    for the census and for the stays."""
    keys = ", sum(h) FILTER (WHERE is_open) AS census_key, sum(h) AS stays_key"
    return f"""
WITH stays AS (
  SELECT facility_id, facility_name,
         start_date <= $1 AND (end_date IS NULL OR end_date > $1) AS is_open,
         least(coalesce(end_date, $1), $1) - start_date AS days,
         {CHILD_HASH.format("child_id") if fingerprints else "0"} AS h
    FROM care_stays
   WHERE start_date <= $1
)
SELECT facility_id, min(facility_name) AS facility_name,
       count(*) FILTER (WHERE is_open) AS census, count(*) AS stays{keys if fingerprints else ""},
       percentile_cont(0.5) WITHIN GROUP (ORDER BY days) AS median_days,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY days) AS p90_days
  FROM stays
 GROUP BY facility_id
 ORDER BY census DESC, facility_id
"""


FACILITIES = _facilities(fingerprints=True)
FACILITIES_EXACT = _facilities(fingerprints=False)

PARENTS_OF_FAMILIES = """
SELECT * FROM parent_case WHERE family_id = ANY($1::uuid[]) ORDER BY family_id, parent_id
"""

# The settlement's class: parents separated from a child whose negative credible-fear
# decision was made while separated. parent_case sums eligibility up per parent, so a red
# flag or an ineligibility for any one child keeps the parent out. The fold decides who is
# in it, and where each stands (projections.parent_fold.stance_of).
REINTERVIEW_ELIGIBLE = "p.reinterview_stance IS NOT NULL"

REMOVALS_WITHOUT_CHOICE = """
p.removed_at IS NOT NULL AND p.removal_election IS NULL
AND EXISTS (SELECT 1 FROM child_case c
             WHERE c.separated_from = p.parent_id
               AND NOT c.child_id = ANY(p.children_removed_with))
"""


# What narrows a fixed list, each null for any: the stance and the re-interview's outcome,
# and whose asylum facts the caller may read (schema/policy.py), for a list whose condition
# is made of them.
NARROWED = (
    "(${0}::text IS NULL OR p.reinterview_stance = ${0})"
    " AND (${1}::text IS NULL OR p.reinterview_outcome = ${1})"
    " AND (${2}::uuid[] IS NULL OR p.parent_id = ANY (${2}))"
)


@dataclass(frozen=True)
class Narrowing:
    """How a fixed list of parents is narrowed; None means any."""

    stance: str | None = None
    outcome: str | None = None
    # Only these parents: the list's condition is made of facts the caller may read for
    # them alone (None: for everyone).
    only: list[UUID] | None = None

    def args(self) -> tuple[Any, ...]:
        return (self.stance, self.outcome, self.only)


def listed_parents_sql(where: str, backward: bool = False, columns: str = "p.*") -> str:
    """One keyset page ($1 after, $2 limit, then Narrowing.args) of the parents a fixed
    condition lists; backward: the page before $1, nearest first; `columns` of `p`."""
    op, direction = KEYSET_DIRECTIONS[backward]
    return (
        f"SELECT {columns} FROM parent_case p WHERE {where} AND {NARROWED.format(3, 4, 5)}"
        f" AND p.parent_id {op} $1 ORDER BY p.parent_id {direction} LIMIT $2"
    )


def listed_parents_count_sql(where: str) -> str:
    """How many parents a fixed condition lists (Narrowing.args)."""
    return f"SELECT count(*) FROM parent_case p WHERE {where} AND {NARROWED.format(1, 2, 3)}"


CHILD_BY_ID = "SELECT * FROM child_case WHERE child_id = $1"
# A facility as its latest stay recorded it.
FACILITY_BY_ID = """
SELECT facility_id, facility_name, program_type FROM care_stays WHERE facility_id = $1
 ORDER BY start_date DESC NULLS LAST LIMIT 1
"""
PARENT_BY_ID = "SELECT * FROM parent_case WHERE parent_id = $1"

FLAGS_OF_FAMILIES = """
SELECT family_id, version, rule, detail, asylum_person FROM data_quality_flags
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
    # A rule, and whose asylum facts the caller may read (None: everyone's): a flag about an
    # asylum record of anyone else does not count.
    data_quality_flag: tuple[str, list[UUID] | None] | None = None
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
        " WHERE f.family_id = child_case.family_id AND f.rule = ${0}"
        " AND (${1}::uuid[] IS NULL OR f.asylum_person IS NULL OR f.asylum_person = ANY (${1})))"
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
# A cursor's day is sent as text: asyncpg sends date.min and date.max as -infinity and
# infinity, and an unknown day's key, 0001-01-01, must compare as itself.
NO_DATE = date.min
CHILD_ORDERS = {
    "child_id": ("(child_id) {op} ($1::uuid)", "child_id {dir}", 1),
    "separated_at": (
        "(coalesce(separated_at, DATE '0001-01-01'), child_id) {op} ($1::text::date, $2::uuid)",
        "coalesce(separated_at, DATE '0001-01-01') {dir}, child_id {dir}",
        2,
    ),
}
# A keyset page goes forwards (rows after the cursor, in order) or backwards (rows before
# it, nearest first; the caller puts them back in order).
KEYSET_DIRECTIONS = {False: (">", "ASC"), True: ("<", "DESC")}


def children_page_sql(
    flt: ChildFilter, order: str = "child_id", backward: bool = False, columns: str = "*"
) -> tuple[str, list[Any]]:
    """SQL for one keyset page: cursor values first, then the limit, then the filters;
    `columns` is the select list (schema/read_plans.py asks for only what is selected)."""
    keyset, order_by, keys = CHILD_ORDERS[order]
    op, direction = KEYSET_DIRECTIONS[backward]
    clauses, args = _filters(flt, keys + 2)
    where = " AND ".join([keyset.format(op=op), *clauses])
    order_by = order_by.format(dir=direction)
    sql = f"SELECT {columns} FROM child_case WHERE {where} ORDER BY {order_by} LIMIT ${keys + 1}"
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
    backward: bool = False,
    columns: str = "*",
) -> list[asyncpg.Record]:
    """Children matching the filter, in the given order, after a keyset cursor (backward:
    before it, nearest first)."""
    sql, args = children_page_sql(flt, order, backward, columns)
    keys = [k.isoformat() if isinstance(k, date) else k for k in after]
    return await pool.fetch(sql, *keys, limit, *args)


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
    pool: asyncpg.Pool,
    flt: ParentFilter,
    after: UUID,
    limit: int,
    backward: bool = False,
    columns: str = "*",
) -> list[asyncpg.Record]:
    """Parents matching the filter, in id order, after a keyset cursor (backward: before
    it, nearest first)."""
    op, direction = KEYSET_DIRECTIONS[backward]
    clauses, args = _parent_filters(flt, 3)
    where = " AND ".join([f"parent_id {op} $1", *clauses])
    sql = f"SELECT {columns} FROM parent_case WHERE {where} ORDER BY parent_id {direction} LIMIT $2"
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


async def court_report(
    pool: asyncpg.Pool, as_of: date, fingerprints: bool = False
) -> list[asyncpg.Record]:
    """One row per age band with every joint-status-report count as of a date."""
    return await pool.fetch(COURT_REPORT if fingerprints else COURT_REPORT_EXACT, as_of)


async def facilities(
    pool: asyncpg.Pool, on: date, fingerprints: bool = False
) -> list[asyncpg.Record]:
    """Each facility's census on a date and its days-in-care distribution up to it."""
    return await pool.fetch(FACILITIES if fingerprints else FACILITIES_EXACT, on)


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
