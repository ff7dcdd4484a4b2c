"""Assemble the court report's typed figures from the per-age-band SQL rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from schema.read_types import Counts, CourtReport, Discharged, InCareByParentSituation

BANDS = {"0-4": "under_5", "5-17": "from_5_to_17", "18+": "adult", "unknown": "unknown_age"}


def counts(rows: Sequence[Any], *columns: str) -> Counts:
    """Sum the given columns, split by age band."""
    split = dict.fromkeys(BANDS.values(), 0)
    for row in rows:
        split[BANDS[row["age_band"]]] += sum(row[c] for c in columns)
    return Counts(total=sum(split.values()), **split)


def build_report(as_of: date, rows: Sequence[Any]) -> CourtReport:
    """The report for one date from COURT_REPORT's rows."""
    return CourtReport(
        as_of=as_of,
        children=counts(rows, "total"),
        discharged=Discharged(
            total=counts(rows, "discharged"),
            reunified_with_separated_parent=counts(rows, "reunified"),
            other_appropriate_circumstances=counts(rows, "sponsor", "aged_out", "other"),
            sponsor=counts(rows, "sponsor"),
            aged_out=counts(rows, "aged_out"),
            other=counts(rows, "other"),
        ),
        in_care=InCareByParentSituation(
            total=counts(rows, "in_care"),
            removed=counts(rows, "removed"),
            ice_custody=counts(rows, "ice_custody"),
            criminal_custody=counts(rows, "criminal_custody"),
            released_interior=counts(rows, "released_interior"),
            location_unknown=counts(rows, "location_unknown"),
            ineligible=counts(rows, "ineligible"),
            waived=counts(rows, "waived"),
        ),
    )
