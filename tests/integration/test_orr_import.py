"""Importing the ORR list: every record accounted for, idempotent, conflicts reported, flagged."""

from __future__ import annotations

import argparse
import csv
import getpass
import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from service.application.container import Container
from service.eventstore.store import EventStore
from service.orr_import.command import DEMO_FILE, import_command
from service.orr_import.identity import CaseIds
from service.orr_import.importer import OrrImporter
from service.orr_import.report import ImportReport, Outcome, write_report

pytestmark = pytest.mark.integration

HEADER = (
    "AGE,GENDER,COO,DATE_APPREHENDED,REFERRAL_DATE,DATE_ORR_APPROVED,REFERRING OFFICE,"
    "FACILITY_APPROVED,REUNITIED_SEP_PARENTS,UAC STATUS,Date Discharged,Reason fo Separation"
)
REUNITED = (
    '4,M,Guatemala,6/15/2018,6/18/2018,6/20/2018,"El Paso  (ELP)",Cayuga Centers,'
    "Reunited with Sep Parent,DISCHARGED,7/11/2018,Zero Tolerance Policy"
)
IN_CARE = (
    '13,F,Honduras,5/16/2018,5/18/2018,5/20/2018,"Phoenix, AZ  (PHO)",Homestead,'
    "Still in Care,ADMITTED,,Parent has Criminal History"
)
OTHER = (
    "9,M,Mexico,5/21/2018,5/22/2018,5/22/2018,San Diego  (SND),Southwest Key Campbell,"
    "Discharged Under other approp circumstances,DISCHARGED,8/22/2018,Zero Tolerance Policy"
)
LETTERS = "A,B,C,D,E,F,G,H,I,J,K,L"
NO_DAY = REUNITED.replace("7/11/2018", "")  # reunited, no discharge date
OVER_AGE = "19" + OTHER[1:]
APPROVED_EARLY = IN_CARE.replace("5/18/2018,5/20/2018", "5/18/2018,5/17/2018")


def orr_file(directory: Path, *rows: str, name: str = "orr-test.csv") -> Path:
    """A list with the source's header and these rows (row 2 onwards)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


async def run(store: EventStore, path: Path, batch_size: int = 2) -> ImportReport:
    return await OrrImporter(store, batch_size=batch_size, actor="ana.admin").run(path)


def outcomes(report: ImportReport) -> dict[int, Outcome]:
    return {o.row_number: o.outcome for o in report.outcomes}


async def stream_count(container: Container) -> int:
    return int(
        await container.database.pool.fetchval("SELECT count(DISTINCT stream_id) FROM events")
    )


async def test_every_record_is_imported_or_listed_with_its_reason(
    container: Container, tmp_path: Path
) -> None:
    unreadable = "twelve" + REUNITED[1:]
    undated = REUNITED.replace("6/15/2018", "")
    path = orr_file(tmp_path, REUNITED, LETTERS, unreadable, IN_CARE, undated, OTHER)
    report = await run(container.store, path)

    assert outcomes(report) == {2: Outcome.IMPORTED, 5: Outcome.IMPORTED, 7: Outcome.IMPORTED}
    assert report.rows_read == 6 == len(report.rejected) + len(report.outcomes)
    assert await stream_count(container) == 3
    rejects, summary = write_report(report, tmp_path / "out")
    with rejects.open(encoding="utf-8") as f:
        listed = {int(r["row"]): r["reason"] for r in csv.DictReader(f)}
    assert listed == {
        3: "spreadsheet column-letter row, not data",
        4: "AGE: not a whole number of years: 'twelve'",
        6: "not recordable: DATE_APPREHENDED blank: the step it dates cannot be recorded undated",
    }
    counts = json.loads(summary.read_text())
    assert (counts["rows_read"], counts["imported"], counts["rejected"]) == (6, 3, 3)
    assert (counts["already_imported"], counts["conflicts"], counts["flagged_rows"]) == (0, [], 0)


async def test_importing_the_same_file_again_appends_nothing(
    container: Container, tmp_path: Path
) -> None:
    path = orr_file(tmp_path, REUNITED, IN_CARE, OTHER, NO_DAY, LETTERS)
    first = await run(container.store, path)
    head = await container.store.head()
    again = await run(container.store, path, batch_size=3)

    assert first.count(Outcome.IMPORTED) == again.count(Outcome.ALREADY_IMPORTED) == 4
    assert (again.events_appended, await container.store.head()) == (0, head)
    assert again.flagged_by_rule() == first.flagged_by_rule() == {"discharged_without_date": 1}


async def test_a_changed_row_is_a_conflict_and_the_first_import_stands(
    container: Container, tmp_path: Path
) -> None:
    path = orr_file(tmp_path / "v1", REUNITED, IN_CARE, OTHER)
    await run(container.store, path)
    case = CaseIds.of(path.name, 3).family
    before = await container.store.read_stream(case)

    changed = orr_file(tmp_path / "v2", REUNITED, IN_CARE.replace("13,F", "14,F"), OTHER, NO_DAY)
    args = argparse.Namespace(
        file=changed, report_dir=tmp_path / "out", batch_size=2, no_projections=True
    )
    assert await import_command(container, args) == 1  # non-zero: a row conflicts

    assert await container.store.read_stream(case) == before
    summary = json.loads((tmp_path / "out" / f"{path.name}.summary.json").read_text())
    assert [c["row"] for c in summary["conflicts"]] == [3]
    assert "nothing was overwritten" in summary["conflicts"][0]["detail"]
    assert (summary["already_imported"], summary["imported"]) == (2, 1)


class RacedStore(EventStore):
    """A store whose batch check never sees taken keys, as if another import raced it."""

    async def command_digests(self, keys: Sequence[str]) -> dict[str, bytes]:
        return {}


async def test_a_row_another_writer_took_meanwhile_fails_alone(
    container: Container, tmp_path: Path
) -> None:
    await run(container.store, orr_file(tmp_path / "v1", REUNITED, IN_CARE))
    raced = RacedStore(container.database.pool, container.store.mapper)
    path = orr_file(tmp_path / "v2", REUNITED, IN_CARE.replace("13,F", "14,F"), OTHER)
    report = await run(raced, path, batch_size=10)

    assert outcomes(report) == {
        2: Outcome.ALREADY_IMPORTED,
        3: Outcome.CONFLICT,
        4: Outcome.IMPORTED,
    }
    assert "different command" in report.conflicts[0].detail
    assert await stream_count(container) == 3


async def test_rows_that_break_rules_are_imported_and_flagged(
    container: Container, tmp_path: Path
) -> None:
    path = orr_file(tmp_path, OVER_AGE, APPROVED_EARLY, NO_DAY, REUNITED)
    report = await run(container.store, path)
    await container.runner.catch_up()

    assert report.count(Outcome.IMPORTED) == 4
    flagged = await container.database.pool.fetch(
        "SELECT f.rule, f.version, c.age FROM data_quality_flags f"
        " JOIN child_case c USING (family_id) ORDER BY c.age, f.rule"
    )
    assert [tuple(r) for r in flagged] == [
        ("discharged_without_date", 9, 4),  # about the Reunified entry
        ("approved_before_referral", 8, 13),  # about the ChildPlaced entry
        ("age_over_17", 2, 19),  # about the child's MemberAdded entry
    ]


async def test_an_unknown_discharge_day_stays_unknown_in_the_log_and_read_models(
    container: Container, tmp_path: Path
) -> None:
    await run(container.store, orr_file(tmp_path, NO_DAY))
    await container.runner.catch_up()
    pool, family = container.database.pool, CaseIds.of("orr-test.csv", 2).family

    logged = await pool.fetchrow(
        "SELECT occurred_at FROM events WHERE stream_id = $1 AND topic LIKE '%Reunified'", family
    )
    child = await pool.fetchrow(
        "SELECT status, discharged_at FROM child_case WHERE family_id = $1", family
    )
    shown = await pool.fetchval(
        "SELECT occurred_at FROM timeline WHERE family_id = $1 AND event_type = 'Reunified'",
        family,
    )
    assert logged is not None and logged["occurred_at"] is None
    assert child is not None and (child["status"], child["discharged_at"]) == ("reunified", None)
    assert shown is None


async def test_every_event_names_the_file_its_hash_the_row_and_who_imported_it(
    container: Container, tmp_path: Path
) -> None:
    path = orr_file(tmp_path, REUNITED, IN_CARE)
    report = await OrrImporter(container.store).run(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()

    rows = await container.database.pool.fetch(
        "SELECT DISTINCT source, actor, role, reason, correlation_id FROM events ORDER BY source"
    )
    assert [tuple(r) for r in rows] == [
        (
            f"import:orr-test.csv sha256:{digest} row {n}",
            getpass.getuser(),
            "admin",
            "ORR 2018 separated-children list",
            report.correlation_id,
        )
        for n in (2, 3)
    ]


async def test_the_whole_list_is_imported_and_projected_in_well_under_a_minute(
    container: Container, tmp_path: Path
) -> None:
    began = time.perf_counter()
    report = await OrrImporter(container.store).run(DEMO_FILE)
    await container.runner.catch_up(within=120)
    seconds = time.perf_counter() - began

    assert (report.rows_read, len(report.rejected), report.count(Outcome.IMPORTED)) == (
        3170,
        62,
        3108,
    )
    assert report.flagged_by_rule() == {
        "age_over_17": 4,
        "approved_before_referral": 15,
        "before_apprehension": 2,
        "dates_out_of_order": 2,
        "discharged_without_date": 2,
        "referring_office_blank": 24,
    }
    assert await container.database.pool.fetchval("SELECT count(*) FROM child_case") == 3108
    assert seconds < 60, f"import and projection took {seconds:.1f} s"
