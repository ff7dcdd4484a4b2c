"""What a read of the ORR list found: rows read, accepted, rejected by reason, flagged by rule."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from service.orr_import.row import Flag, OrrRow, Rejected


@dataclass(frozen=True)
class ReadSummary:
    """Counts over every record after the header; rows_read == accepted + rejected."""

    rows_read: int
    accepted: int
    flagged: int
    rejected_by_reason: Mapping[str, int]
    flagged_by_rule: Mapping[Flag, int]
    unrecognised_countries: Mapping[str, int]

    @property
    def rejected(self) -> int:
        """Records that are not readable data rows."""
        return sum(self.rejected_by_reason.values())


def summarise(results: Iterable[OrrRow | Rejected]) -> ReadSummary:
    """Count what a read yielded; a flag that no row breaks is counted as zero."""
    read = accepted = flagged = 0
    rejected: Counter[str] = Counter()
    rules: Counter[Flag] = Counter()
    countries: Counter[str] = Counter()
    for result in results:
        read += 1
        if isinstance(result, Rejected):
            rejected[result.reason] += 1
            continue
        accepted += 1
        flagged += bool(result.flags)
        rules.update(result.flags)
        if Flag.COUNTRY_UNRECOGNISED in result.flags and result.country_name is not None:
            countries[result.country_name] += 1
    return ReadSummary(
        rows_read=read,
        accepted=accepted,
        flagged=flagged,
        rejected_by_reason=dict(rejected.most_common()),
        flagged_by_rule={flag: rules[flag] for flag in Flag},
        unrecognised_countries=dict(countries.most_common()),
    )
