"""The data-quality rules an ORR row may break; a row that breaks one is kept and flagged."""

from __future__ import annotations

from itertools import combinations

from service.orr_import.row import Flag, OrrRow
from service.orr_import.status import uac_discharged

# The dates of a child's path in the order they should fall. A pair out of order gets its
# own flag when it has one; every other pair out of order is DATES_OUT_OF_ORDER.
_APPREHENDED, _REFERRED, _APPROVED, _DISCHARGED = range(4)
_NAMED_BREAKS = {
    (_APPREHENDED, _REFERRED): Flag.REFERRED_BEFORE_APPREHENSION,
    (_REFERRED, _APPROVED): Flag.APPROVED_BEFORE_REFERRAL,
}


def date_flags(row: OrrRow) -> set[Flag]:
    """A flag for every pair of known dates where the later step is dated before the earlier."""
    path = (row.date_apprehended, row.referral_date, row.date_orr_approved, row.date_discharged)
    flags: set[Flag] = set()
    for (i, first), (j, then) in combinations(enumerate(path), 2):
        if first is not None and then is not None and then < first:
            flags.add(_NAMED_BREAKS.get((i, j), Flag.DATES_OUT_OF_ORDER))
    return flags


def discharge_flags(row: OrrRow) -> set[Flag]:
    """Status, UAC status and discharge date must tell the same story."""
    flags: set[Flag] = set()
    if row.status.discharged and row.date_discharged is None:
        flags.add(Flag.DISCHARGED_WITHOUT_DATE)
    if not row.status.discharged and row.date_discharged is not None:
        flags.add(Flag.DISCHARGE_DATE_WITHOUT_DISCHARGE)
    if row.uac_status is not None and uac_discharged(row.uac_status) != row.status.discharged:
        flags.add(Flag.STATUS_DISAGREES_WITH_UAC_STATUS)
    return flags


def quality_flags(row: OrrRow) -> tuple[Flag, ...]:
    """Every rule the row breaks, in the order Flag declares them."""
    flags = date_flags(row) | discharge_flags(row)
    if row.age > 17:
        flags.add(Flag.AGE_OVER_17)
    if row.country_name is not None and row.country is None:
        flags.add(Flag.COUNTRY_UNRECOGNISED)
    if row.referring_office is None:
        flags.add(Flag.REFERRING_OFFICE_BLANK)
    return tuple(flag for flag in Flag if flag in flags)
