"""`reunite import orr FILE`, and the demo data `reunite serve --demo` imports.

Exit status of the import: 0 when every readable row is in the log (imported now or
before), 1 when a row conflicts with what was imported before, 2 when the file cannot be
read at all. Rejected records do not change the status: they are listed, not lost.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from service.application.container import Container
from service.orr_import.importer import BATCH_SIZE, OrrImporter
from service.orr_import.progress import for_stream
from service.orr_import.reader import OrrFileError
from service.orr_import.report import ImportReport, Outcome, text, write_report
from service.settings import Settings

COMMANDS = frozenset({"import"})
# The project's own copy (see data/README.md); found beside the source tree.
DEMO_FILE = Path(__file__).resolve().parents[2] / "data" / "orr-separated-children-2018.csv"


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `import orr` on the `reunite` parser."""
    sources = subparsers.add_parser("import", help="import legacy records").add_subparsers(
        dest="source", required=True
    )
    orr = sources.add_parser("orr", help="the 2018 ORR list of separated children (CSV)")
    orr.add_argument("file", type=Path, metavar="FILE")
    orr.add_argument(
        "--report-dir",
        type=Path,
        help="where FILE.rejects.csv and FILE.summary.json go (default: DATA_DIR/imports)",
    )
    orr.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="cases per transaction")
    orr.add_argument(
        "--no-projections",
        action="store_true",
        help="leave the read models to the server instead of bringing them up to date here",
    )


def report_dir(settings: Settings) -> Path:
    """Where import reports go unless told otherwise."""
    return settings.private_data_dir() / "imports"


async def import_command(container: Container, args: argparse.Namespace) -> int:
    """Import one file, write its report, bring the read models up to date; exit status."""
    importer = OrrImporter(container.store, batch_size=args.batch_size, progress=for_stream())
    try:
        report = await importer.run(args.file)
    except (OrrFileError, OSError) as error:
        print(f"reunite import orr: {error}", file=sys.stderr)
        return 2
    rejects, summary = write_report(report, args.report_dir or report_dir(container.settings))
    print(text(report))
    print(f"imported in {report.seconds:.1f} s; rejects: {rejects}; summary: {summary}")
    if not args.no_projections:
        began = time.perf_counter()
        applied = await container.runner.catch_up(within=600)
        print(f"read models up to date: {applied} events applied in {_since(began):.1f} s")
    return 1 if report.conflicts else 0


async def import_demo(container: Container) -> int:
    """Import the project's copy of the list; a restart finds it imported and adds nothing."""
    report = await OrrImporter(container.store, progress=for_stream()).run(DEMO_FILE)
    _, summary = write_report(report, report_dir(container.settings))
    print(demo_line(report) + f" (summary: {summary})")
    # Project before serving, so the first queries of a demo already see the whole list.
    await container.runner.catch_up()
    return 1 if report.conflicts else 0


def demo_line(report: ImportReport) -> str:
    """One line on what the demo import did."""
    return (
        f"demo data {report.file_name}: {report.count(Outcome.IMPORTED)} cases imported, "
        f"{report.count(Outcome.ALREADY_IMPORTED)} already there, "
        f"{len(report.rejected)} records rejected, {len(report.conflicts)} conflicts"
    )


def _since(began: float) -> float:
    return time.perf_counter() - began
