"""The ORR list through the importer and GraphQL agrees with the list read by hand.

The expected figures come from the CSV file alone, with the csv module and nothing of the
project: the sheet's column-letter rows are skipped, labels read by their key word. The
service is asked through GraphQL over HTTP: courtReport(asOf:) and children(filter:).
Other tests share the session database, so every figure is compared as the change the
import made: after minus before.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.access.auth import Role
from service.application.container import Container
from service.orr_import.importer import OrrImporter
from service.orr_import.report import Outcome
from service.postgres.database import Database
from service.settings import Settings
from tests.scenarios.graphql import Client, token

pytestmark = pytest.mark.e2e

FILE = Path(__file__).resolve().parents[2] / "data" / "orr-separated-children-2018.csv"
# The court's dates, and one (2019-02-14) on which a child was in care before the
# apprehension date the file gives (row 2963): in care, so counted as separated too.
DATES = ["2018-06-20", "2018-07-26", "2018-08-30", "2018-12-31", "2019-02-14", "2030-01-01"]
COUNTRIES = {"Angola": "AO", "Belize": "BZ", "Brazil": "BR", "Colombia": "CO", "Congo": "CG"}
COUNTRIES |= {"Ecuador": "EC", "El Salvador": "SV", "Guatemala": "GT", "Honduras": "HN"}
COUNTRIES |= {"India": "IN", "Mexico": "MX", "Nicaragua": "NI", "Peru": "PE", "Romania": "RO"}
COUNTRIES |= {"United Kingdom": "GB"}
BANDS = {"under5": "UNDER_5", "from5To17": "FROM_5_TO_17", "adult": "ADULT"}
STATUSES = ("IN_CARE", "REUNIFIED", "DISCHARGED")
COUNTS = "{ total under5 from5To17 adult unknownAge }"
REPORT = f"""query($asOf: Date!) {{ courtReport(asOf: $asOf) {{
  children {COUNTS}
  discharged {{ total {COUNTS} reunifiedWithSeparatedParent {COUNTS}
               otherAppropriateCircumstances {COUNTS} }}
  inCare {{ total {COUNTS} locationUnknown {COUNTS} }} }} }}"""
CHILDREN = """query($after: String, $filter: ChildFilter) {
  children(first: 100, after: $after, filter: $filter) {
    edges { node { age sex country status separatedAt referredAt placedAt dischargedAt
                   separationReasonText } }
    pageInfo { hasNextPage endCursor } } }"""


@dataclass(frozen=True)
class Row:
    """One child as the file gives it."""

    age: int
    sex: str
    country: str
    apprehended: date
    referred: date
    approved: date
    discharged: date | None
    status: str
    reason: str

    @property
    def band(self) -> str:
        return "under5" if self.age <= 4 else "from5To17" if self.age <= 17 else "adult"

    def in_care_on(self, day: date) -> bool:
        return self.approved <= day and (self.discharged is None or self.discharged > day)

    def as_node(self) -> tuple[Any, ...]:
        """The row as the children query answers it."""
        return (
            self.age,
            self.sex,
            self.country,
            self.apprehended.isoformat(),  # the separation is dated the apprehension day
            self.referred.isoformat(),
            self.approved.isoformat(),
            self.discharged.isoformat() if self.discharged else None,
            self.status,
            self.reason,
        )


def when(text: str) -> date | None:
    return datetime.strptime(text.strip(), "%m/%d/%Y").date() if text.strip() else None


def known(text: str) -> date:
    day = when(text)
    assert day is not None
    return day


def status(label: str) -> str:
    words = label.lower()
    return "REUNIFIED" if "reunited" in words else "DISCHARGED" if "other" in words else "IN_CARE"


def rows_of(path: Path) -> list[Row]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        return [
            Row(
                int(r["AGE"]),
                {"M": "male", "F": "female"}[r["GENDER"].strip()],
                COUNTRIES[r["COO"].strip()],
                known(r["DATE_APPREHENDED"]),
                known(r["REFERRAL_DATE"]),
                known(r["DATE_ORR_APPROVED"]),
                when(r["Date Discharged"]),
                status(r["REUNITIED_SEP_PARENTS"]),
                r["Reason fo Separation"].strip(),
            )
            for r in csv.DictReader(f)
            if r["AGE"].strip() != "A"  # the spreadsheet's column-letter rows
        ]


def by_band(rows: list[Row]) -> dict[str, int]:
    found = Counter(r.band for r in rows)
    return {"total": len(rows), **{b: found[b] for b in BANDS}, "unknownAge": 0}


def expected_report(rows: list[Row], day: date) -> dict[str, Any]:
    """The report's figures as of a day, from the file alone."""
    gone = [r for r in rows if r.discharged is not None and r.discharged <= day]
    in_care = [r for r in rows if r.in_care_on(day)]
    return {
        "children": by_band([r for r in rows if min(r.apprehended, r.approved) <= day]),
        "discharged": {
            "total": by_band(gone),
            "reunifiedWithSeparatedParent": by_band([r for r in gone if r.status == "REUNIFIED"]),
            "otherAppropriateCircumstances": by_band([r for r in gone if r.status == "DISCHARGED"]),
        },
        # The file says nothing of the parents: every one's whereabouts are unknown.
        "inCare": {"total": by_band(in_care), "locationUnknown": by_band(in_care)},
    }


@dataclass
class Figures:
    """What GraphQL answers, for the report dates and the children lists."""

    reports: dict[str, dict[str, Any]]
    nodes: Counter[tuple[Any, ...]]
    filtered: dict[str, int]


async def nodes(client: Client, flt: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every child the filter lets through, page by page."""
    found, after = [], None
    while True:
        page = (await client.run(CHILDREN, after=after, filter=flt))["children"]
        found += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


def node_key(node: dict[str, Any]) -> tuple[Any, ...]:
    fields = ("age", "sex", "country", "separatedAt", "referredAt", "placedAt", "dischargedAt")
    return (*(node[f] for f in fields), node["status"], node["separationReasonText"])


async def figures(client: Client) -> Figures:
    reports = {d: (await client.run(REPORT, asOf=d))["courtReport"] for d in DATES}
    filtered = {s: len(await nodes(client, {"status": s})) for s in STATUSES}
    for band, value in BANDS.items():
        filtered[band] = len(await nodes(client, {"ageBand": value}))
    return Figures(reports, Counter(map(node_key, await nodes(client))), filtered)


def minus(after: Any, before: Any) -> Any:
    """after - before, field by field through the nested report."""
    if isinstance(after, dict):
        return {k: minus(v, before[k]) for k, v in after.items()}
    return after - before


@pytest.fixture(scope="module")
async def change(
    server: str, server_settings: Settings, settings: Settings, database: Database
) -> AsyncIterator[tuple[Figures, Figures]]:
    """The figures before and after the file is imported into the served database."""
    container = await Container.build(settings, database)
    async with httpx.AsyncClient(base_url=server, timeout=60) as http:
        client = Client(http, token(server_settings, Role.CASEWORKER))
        await container.runner.catch_up(within=120)
        before = await figures(client)
        report = await OrrImporter(container.store).run(FILE)
        assert report.count(Outcome.IMPORTED) == 3108, "the file was imported here before"
        await container.runner.catch_up(within=120)
        yield before, await figures(client)


@pytest.fixture(scope="module")
def rows() -> list[Row]:
    return rows_of(FILE)


def reports(change: tuple[Figures, Figures]) -> Iterator[tuple[str, dict[str, Any]]]:
    before, after = change
    for day in DATES:
        yield day, minus(after.reports[day], before.reports[day])


async def test_the_report_as_of_each_date_matches_the_file(
    change: tuple[Figures, Figures], rows: list[Row]
) -> None:
    for day, report in reports(change):
        assert report == expected_report(rows, date.fromisoformat(day)), day


async def test_children_in_care_on_the_courts_dates(
    change: tuple[Figures, Figures], rows: list[Row]
) -> None:
    in_care = {day: r["inCare"]["total"]["total"] for day, r in reports(change)}
    expected = {d: sum(r.in_care_on(date.fromisoformat(d)) for r in rows) for d in DATES}
    assert in_care == expected


async def test_children_by_status_and_age_band_match_the_file(
    change: tuple[Figures, Figures], rows: list[Row]
) -> None:
    before, after = change
    counted = {k: v - before.filtered[k] for k, v in after.filtered.items()}
    statuses = Counter(r.status for r in rows)
    bands = Counter(r.band for r in rows)
    assert counted == {**{s: statuses[s] for s in STATUSES}, **{b: bands[b] for b in BANDS}}


async def test_every_child_of_the_file_is_listed_once_as_the_file_gives_it(
    change: tuple[Figures, Figures], rows: list[Row]
) -> None:
    before, after = change
    assert after.nodes - before.nodes == Counter(r.as_node() for r in rows)
