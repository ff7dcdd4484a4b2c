"""What each data-quality flag of a row is about (which entry of its case) and says."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from enum import Enum

from service.orr_import.row import Flag, OrrRow


class Step(Enum):
    """The entries of an imported case a flag can be about."""

    CHILD = "child"  # MemberAdded for the child
    REFERRAL = "referral"  # ChildReferred
    PLACEMENT = "placement"  # ChildPlaced
    EXIT = "exit"  # Reunified or ChildDischarged, when the status says the child left


_ABOUT = {
    Flag.AGE_OVER_17: Step.CHILD,
    Flag.COUNTRY_UNRECOGNISED: Step.CHILD,
    Flag.REFERRED_BEFORE_APPREHENSION: Step.REFERRAL,
    Flag.REFERRING_OFFICE_BLANK: Step.REFERRAL,
    Flag.APPROVED_BEFORE_REFERRAL: Step.PLACEMENT,
    Flag.DISCHARGE_DATE_WITHOUT_DISCHARGE: Step.PLACEMENT,
    Flag.DISCHARGED_WITHOUT_DATE: Step.EXIT,
}


def about(flag: Flag, row: OrrRow) -> Step:
    """The entry a flag concerns: the one whose recorded value breaks the rule."""
    if flag in _ABOUT:
        return _ABOUT[flag]
    # The last entry of the path: its date or its status is what disagrees with the rest.
    if not row.status.discharged:
        return Step.PLACEMENT
    if flag is Flag.DATES_OUT_OF_ORDER and not _discharge_out_of_order(row):
        return Step.PLACEMENT
    return Step.EXIT


def _discharge_out_of_order(row: OrrRow) -> bool:
    earlier = [row.date_apprehended, row.referral_date, row.date_orr_approved]
    left = row.date_discharged
    return left is not None and any(d is not None and left < d for d in earlier)


def _day(value: date | None) -> str:
    return value.isoformat() if value else "blank"


def _dates(row: OrrRow) -> str:
    return (
        f"DATE_APPREHENDED {_day(row.date_apprehended)}, REFERRAL_DATE "
        f"{_day(row.referral_date)}, DATE_ORR_APPROVED {_day(row.date_orr_approved)}, "
        f"Date Discharged {_day(row.date_discharged)}"
    )


_DETAILS: dict[Flag, Callable[[OrrRow], str]] = {
    Flag.AGE_OVER_17: lambda r: f"AGE {r.age} is over 17; imported as written",
    Flag.APPROVED_BEFORE_REFERRAL: lambda r: (
        f"DATE_ORR_APPROVED {_day(r.date_orr_approved)} is before "
        f"REFERRAL_DATE {_day(r.referral_date)}"
    ),
    Flag.REFERRED_BEFORE_APPREHENSION: lambda r: (
        f"REFERRAL_DATE {_day(r.referral_date)} is before "
        f"DATE_APPREHENDED {_day(r.date_apprehended)}"
    ),
    Flag.DISCHARGED_WITHOUT_DATE: lambda r: (
        f"{r.status_label!r} with no Date Discharged; the day is recorded as unknown"
    ),
    Flag.DISCHARGE_DATE_WITHOUT_DISCHARGE: lambda r: (
        f"Date Discharged {_day(r.date_discharged)} but {r.status_label!r}; no discharge recorded"
    ),
    Flag.DATES_OUT_OF_ORDER: lambda r: f"dates out of the path's order: {_dates(r)}",
    Flag.COUNTRY_UNRECOGNISED: lambda r: (
        f"COO {r.country_name!r} is no country name the importer knows; country left unknown"
    ),
    Flag.STATUS_DISAGREES_WITH_UAC_STATUS: lambda r: (
        f"REUNITIED_SEP_PARENTS {r.status_label!r} but UAC STATUS {r.uac_status!r}"
    ),
    Flag.REFERRING_OFFICE_BLANK: lambda r: (
        "REFERRING OFFICE blank; the office and the apprehension place are recorded as unknown"
    ),
}


def detail(flag: Flag, row: OrrRow) -> str:
    """What the row says that breaks the rule, in the source's own column names."""
    return _DETAILS[flag](row)
