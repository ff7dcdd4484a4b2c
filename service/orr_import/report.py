"""What an import did, row by row and in total, and the two files that record it.

The rejects file lists every record that did not become a case (the reader's rejects and
the importer's), one CSV row each: row number, line number, reason, the cells as read.
The summary file beside it holds the counts as JSON; `text()` prints the same counts.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any
from uuid import UUID

from service.orr_import.row import Rejected
from service.settings import write_private


class Outcome(Enum):
    """What became of one readable row."""

    IMPORTED = "imported"
    ALREADY_IMPORTED = "already_imported"
    CONFLICT = "conflict"


@dataclass(frozen=True)
class RowOutcome:
    """One row's outcome, the data-quality rules its case carries, and why, for a conflict."""

    row_number: int
    outcome: Outcome
    rules: tuple[str, ...] = ()
    events: int = 0
    detail: str = ""


@dataclass(frozen=True)
class ImportReport:
    """Every record of one file accounted for: rows_read == rejected + the outcomes."""

    file_name: str
    sha256: str
    actor: str
    started_at: datetime
    correlation_id: UUID
    rows_read: int
    rejected: tuple[Rejected, ...]
    outcomes: tuple[RowOutcome, ...]
    seconds: float

    def count(self, outcome: Outcome) -> int:
        """How many rows had this outcome."""
        return sum(o.outcome is outcome for o in self.outcomes)

    @property
    def conflicts(self) -> tuple[RowOutcome, ...]:
        """The rows that differ from what was imported under the same name and number."""
        return tuple(o for o in self.outcomes if o.outcome is Outcome.CONFLICT)

    @property
    def events_appended(self) -> int:
        """Events this run wrote (none for rows imported before)."""
        return sum(o.events for o in self.outcomes)

    def flagged_by_rule(self) -> dict[str, int]:
        """Rows of the file's cases carrying each rule, whichever run imported them."""
        cases = (o for o in self.outcomes if o.outcome is not Outcome.CONFLICT)
        return dict(sorted(Counter(rule for o in cases for rule in o.rules).items()))

    def rejected_by_reason(self) -> dict[str, int]:
        """Rejected records counted by reason, the commonest first."""
        return dict(Counter(r.reason for r in self.rejected).most_common())

    def as_json(self) -> dict[str, Any]:
        """The summary file's content."""
        return {
            "file": self.file_name,
            "sha256": self.sha256,
            "actor": self.actor,
            "started_at": self.started_at.isoformat(),
            "correlation_id": str(self.correlation_id),
            "rows_read": self.rows_read,
            "imported": self.count(Outcome.IMPORTED),
            "already_imported": self.count(Outcome.ALREADY_IMPORTED),
            "rejected": len(self.rejected),
            "rejected_by_reason": self.rejected_by_reason(),
            "conflicts": [{"row": c.row_number, "detail": c.detail} for c in self.conflicts],
            "flagged_rows": sum(
                bool(o.rules) for o in self.outcomes if o.outcome is not Outcome.CONFLICT
            ),
            "flagged_by_rule": self.flagged_by_rule(),
            "events_appended": self.events_appended,
            "seconds": round(self.seconds, 3),
        }


def report_paths(directory: Path, file_name: str) -> tuple[Path, Path]:
    """Where the rejects CSV and the summary JSON of a file's import go."""
    return directory / f"{file_name}.rejects.csv", directory / f"{file_name}.summary.json"


def write_report(report: ImportReport, directory: Path) -> tuple[Path, Path]:
    """Write the rejects and the summary side by side (replacing an earlier run's), 0600:
    the rejected cells are children's personal data."""
    rejects, summary = report_paths(directory, report.file_name)
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(["row", "line", "reason", "cells"])
    for r in sorted(report.rejected, key=lambda r: r.row_number):
        writer.writerow([r.row_number, r.line_number, r.reason, json.dumps(list(r.raw))])
    write_private(rejects, out.getvalue())
    write_private(summary, json.dumps(report.as_json(), indent=2) + "\n")
    return rejects, summary


def text(report: ImportReport) -> str:
    """The summary as lines for a terminal."""
    s = report.as_json()
    lines = [
        f"{s['file']} (sha256 {s['sha256'][:12]}…)",
        f"  rows read         {s['rows_read']:>6}",
        f"  imported          {s['imported']:>6}  ({s['events_appended']} events)",
        f"  already imported  {s['already_imported']:>6}",
        f"  rejected          {s['rejected']:>6}",
        *(f"    {n:>6}  {reason}" for reason, n in s["rejected_by_reason"].items()),
        f"  conflicts         {len(s['conflicts']):>6}",
        *(f"    row {c['row']}: {c['detail']}" for c in s["conflicts"]),
        f"  flagged           {s['flagged_rows']:>6}",
        *(f"    {n:>6}  {rule}" for rule, n in s["flagged_by_rule"].items()),
    ]
    return "\n".join(lines)
