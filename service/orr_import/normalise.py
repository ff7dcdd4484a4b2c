"""Turn one data record's cells into an OrrRow, or say precisely which cell cannot be read."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date
from typing import TypeVar

from domain import text
from domain.errors import InvalidText
from domain.values import Sex
from service.orr_import.places import country_code, facility, referring_office
from service.orr_import.quality import quality_flags
from service.orr_import.reasons import separation_reason
from service.orr_import.row import OrrRow
from service.orr_import.status import reunification_status, uac_discharged

# The columns, spelled as the source's header spells them.
AGE = "AGE"
GENDER = "GENDER"
COO = "COO"
DATE_APPREHENDED = "DATE_APPREHENDED"
REFERRAL_DATE = "REFERRAL_DATE"
DATE_ORR_APPROVED = "DATE_ORR_APPROVED"
REFERRING_OFFICE = "REFERRING OFFICE"
FACILITY_APPROVED = "FACILITY_APPROVED"
REUNITIED_SEP_PARENTS = "REUNITIED_SEP_PARENTS"
UAC_STATUS = "UAC STATUS"
DATE_DISCHARGED = "Date Discharged"
REASON = "Reason fo Separation"
COLUMNS = (
    AGE,
    GENDER,
    COO,
    DATE_APPREHENDED,
    REFERRAL_DATE,
    DATE_ORR_APPROVED,
    REFERRING_OFFICE,
    FACILITY_APPROVED,
    REUNITIED_SEP_PARENTS,
    UAC_STATUS,
    DATE_DISCHARGED,
    REASON,
)

_SEX = {"F": Sex.FEMALE, "FEMALE": Sex.FEMALE, "M": Sex.MALE, "MALE": Sex.MALE}
_SEX_NOT_RECORDED = {"", "U", "UNKNOWN"}
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")

T = TypeVar("T")


class Unreadable(ValueError):
    """A cell that cannot be read; the message names the column and the value."""


def age(text: str) -> int:
    """Age in whole years; ages over 17 are read as written and flagged later."""
    value = text.strip()
    if not value:
        raise ValueError("blank")
    if not value.isascii() or not value.isdigit():
        raise ValueError(f"not a whole number of years: {value!r}")
    return int(value)


def sex(text: str) -> Sex:
    """F or M in either spelling; a blank or U is UNKNOWN, anything else is unreadable."""
    value = text.strip().upper()
    if value in _SEX_NOT_RECORDED:
        return Sex.UNKNOWN
    if value not in _SEX:
        raise ValueError(f"unknown sex {text.strip()!r}")
    return _SEX[value]


def day(text: str) -> date | None:
    """A date as M/D/YYYY (the file's form) or YYYY-MM-DD; a blank is None, never a guess."""
    value = text.strip()
    if not value:
        return None
    if match := _US_DATE.fullmatch(value):
        month, day_of_month, year = (int(part) for part in match.groups())
    elif match := _ISO_DATE.fullmatch(value):
        year, month, day_of_month = (int(part) for part in match.groups())
    else:
        raise ValueError(f"not a date in M/D/YYYY: {value!r}")
    try:
        return date(year, month, day_of_month)
    except ValueError:
        raise ValueError(f"no such date: {value!r}") from None


def country_name(text: str) -> str | None:
    """The COO name as written; None when blank."""
    return text.strip() or None


def check_text(column: str, value: str) -> None:
    """A cell's text under the rules for text an event holds (domain.text): the reason is
    free text (the file breaks its lines), every other cell one line."""
    try:
        text.clean(value, column, text.NOTE if column == REASON else text.LABEL)
    except InvalidText as error:
        raise Unreadable(str(error)) from None


def _cell(cells: Mapping[str, str], column: str, read: Callable[[str], T]) -> T:
    try:
        return read(cells[column])
    except ValueError as error:
        raise Unreadable(f"{column}: {error}") from None


def normalise(
    cells: Mapping[str, str], *, row_number: int, line_number: int, raw: tuple[str, ...]
) -> OrrRow:
    """The typed, flagged row for a data record's cells (keyed by COLUMNS); Unreadable if not."""
    for column in COLUMNS:
        check_text(column, cells[column])
    name = country_name(cells[COO])
    uac = cells[UAC_STATUS].strip() or None
    if uac is not None:
        _cell(cells, UAC_STATUS, uac_discharged)  # refuse an unknown label, keep the text
    row = OrrRow(
        row_number=row_number,
        line_number=line_number,
        age=_cell(cells, AGE, age),
        sex=_cell(cells, GENDER, sex),
        country=None if name is None else country_code(name),
        country_name=name,
        date_apprehended=_cell(cells, DATE_APPREHENDED, day),
        referral_date=_cell(cells, REFERRAL_DATE, day),
        date_orr_approved=_cell(cells, DATE_ORR_APPROVED, day),
        date_discharged=_cell(cells, DATE_DISCHARGED, day),
        referring_office=_cell(cells, REFERRING_OFFICE, referring_office),
        facility=_cell(cells, FACILITY_APPROVED, facility),
        status=_cell(cells, REUNITIED_SEP_PARENTS, reunification_status),
        status_label=cells[REUNITIED_SEP_PARENTS].strip(),
        uac_status=uac,
        reason=_cell(cells, REASON, separation_reason),
        reason_text=cells[REASON].strip(),
        flags=(),
        raw=raw,
    )
    return replace(row, flags=quality_flags(row))
