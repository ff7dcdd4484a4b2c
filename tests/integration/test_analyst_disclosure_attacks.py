"""Playing the analyst (issue #17, ADR 0013): the attacks of the issue, against what
analysts are shown of the ORR list on every month end it covers, checked against an
auditor's exact figures. The suite passes only if no attack recovers a protected value: a
count from 1 to 4 (a cell, a complement, a difference, the children waiting for a place, a
facility too small to name), or a child's days in care.

The analyst knows the method and its bounds (the README and the schema say them) but not
the server's secret. Each published count y then says only that the exact one lies in
[max(0, y - 4), y + 4]. The attacker writes down every exact relation between the figures
(a total and its age bands, discharged = reunified + other circumstances, in care = the
parents' situations, children = discharged + in care + waiting, cumulative counts that only
grow from one month end to the next, a facility's census within its stays, the facilities'
censuses adding up to the children in care, a facility named only from 10 stays, the pooled
row giving up the facilities it names) and tightens every bound from all the others until
nothing moves (bounds propagation, the interval audit of statistical disclosure control: the
"shuttle algorithm" on two-way tables). A value is recovered when its interval closes on
it. Every attack is played alone, then all at once; all at once again under 16 other
secrets; and once against the suppression analysts had before, where the same attacker
recovers hundreds of counts: it is not toothless. Days in care: never over fewer than 20
stays, and a figure growing with an open stay month after month never narrows to one day.
Off the calendar (a day not a month's last, a knownAt not a month's start) analysts are
refused; repeated and re-sliced questions get the same figures.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from strawberry import Schema

from projections import case_queries as sql
from schema.build import create_schema
from schema.context import Context
from schema.disclosure import (
    BASE,
    DISTRIBUTION_MIN_STAYS,
    MAX_COUNT_DEVIATION,
    NAMED_MIN_STAYS,
    POOLED_ID,
    WEEK,
    CellKeys,
    fingerprint,
    month_end,
    on_calendar,
    random_round,
)
from schema.loaders import Loaders
from schema.read_types import CourtReport, FacilityStats
from schema.report import build_report, facility_figures
from service.access.auth import Identity, Role
from service.application.container import Container
from service.orr_import.importer import OrrImporter
from service.postgres.database import Database
from service.settings import Settings
from tests.scenarios.database import reset

pytestmark = pytest.mark.integration

FILE = Path(__file__).resolve().parents[2] / "data" / "orr-separated-children-2018.csv"
FIRST, LAST = date(2017, 12, 31), date(2019, 6, 30)  # the list's days, a month either side
OTHER_SECRETS = [f"another-server-secret-number-{n:02d}-of-40-b".encode() for n in range(16)]
INF = 10**9
PROTECTED = range(1, BASE)  # counts from 1 to 4

COUNTS = "{ total under5 from5To17 adult unknownAge }"
QUERY = f"""query($on: Date!) {{
  courtReport(asOf: $on) {{ asOf children {COUNTS}
    discharged {{ total {COUNTS} reunifiedWithSeparatedParent {COUNTS}
      otherAppropriateCircumstances {COUNTS} sponsor {COUNTS} agedOut {COUNTS} other {COUNTS} }}
    inCare {{ total {COUNTS} removed {COUNTS} iceCustody {COUNTS} criminalCustody {COUNTS}
      releasedInterior {COUNTS} locationUnknown {COUNTS} ineligible {COUNTS} waived {COUNTS} }} }}
  facilities(on: $on) {{ facilityId facilityName census stays medianDays p90Days }} }}"""

BANDS = ("under_5", "from_5_to_17", "adult", "unknown_age")
DISCHARGED = ("reunified_with_separated_parent", "other_appropriate_circumstances")
OTHER_WAYS = ("sponsor", "aged_out", "other")
SITUATIONS: tuple[str, ...] = ("removed", "ice_custody", "criminal_custody")
SITUATIONS += ("released_interior", "location_unknown", "ineligible", "waived")
# Counts of children that can only grow from one month end to the next.
CUMULATIVE = ("children", "discharged.total", *(f"discharged.{g}" for g in DISCHARGED))
CUMULATIVE += tuple(f"discharged.{g}" for g in OTHER_WAYS)

Cell = tuple[str, str]  # (group, band): ("in_care.removed", "under_5")
Var = tuple[Any, ...]


def month_ends() -> list[date]:
    days, day = [], FIRST
    while day <= LAST:
        days.append(day)
        day = month_end(day + timedelta(days=1))
    return days


@dataclass
class Release:
    """What one caller is shown on each month end: the report's counts, flattened, and the
    facilities' figures by id (None where a figure is withheld)."""

    cells: dict[date, dict[Cell, int | None]]
    facilities: dict[date, dict[str, FacilityStats]]


def flatten(report: CourtReport) -> dict[Cell, int]:
    """Every count of a report by (group, band)."""
    cells: dict[Cell, int] = {}

    def walk(node: Any, path: str) -> None:
        for f in fields(node):
            value = getattr(node, f.name)
            if f.name in ("total", *BANDS) and isinstance(value, int):
                cells[(path, f.name)] = value
            elif is_dataclass(value):
                walk(value, f"{path}.{f.name}" if path else f.name)

    walk(report, "")
    return cells


Rows = dict[date, tuple[list[Any], list[Any]]]


def release(rows: Rows, keys: CellKeys | None) -> tuple[dict[date, Any], Release]:
    """The reports and facilities a caller is shown from the read models' rows: exactly
    (keys None), or as analysts are under these keys (what the resolvers answer)."""
    reports, shown = {}, Release({}, {})
    for day, (report_rows, facility_rows) in rows.items():
        report = build_report(day, report_rows, keys)
        reports[day] = (report, facility_figures(facility_rows, keys))
        cells: dict[Cell, int | None] = {**flatten(report)}
        shown.cells[day] = cells
        shown.facilities[day] = {f.facility_id: f for f in reports[day][1]}
    return reports, shown


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def as_json(value: Any) -> Any:
    """A figure as GraphQL answers it."""
    if is_dataclass(value):
        return {camel(f.name): as_json(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    return value.isoformat() if isinstance(value, date) else value


@dataclass
class Orr:
    """The ORR list imported, and every month end's figures as the read models give them."""

    container: Container
    rows: Rows
    exact: Release
    answers: dict[Role, dict[date, Any]] = field(default_factory=dict)

    def shown(self, secret: bytes) -> Release:
        return release(self.rows, CellKeys(secret))[1]


async def ask(container: Container, role: Role, query: str, **variables: Any) -> Any:
    context = Context(
        container,
        None,
        None,
        Identity(f"{role.value}-1", role),
        Loaders.create(container.database.pool),
    )
    return await the_schema().execute(query, variable_values=variables, context_value=context)


@functools.cache
def the_schema() -> Schema:
    return create_schema()


@pytest.fixture(scope="module")
async def orr(settings: Settings, database: Database) -> AsyncIterator[Orr]:
    await reset(database.pool)
    container = await Container.build(settings, database)
    await OrrImporter(container.store).run(FILE)
    await container.runner.catch_up(within=120)
    pool = database.pool
    rows = {
        d: (await sql.court_report(pool, d, True), await sql.facilities(pool, d, True))
        for d in month_ends()
    }
    found = Orr(container, rows, release(rows, None)[1])
    for role in (Role.AUDITOR, Role.ANALYST):
        found.answers[role] = {}
        for day in month_ends():
            answer = await ask(container, role, QUERY, on=day.isoformat())
            assert answer.errors is None, answer.errors
            found.answers[role][day] = answer.data
    yield found
    await container.store.announcements.drain()


def secret(orr: Orr) -> bytes:
    """The secret the server under test rounds with."""
    configured = orr.container.settings.disclosure_secret
    assert configured is not None
    return configured.encode()


# What the analyst is shown, and what they can tell from it.


def rounded(shown: int | None) -> tuple[int, int]:
    """Where the exact count lies, for a count shown by the cell-key rounding."""
    assert shown is not None
    return max(0, shown - MAX_COUNT_DEVIATION), shown + MAX_COUNT_DEVIATION


def suppressed(shown: int | None) -> tuple[int, int]:
    """Where the exact count lies under the suppression before: hidden is 1 to 4, or a
    complementary cell of any size; shown is exact."""
    return (1, INF) if shown is None else (shown, shown)


class Network:
    """Integer unknowns with bounds, linear equalities between them, and bounds propagation
    to a fixed point. Every unknown carries its exact value, to count recoveries, and to
    check the attacker's reasoning: an exact value outside its bounds fails the test."""

    def __init__(self) -> None:
        self.lo: dict[Var, int] = {}
        self.hi: dict[Var, int] = {}
        self.exact: dict[Var, int] = {}
        self.sums: list[list[tuple[int, Var]]] = []  # each: sum of coefficient * unknown = 0
        self.protected: set[Var] = set()

    def unknown(self, name: Var, exact: int, lo: int = -INF, hi: int = INF) -> Var:
        self.lo[name] = max(self.lo.get(name, -INF), lo)
        self.hi[name] = min(self.hi.get(name, INF), hi)
        self.exact[name] = exact
        self.protected.add(name)
        return name

    def equal(self, whole: Var, parts: list[Var]) -> None:
        self.sums.append([(1, whole), *((-1, p) for p in parts)])

    def at_least(self, whole: Var, parts: list[Var], rest: Var) -> None:
        """whole >= sum(parts): the rest is an unknown count of its own."""
        self.unknown(rest, self.exact[whole] - sum(self.exact[p] for p in parts), 0)
        self.equal(whole, [*parts, rest])

    def propagate(self) -> None:
        watching: dict[Var, list[int]] = defaultdict(list)
        for n, terms in enumerate(self.sums):
            for _, name in terms:
                watching[name].append(n)
        queue = list(range(len(self.sums)))
        queued = set(queue)
        while queue:
            n = queue.pop()
            queued.discard(n)
            for name in self._tighten(self.sums[n]):
                for m in watching[name]:
                    if m not in queued:
                        queue.append(m)
                        queued.add(m)

    def _tighten(self, terms: list[tuple[int, Var]]) -> Iterator[Var]:
        for k, (a, name) in enumerate(terms):
            # a * name = -(sum of the others)
            low = sum(
                self.lo[v] if b > 0 else -self.hi[v] for j, (b, v) in enumerate(terms) if j != k
            )
            high = sum(
                self.hi[v] if b > 0 else -self.lo[v] for j, (b, v) in enumerate(terms) if j != k
            )
            lo, hi = (-high, -low) if a > 0 else (low, high)
            if lo > self.lo[name] or hi < self.hi[name]:
                self.lo[name], self.hi[name] = max(lo, self.lo[name]), min(hi, self.hi[name])
                assert self.lo[name] <= self.exact[name] <= self.hi[name], name  # sound
                yield name

    def recovered(self) -> list[tuple[Var, int]]:
        """The protected counts from 1 to 4 whose interval closed on them."""
        return [
            (name, self.exact[name])
            for name in self.protected
            if self.exact[name] in PROTECTED and self.lo[name] == self.hi[name]
        ]

    def at_stake(self) -> int:
        return sum(1 for name in self.protected if self.exact[name] in PROTECTED)

    def narrowest(self) -> int:
        """How many values the narrowest interval around a count from 1 to 4 holds."""
        return min(
            self.hi[name] - self.lo[name] + 1
            for name in self.protected
            if self.exact[name] in PROTECTED
        )


@dataclass
class Attack:
    """The analyst's view of one release: unknowns for what they are shown, and the
    relations of one kind added by each attack."""

    exact: Release
    shown: Release
    bounds: Callable[[int | None], tuple[int, int]]
    named_min: int  # a facility named has at least this many stays
    net: Network = field(default_factory=Network)

    def cell(self, day: date, group: str, band: str) -> Var:
        exact = self.exact.cells[day][(group, band)]
        assert exact is not None
        lo, hi = self.bounds(self.shown.cells[day][(group, band)])
        return self.net.unknown(("cell", day, group, band), exact, lo, hi)

    def facility(self, day: date, facility_id: str, figure: str) -> Var:
        shown = getattr(self.shown.facilities[day][facility_id], figure)
        lo, hi = self.bounds(shown)
        if facility_id == POOLED_ID:
            exact = sum(getattr(f, figure) for f in self.unnamed(day))
        else:
            exact = getattr(self.exact.facilities[day][facility_id], figure)
            if figure == "stays":
                lo = max(lo, self.named_min)
        return self.net.unknown(("facility", day, facility_id, figure), exact, lo, hi)

    def unnamed(self, day: date) -> list[FacilityStats]:
        named = self.shown.facilities[day]
        return [f for i, f in self.exact.facilities[day].items() if i not in named]

    def days(self) -> list[date]:
        return sorted(self.exact.cells)

    def groups(self) -> list[str]:
        return sorted({group for group, _ in self.exact.cells[self.days()[0]]})

    # The attacks: each adds one kind of relation.

    def complements_within_rows(self) -> None:
        """Age bands against their total, in every row of the report."""
        for day in self.days():
            for group in self.groups():
                self.net.equal(
                    self.cell(day, group, "total"), [self.cell(day, group, b) for b in BANDS]
                )

    def totals_against_parts(self) -> None:
        """Totals against their parts across rows, band by band and in total; the children
        neither discharged nor in care (separated, not yet placed) are a count of their own."""
        for day in self.days():
            for band in ("total", *BANDS):
                c = {group: self.cell(day, group, band) for group in self.groups()}
                self.net.equal(c["discharged.total"], [c[f"discharged.{g}"] for g in DISCHARGED])
                other = c["discharged.other_appropriate_circumstances"]
                self.net.equal(other, [c[f"discharged.{g}"] for g in OTHER_WAYS])
                self.net.equal(c["in_care.total"], [c[f"in_care.{s}"] for s in SITUATIONS])
                waiting = ("waiting", day, band)
                self.net.at_least(
                    c["children"], [c["discharged.total"], c["in_care.total"]], waiting
                )

    def differences_across_month_ends(self) -> None:
        """Each cumulative count, and each named facility's stays, against the month end
        before: the children who came in between are a count of their own. Different
        figures tell the analyst the children differ (the same children give the same
        figure): then at least one came in."""
        for before, after in zip(self.days(), self.days()[1:], strict=False):
            for group in CUMULATIVE:
                for band in ("total", *BANDS):
                    then, now = self.cell(before, group, band), self.cell(after, group, band)
                    self.came_in(
                        now,
                        then,
                        ("came in", after, group, band),
                        self.differ(before, after, group, band),
                    )
            both = set(self.shown.facilities[before]) & set(self.shown.facilities[after])
            for facility_id in sorted(both - {POOLED_ID}):
                now, then = (self.facility(d, facility_id, "stays") for d in (after, before))
                moved = (
                    self.shown.facilities[before][facility_id].stays
                    != self.shown.facilities[after][facility_id].stays
                )
                self.came_in(now, then, ("placed", after, facility_id), moved)

    def differ(self, before: date, after: date, group: str, band: str) -> bool:
        return self.shown.cells[before][(group, band)] != self.shown.cells[after][(group, band)]

    def came_in(self, now: Var, then: Var, name: Var, moved: bool) -> None:
        self.net.at_least(now, [then], name)
        if moved:
            self.net.lo[name] = max(self.net.lo[name], 1)

    def across_facilities(self) -> None:
        """Each facility's census within its stays; the censuses of all rows adding up to
        the children in care, and their stays to the children placed (both hold in this
        list, so the analyst is granted them); the facilities too small to name as unknowns
        of their own under the pooled row; and the pooled row's stays going on into the
        facilities it names later."""
        for day in self.days():
            rows = sorted(self.shown.facilities[day])
            for facility_id in rows:
                self.net.at_least(
                    self.facility(day, facility_id, "stays"),
                    [self.facility(day, facility_id, "census")],
                    ("left", day, facility_id),
                )
            in_care = self.cell(day, "in_care.total", "total")
            placed = [
                self.cell(day, "in_care.total", "total"),
                self.cell(day, "discharged.total", "total"),
            ]
            census = [self.facility(day, f, "census") for f in rows]
            stays = [self.facility(day, f, "stays") for f in rows]
            if self.net.exact[in_care] == sum(self.net.exact[c] for c in census):
                self.net.equal(in_care, census)
            if sum(self.net.exact[p] for p in placed) == sum(self.net.exact[s] for s in stays):
                self.net.sums.append([*((1, p) for p in placed), *((-1, s) for s in stays)])
            if POOLED_ID in rows:
                for figure in ("census", "stays"):
                    small = [
                        self.net.unknown(
                            ("small facility", day, f.facility_id, figure),
                            getattr(f, figure),
                            0,
                            self.named_min - 1,
                        )
                        for f in self.unnamed(day)
                    ]
                    self.net.equal(self.facility(day, POOLED_ID, figure), small)
        for before, after in zip(self.days(), self.days()[1:], strict=False):
            if POOLED_ID not in self.shown.facilities[before]:
                continue
            named = set(self.shown.facilities[after]) - set(self.shown.facilities[before])
            later = [self.facility(after, f, "stays") for f in sorted(named)]
            if POOLED_ID in self.shown.facilities[after]:
                later.append(self.facility(after, POOLED_ID, "stays"))
            rest = ("pool grew", after)
            pooled = self.facility(before, POOLED_ID, "stays")
            self.net.unknown(
                rest, sum(self.net.exact[v] for v in later) - self.net.exact[pooled], 0
            )
            self.net.sums.append([*((1, v) for v in later), (-1, pooled), (-1, rest)])

    def everything(self) -> None:
        self.complements_within_rows()
        self.totals_against_parts()
        self.differences_across_month_ends()
        self.across_facilities()


ATTACKS = [
    "complements_within_rows",
    "totals_against_parts",
    "differences_across_month_ends",
    "across_facilities",
    "everything",
]


def play(exact: Release, shown: Release, attack: str, old: bool = False) -> Network:
    analyst = Attack(
        exact,
        shown,
        suppressed if old else rounded,
        0 if old else NAMED_MIN_STAYS,
    )
    getattr(analyst, attack)()
    analyst.net.propagate()
    return analyst.net


def old_suppression(exact: Release) -> Release:
    """What analysts were shown before: counts from 1 to 4 hidden, with a second band where a
    lone hidden one could be worked out from its row's total; facilities all named, their
    small counts hidden."""
    cells: dict[date, dict[Cell, int | None]] = {}
    for day, counts in exact.cells.items():
        cells[day] = dict(counts)
        for group in {g for g, _ in counts}:
            split = {b: counts[(group, b)] or 0 for b in BANDS}
            hidden = {b for b, n in split.items() if 0 < n < BASE}
            total = counts[(group, "total")] or 0
            if len(hidden) == 1 and total >= BASE:
                shown = sorted((n, b) for b, n in split.items() if b not in hidden)
                hidden.add(next(b for n, b in shown if n > 0))
            for band in hidden:
                cells[day][(group, band)] = None
            if 0 < total < BASE:
                cells[day][(group, "total")] = None
    facilities = {
        day: {
            i: FacilityStats(
                facility_id=i,
                facility_name=f.facility_name,
                census=None if 0 < f.census < BASE else f.census,  # type: ignore[arg-type]
                stays=None if 0 < f.stays < BASE else f.stays,  # type: ignore[arg-type]
                median_days=None,
                p90_days=None,
            )
            for i, f in rows.items()
        }
        for day, rows in exact.facilities.items()
    }
    return Release(cells, facilities)


# The tests.


async def test_analysts_are_answered_the_release_the_attacks_are_played_on(orr: Orr) -> None:
    for role, keys in ((Role.AUDITOR, None), (Role.ANALYST, CellKeys(secret(orr)))):
        reports = release(orr.rows, keys)[0]
        for day, (report, facilities) in reports.items():
            assert orr.answers[role][day] == {
                "courtReport": as_json(report),
                "facilities": as_json(facilities),
            }


def test_every_count_is_a_multiple_of_5_within_4_and_none_from_1_to_4_is_itself(
    orr: Orr,
) -> None:
    for key in (secret(orr), *OTHER_SECRETS):
        shown = orr.shown(key)
        for day, cells in shown.cells.items():
            for cell, figure in cells.items():
                count = orr.exact.cells[day][cell]
                assert figure is not None and count is not None
                assert figure % BASE == 0 and abs(figure - count) <= MAX_COUNT_DEVIATION
                assert count == 0 or count % BASE == 0 or figure != count
        for day, facilities in shown.facilities.items():
            exact = orr.exact.facilities[day]
            for f in facilities.values():
                if f.facility_id != POOLED_ID:
                    assert exact[f.facility_id].stays >= NAMED_MIN_STAYS
                    assert abs(f.stays - exact[f.facility_id].stays) <= MAX_COUNT_DEVIATION


def test_facilities_too_small_to_name_are_never_named(orr: Orr) -> None:
    for day, facilities in orr.answers[Role.ANALYST].items():
        named = {f["facilityName"] for f in facilities["facilities"]}
        for f in orr.exact.facilities[day].values():
            assert (f.facility_name in named) is (f.stays >= NAMED_MIN_STAYS)


async def test_analysts_may_ask_for_month_ends_only(orr: Orr) -> None:
    for day in (date(2018, 6, 1) + timedelta(days=n) for n in range(61)):
        for query in (
            "query($on: Date!) { courtReport(asOf: $on) { asOf } }",
            "query($on: Date!) { facilities(on: $on) { facilityId } }",
        ):
            answer = await ask(orr.container, Role.ANALYST, query, on=day.isoformat())
            if on_calendar(day):
                assert answer.errors is None
            else:
                assert answer.errors and answer.errors[0].extensions == {"code": "OFF_CALENDAR"}
                assert (
                    await ask(orr.container, Role.AUDITOR, query, on=day.isoformat())
                ).errors is None


async def test_repeating_or_reslicing_a_question_averages_nothing_out(orr: Orr) -> None:
    day = date(2018, 7, 31)
    again = await ask(orr.container, Role.ANALYST, QUERY, on=day.isoformat())
    assert again.data == orr.answers[Role.ANALYST][day]
    sliced = await ask(
        orr.container,
        Role.ANALYST,
        """query($on: Date!) { a: courtReport(asOf: $on) { inCare { total { under5 } } }
           b: courtReport(asOf: $on) { inCare { locationUnknown { under5 total } } } }""",
        on=day.isoformat(),
    )
    shown = orr.answers[Role.ANALYST][day]["courtReport"]["inCare"]
    assert sliced.data == {
        "a": {"inCare": {"total": {"under5": shown["total"]["under5"]}}},
        "b": {
            "inCare": {
                "locationUnknown": {k: shown["locationUnknown"][k] for k in ("under5", "total")}
            }
        },
    }
    # Every parent's whereabouts are unknown in the list: that row is the in-care row, the
    # same children, so it is shown the same, and nothing is learnt from the second.
    assert shown["locationUnknown"] == shown["total"]
    # The same children reached through any cell, on any month end, are shown the same.
    seen: dict[tuple[int, int], int] = {}
    for day_rows in orr.rows.values():
        for row in day_rows[0]:
            for column in sql.COURT_REPORT_COUNTS:
                count, key = row[column], fingerprint(row[f"{column}_key"])
                figure = CellKeys(secret(orr)).count(count, key)
                assert seen.setdefault((count, key), figure) == figure
    assert len(seen) < sum(len(r[0]) for r in orr.rows.values()) * len(sql.COURT_REPORT_COUNTS)


async def test_a_report_as_known_at_a_month_start_rounds_the_same_children_the_same(
    orr: Orr,
) -> None:
    day = date(2018, 12, 31)
    now: datetime = await orr.container.database.pool.fetchval("SELECT clock_timestamp()")
    query = """query($on: Date!, $at: DateTime) {
        courtReport(asOf: $on, knownAt: $at) { children { total under5 } } }"""
    vintage = month_end(now.date()) + timedelta(days=1)  # everything recorded is known then
    known = await ask(
        orr.container, Role.ANALYST, query, on=day.isoformat(), at=f"{vintage}T00:00:00Z"
    )
    assert known.errors is None and known.data is not None
    children = orr.answers[Role.ANALYST][day]["courtReport"]["children"]
    assert known.data["courtReport"]["children"] == {k: children[k] for k in ("total", "under5")}
    # Any other moment is refused: every moment would round every recorded change afresh.
    for moment in (
        now.isoformat(),
        f"{vintage}T00:00:01Z",
        f"{vintage - timedelta(days=1)}T00:00:00Z",
    ):
        off = await ask(orr.container, Role.ANALYST, query, on=day.isoformat(), at=moment)
        assert off.errors and off.errors[0].extensions == {"code": "OFF_CALENDAR"}


@pytest.mark.parametrize("attack", ATTACKS)
def test_no_attack_recovers_a_count_from_1_to_4(orr: Orr, attack: str) -> None:
    net = play(orr.exact, orr.shown(secret(orr)), attack)
    print(f"{attack}: {net.at_stake()} counts from 1 to 4 at stake, none recovered,")
    print(f"  the narrowest left {net.narrowest()} values possible")
    assert net.at_stake() > 0
    assert net.recovered() == []


def test_under_other_secrets_all_attacks_at_once_recover_nothing_either(orr: Orr) -> None:
    at_stake = 0
    for key in OTHER_SECRETS:
        net = play(orr.exact, orr.shown(key), "everything")
        assert net.recovered() == []
        at_stake += net.at_stake()
    assert at_stake > 0


def test_the_same_attacks_recover_counts_from_the_suppression_before(orr: Orr) -> None:
    net = play(orr.exact, old_suppression(orr.exact), "everything", old=True)
    found = net.recovered()
    print(f"suppression before: {len(found)} of {net.at_stake()} counts from 1 to 4 recovered")
    # Month ends only, and still: differences, complements and totals give counts back.
    assert len(found) > 100
    assert {name[0] for name, _ in found} >= {"cell", "came in", "placed"}


def test_days_in_care_are_shown_only_over_20_stays_in_whole_weeks(orr: Orr) -> None:
    for key in (secret(orr), *OTHER_SECRETS):
        for day, facilities in orr.shown(key).facilities.items():
            for f in facilities.values():
                for figure in ("median_days", "p90_days"):
                    shown = getattr(f, figure)
                    if f.facility_id == POOLED_ID or shown is None:
                        continue
                    exact = orr.exact.facilities[day][f.facility_id]
                    assert exact.stays >= DISTRIBUTION_MIN_STAYS
                    assert shown % WEEK == 0 and abs(shown - getattr(exact, figure)) < WEEK
            if POOLED_ID in facilities:
                assert facilities[POOLED_ID].median_days is None


def drift_runs(orr: Orr, figure: str) -> Iterator[tuple[str, list[tuple[int, float, float]]]]:
    """Runs of month ends over which a facility's exact figure grew by exactly the days
    between them (an open stay at the median or the 90th percentile, nothing else moving):
    the analyst's best case, granted to them. Each: (days since the run began, exact, shown)."""
    shown = orr.shown(secret(orr)).facilities
    series: dict[str, list[tuple[date, float, float]]] = defaultdict(list)
    for day in sorted(shown):
        for f in shown[day].values():
            figure_shown = getattr(f, figure)
            if f.facility_id != POOLED_ID and figure_shown is not None:
                exact = getattr(orr.exact.facilities[day][f.facility_id], figure)
                series[f.facility_id].append((day, exact, figure_shown))
    for facility_id, points in series.items():
        start = 0
        while start < len(points) - 1:
            end = start
            first_day, first, _ = points[start]
            while (
                end + 1 < len(points)
                and points[end + 1][1] - first == (points[end + 1][0] - first_day).days
            ):
                end += 1
            if end > start:
                yield (
                    facility_id,
                    [((d - first_day).days, e, s) for d, e, s in points[start : end + 1]],
                )
            start = max(end, start + 1)


@pytest.mark.parametrize("figure", ["median_days", "p90_days"])
def test_a_figure_of_days_that_grows_with_an_open_stay_never_narrows_to_one_day(
    orr: Orr, figure: str
) -> None:
    """The analyst assumes the figure is one open stay's, growing day by day, and that the
    figure is rounded on one grid throughout (its key is the facility's). They learn the
    figure plus the grid's offset, which they never learn: at least a week of days stays
    possible."""
    runs = list(drift_runs(orr, figure))
    for facility_id, run in runs:
        first = run[0][1]
        possible = []
        for tenths in range(int((run[0][2] - WEEK) * 10), int((run[0][2] + WEEK) * 10) + 1):
            candidate = tenths / 10
            # Every way of rounding: the key's position in [0, 1) decides, and figures in
            # tenths of a day change rounding only at multiples of 1/70.
            if candidate >= 0 and any(
                all(
                    random_round(candidate + grown, WEEK, int((k + 0.5) / 70 * 2**64)) == shown
                    for grown, _, shown in run
                )
                for k in range(70)
            ):
                possible.append(candidate)
        assert round(first, 1) in possible, (facility_id, run)  # the attacker is sound
        whole_days = [c for c in possible if c == int(c)]
        print(f"{figure} {facility_id}: {len(run)} month ends, {len(whole_days)} days possible")
        assert len(whole_days) >= 2, (facility_id, run, whole_days)
    assert figure == "median_days" or runs  # the list has such runs: the attack is played
