"""Assemble the court report's typed figures from the per-age-band SQL rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from schema.read_types import Counts, CourtReport, Discharged, InCareByParentSituation

BANDS = {"0-4": "under_5", "5-17": "from_5_to_17", "18+": "adult", "unknown": "unknown_age"}


SMALL = 5  # counts from 1 to SMALL - 1 could identify a child: suppressed for analysts


def suppress(count: int, small_counts_hidden: bool) -> int | None:
    """The count, or None where it is small enough to identify someone."""
    return None if small_counts_hidden and 0 < count < SMALL else count


def hidden_bands(total: int, split: dict[str, int]) -> set[str]:
    """The age bands to hide: the small ones, and, where a single small band is hidden
    under a total that is shown, the next smallest as well, so that the total minus the
    bands shown does not give the hidden one back (complementary suppression, within a row).
    """
    hidden = {band for band, count in split.items() if 0 < count < SMALL}
    if len(hidden) == 1 and total >= SMALL:
        shown = sorted((count, band) for band, count in split.items() if band not in hidden)
        hidden.add(next(band for count, band in shown if count > 0))
    return hidden


def build_report(as_of: date, rows: Sequence[Any], small_counts_hidden: bool) -> CourtReport:
    """The report for one date from COURT_REPORT's rows."""

    def counts(*columns: str) -> Counts:
        split = dict.fromkeys(BANDS.values(), 0)
        for row in rows:
            split[BANDS[row["age_band"]]] += sum(row[c] for c in columns)
        total = sum(split.values())
        if not small_counts_hidden:
            return Counts(total=total, **split)
        hidden = hidden_bands(total, split)
        return Counts(
            total=suppress(total, True),
            **{k: None if k in hidden else v for k, v in split.items()},
        )

    return CourtReport(
        as_of=as_of,
        children=counts("total"),
        discharged=Discharged(
            total=counts("discharged"),
            reunified_with_separated_parent=counts("reunified"),
            other_appropriate_circumstances=counts("sponsor", "aged_out", "other"),
            sponsor=counts("sponsor"),
            aged_out=counts("aged_out"),
            other=counts("other"),
        ),
        in_care=InCareByParentSituation(
            total=counts("in_care"),
            removed=counts("removed"),
            ice_custody=counts("ice_custody"),
            criminal_custody=counts("criminal_custody"),
            released_interior=counts("released_interior"),
            location_unknown=counts("location_unknown"),
            ineligible=counts("ineligible"),
            waived=counts("waived"),
        ),
    )
