"""The court report's and the facilities' typed figures from their SQL rows: exact, or as
analysts are shown them (schema.disclosure, ADR 0013)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from schema.disclosure import (
    NAMED_MIN_STAYS,
    POOLED_ID,
    POOLED_NAME,
    CellKeys,
    Purpose,
    exact,
    fingerprint,
)
from schema.read_types import (
    Counts,
    CourtReport,
    Discharged,
    FacilityStats,
    InCareByParentSituation,
)

BANDS = {"0-4": "under_5", "5-17": "from_5_to_17", "18+": "adult", "unknown": "unknown_age"}


def build_report(as_of: date, rows: Sequence[Any], keys: CellKeys | None = None) -> CourtReport:
    """The report for one date from COURT_REPORT's rows: exact without keys; with them as
    analysts see it, every figure, totals included, rounded from its own exact count and
    fingerprint (never summed from rounded figures)."""

    def counts(*columns: str) -> Counts:
        split = {band: [0, 0] for band in BANDS.values()}
        for row in rows:
            figure = split[BANDS[row["age_band"]]]
            figure[0] += sum(row[c] for c in columns)
            if keys is not None:
                figure[1] += sum(fingerprint(row[f"{c}_key"]) for c in columns)
        total = [sum(figure[n] for figure in split.values()) for n in (0, 1)]
        shown = exact if keys is None else keys.count
        return Counts(
            total=shown(*total), **{band: shown(*figure) for band, figure in split.items()}
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


def facility_figures(rows: Sequence[Any], keys: CellKeys | None = None) -> list[FacilityStats]:
    """FACILITIES' rows as figures: exact without keys; with them as analysts see them:
    facilities with fewer than NAMED_MIN_STAYS stays pooled in one row (with no
    distribution), counts rounded by their cell keys, ordered by the census shown."""
    if keys is None:
        return [
            FacilityStats(
                facility_id=r["facility_id"],
                facility_name=r["facility_name"],
                census=r["census"],
                stays=r["stays"],
                median_days=r["median_days"],
                p90_days=r["p90_days"],
            )
            for r in rows
        ]
    named = [r for r in rows if r["stays"] >= NAMED_MIN_STAYS]
    small = [r for r in rows if r["stays"] < NAMED_MIN_STAYS]

    def shown(row: Any, facility_id: str, name: str) -> FacilityStats:
        stays = row["stays"]
        return FacilityStats(
            facility_id=facility_id,
            facility_name=name,
            census=keys.count(row["census"], fingerprint(row["census_key"])),
            stays=keys.count(stays, fingerprint(row["stays_key"])),
            median_days=keys.days(row["median_days"], stays, facility_id, Purpose.MEDIAN),
            p90_days=keys.days(row["p90_days"], stays, facility_id, Purpose.P90),
        )

    figures = sorted(
        (shown(r, r["facility_id"], r["facility_name"]) for r in named),
        key=lambda f: (-f.census, f.facility_id),
    )
    if small:
        pooled = {
            "census": sum(r["census"] for r in small),
            "census_key": sum(fingerprint(r["census_key"]) for r in small),
            "stays": sum(r["stays"] for r in small),
            "stays_key": sum(fingerprint(r["stays_key"]) for r in small),
            "median_days": None,  # over several facilities' stays: not computed
            "p90_days": None,
        }
        figures.append(shown(pooled, POOLED_ID, POOLED_NAME))
    return figures
