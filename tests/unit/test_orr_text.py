"""An ORR cell whose text no event may hold sends its row to the rejects, saying why."""

from __future__ import annotations

import csv
import io

import pytest

from service.orr_import import OrrRow, Rejected, read_records

HEADER = (
    "AGE,GENDER,COO,DATE_APPREHENDED,REFERRAL_DATE,DATE_ORR_APPROVED,REFERRING OFFICE,"
    "FACILITY_APPROVED,REUNITIED_SEP_PARENTS,UAC STATUS,Date Discharged,Reason fo Separation\n"
)
CELLS = [
    "6", "F", "Guatemala", "5/20/2018", "5/21/2018", "5/23/2018", "El Paso  (ELP)",
    "Cayuga Centers", "Reunited with Sep Parent", "DISCHARGED", "7/26/2018",
    "Zero Tolerance Policy",
]  # fmt: skip


def read_with(column: int, cell: str) -> OrrRow | Rejected:
    cells = [*CELLS]
    cells[column] = cell
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n").writerow(cells)
    [result] = read_records(io.StringIO(HEADER + out.getvalue(), newline=""))
    return result


@pytest.mark.parametrize(
    ("column", "cell", "says"),
    [
        (7, "Cayuga\x00Centers", "FACILITY_APPROVED holds U+0000"),
        (2, "Guate\x1bmala", "COO holds U+001B"),
        (6, "El Paso\t(ELP)", "REFERRING OFFICE holds U+0009"),
        (11, "Zero\x00Tolerance", "Reason fo Separation holds U+0000"),
        (11, "Zero\u202eTolerance", "Reason fo Separation holds U+202E"),
        (7, "C" * 501, "FACILITY_APPROVED must be at most 500 characters"),
    ],
)
def test_a_cell_with_a_control_character_sends_its_row_to_the_rejects_with_the_reason(
    column: int, cell: str, says: str
) -> None:
    result = read_with(column, cell)
    assert isinstance(result, Rejected), result
    assert result.reason.startswith(says)
    assert result.raw[column] == cell  # the rejects file keeps the cells as read


def test_a_reason_may_break_its_lines_as_the_2018_file_does() -> None:
    result = read_with(11, "Parent has Criminal\nhistory")
    assert isinstance(result, OrrRow)
    assert result.reason_text == "Parent has Criminal\nhistory"
