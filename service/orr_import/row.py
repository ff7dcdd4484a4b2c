"""A record of the ORR list as read: a typed, flagged OrrRow, or a Rejected one and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum, StrEnum

from domain.values import Facility, SeparationReason, Sex


class ReunificationStatus(Enum):
    """What the REUNITIED_SEP_PARENTS column says became of the child."""

    REUNITED_WITH_SEPARATED_PARENT = "reunited_with_separated_parent"
    DISCHARGED_OTHER_APPROPRIATE = "discharged_other_appropriate"
    STILL_IN_CARE = "still_in_care"

    @property
    def discharged(self) -> bool:
        """Whether the child has left ORR care, whichever way."""
        return self is not ReunificationStatus.STILL_IN_CARE


class Flag(StrEnum):
    """A data-quality rule a row breaks; the row is kept and carries the flag."""

    AGE_OVER_17 = "age_over_17"
    APPROVED_BEFORE_REFERRAL = "approved_before_referral"
    REFERRED_BEFORE_APPREHENSION = "referred_before_apprehension"
    DISCHARGED_WITHOUT_DATE = "discharged_without_date"
    DISCHARGE_DATE_WITHOUT_DISCHARGE = "discharge_date_without_discharge"
    DATES_OUT_OF_ORDER = "dates_out_of_order"
    COUNTRY_UNRECOGNISED = "country_unrecognised"
    STATUS_DISAGREES_WITH_UAC_STATUS = "status_disagrees_with_uac_status"
    REFERRING_OFFICE_BLANK = "referring_office_blank"


@dataclass(frozen=True)
class Office:
    """An ICE ERO referring office: its code as a stable id, its place name, the text as written.

    The id is the code in parentheses, so one id may carry more than one name: the file
    writes both "Harlingen (SNA)" and "San Antonio (SNA)", Harlingen being a sub-office in
    ERO San Antonio's area; ``name`` tells them apart.
    """

    id: str
    name: str
    original: str


@dataclass(frozen=True)
class OrrRow:
    """A readable data row; blanks stay None and nothing is filled in.

    ``row_number`` is the spreadsheet row: the CSV record number counting the header as
    row 1, whatever line breaks the quoted fields hold. ``line_number`` is the physical
    line of the file on which the record starts. The original texts (``country_name``,
    ``status_label``, ``reason_text``, the office's and facility's) lose only surrounding
    whitespace; ``raw`` is the record exactly as read.
    """

    row_number: int
    line_number: int
    age: int
    sex: Sex
    country: str | None
    country_name: str | None
    date_apprehended: date | None
    referral_date: date | None
    date_orr_approved: date | None
    date_discharged: date | None
    referring_office: Office | None
    facility: Facility | None
    status: ReunificationStatus
    status_label: str
    uac_status: str | None
    reason: SeparationReason
    reason_text: str
    flags: tuple[Flag, ...]
    raw: tuple[str, ...]


@dataclass(frozen=True)
class Rejected:
    """A record that is not a readable data row, with why; numbered as OrrRow is."""

    row_number: int
    line_number: int
    reason: str
    raw: tuple[str, ...]
