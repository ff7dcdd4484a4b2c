"""Reading the ORR list: every record after the header is accepted or rejected, none lost."""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest

from domain.values import SeparationReason, Sex
from service.orr_import import (
    BLANK_ROW,
    LETTER_ROW,
    Flag,
    OrrFile,
    OrrFileError,
    OrrRow,
    Rejected,
    ReunificationStatus,
    file_digest,
    read_file,
    read_records,
    summarise,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "orr-separated-children-2018.csv"
DATA_SHA256 = "25b95386af8b6bc446b7c168c34b2cb6cb34ee3fc6b5500817ac1713536f143b"

HEADER = (
    "AGE,GENDER,COO,DATE_APPREHENDED,REFERRAL_DATE,DATE_ORR_APPROVED,REFERRING OFFICE,"
    "FACILITY_APPROVED,REUNITIED_SEP_PARENTS,UAC STATUS,Date Discharged,Reason fo Separation\n"
)
LETTERS = "A,B,C,D,E,F,G,H,I,J,K,L\n"
# A child reunited with the separated parent, every date in order.
REUNITED = (
    "6,F,Guatemala,5/20/2018,5/21/2018,5/23/2018,El Paso  (ELP),Cayuga Centers,"
    "Reunited with Sep Parent,DISCHARGED,7/26/2018,Zero Tolerance Policy\n"
)


def read(*records: str, header: str = HEADER) -> list[OrrRow | Rejected]:
    """What the reader makes of a small CSV text."""
    return list(read_records(io.StringIO(header + "".join(records), newline="")))


def one_row(record: str) -> OrrRow:
    """The single row a one-record CSV holds; fails the test if it was rejected."""
    [result] = read(record)
    assert isinstance(result, OrrRow), result
    return result


def with_cells(cells: dict[str, str]) -> str:
    """The REUNITED record with the cells of some columns replaced, quoted so any text survives."""
    fields = next(csv.DictReader(io.StringIO(HEADER + REUNITED)))
    fields.update(cells)
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n").writerow(fields.values())
    return out.getvalue()


def test_a_clean_record_reads_as_a_typed_row_without_flags() -> None:
    row = one_row(REUNITED)
    assert (row.row_number, row.line_number) == (2, 2)
    assert (row.age, row.sex, row.country, row.country_name) == (6, Sex.FEMALE, "GT", "Guatemala")
    assert (row.date_apprehended, row.referral_date, row.date_orr_approved) == (
        date(2018, 5, 20),
        date(2018, 5, 21),
        date(2018, 5, 23),
    )
    assert row.date_discharged == date(2018, 7, 26)
    assert row.referring_office is not None and row.referring_office.id == "ELP"
    assert row.facility is not None and row.facility.id == "cayuga-centers"
    assert row.status is ReunificationStatus.REUNITED_WITH_SEPARATED_PARENT
    assert (row.status_label, row.uac_status) == ("Reunited with Sep Parent", "DISCHARGED")
    assert (row.reason, row.reason_text) == (
        SeparationReason.ZERO_TOLERANCE,
        "Zero Tolerance Policy",
    )
    assert row.flags == ()
    assert row.raw == tuple(REUNITED.rstrip("\n").split(","))


def test_a_column_letter_row_is_rejected_and_still_counts_as_a_row() -> None:
    results = read(REUNITED, LETTERS, REUNITED)
    assert results[1] == Rejected(
        row_number=3, line_number=3, reason=LETTER_ROW, raw=tuple("ABCDEFGHIJKL")
    )
    assert isinstance(results[2], OrrRow) and results[2].row_number == 4


def test_a_line_break_inside_a_quoted_field_keeps_one_row_and_the_text_verbatim() -> None:
    broken = with_cells({"Reason fo Separation": "Parent has Criminal\nhistory"})
    first, second = read(broken, REUNITED)
    assert isinstance(first, OrrRow) and isinstance(second, OrrRow)
    assert first.reason_text == "Parent has Criminal\nhistory"
    assert first.reason is SeparationReason.CRIMINAL_HISTORY
    assert (second.row_number, second.line_number) == (3, 4)


@pytest.mark.parametrize(
    ("label", "uac", "status"),
    [
        (
            "Reunited with Sep. Parent",
            "DISCHARGED",
            ReunificationStatus.REUNITED_WITH_SEPARATED_PARENT,
        ),
        (
            "Other approp. Circumstances",
            "DISCHARGED",
            ReunificationStatus.DISCHARGED_OTHER_APPROPRIATE,
        ),
        (
            "Discharged Under other approp circumstances",
            "DISCHARGED",
            ReunificationStatus.DISCHARGED_OTHER_APPROPRIATE,
        ),
        ("Still In Care", "ADMITTED", ReunificationStatus.STILL_IN_CARE),
        ("Still in Care", "ADMITTED", ReunificationStatus.STILL_IN_CARE),
    ],
)
def test_a_status_label_variant_reads_as_its_status_and_keeps_its_spelling(
    label: str, uac: str, status: ReunificationStatus
) -> None:
    discharged = "" if status is ReunificationStatus.STILL_IN_CARE else "7/26/2018"
    row = one_row(
        with_cells(
            {"REUNITIED_SEP_PARENTS": label, "UAC STATUS": uac, "Date Discharged": discharged}
        )
    )
    assert (row.status, row.status_label) == (status, label)
    assert row.flags == ()


def test_an_age_over_17_is_kept_as_written_and_flagged() -> None:
    row = one_row(with_cells({"AGE": "23"}))
    assert row.age == 23
    assert row.flags == (Flag.AGE_OVER_17,)


@pytest.mark.parametrize(
    ("dates", "flags"),
    [
        (("5/20/2018", "5/21/2018", "5/20/2018", ""), (Flag.APPROVED_BEFORE_REFERRAL,)),
        (("5/21/2018", "5/20/2018", "5/23/2018", ""), (Flag.REFERRED_BEFORE_APPREHENSION,)),
        (
            ("5/21/2018", "5/22/2018", "5/20/2018", ""),
            (Flag.APPROVED_BEFORE_REFERRAL, Flag.DATES_OUT_OF_ORDER),
        ),
        (("5/20/2018", "5/21/2018", "5/23/2018", "5/22/2018"), (Flag.DATES_OUT_OF_ORDER,)),
        (("5/20/2018", "5/20/2018", "5/20/2018", "5/20/2018"), ()),
        (("", "5/21/2018", "", "5/20/2018"), (Flag.DATES_OUT_OF_ORDER,)),
    ],
)
def test_dates_out_of_order_are_kept_as_written_and_flagged(
    dates: tuple[str, str, str, str], flags: tuple[Flag, ...]
) -> None:
    apprehended, referred, approved, discharged = dates
    row = one_row(
        with_cells(
            {
                "DATE_APPREHENDED": apprehended,
                "REFERRAL_DATE": referred,
                "DATE_ORR_APPROVED": approved,
                "Date Discharged": discharged or "7/26/2018",
            }
        )
    )
    assert row.flags == flags


def test_a_discharged_child_with_no_date_keeps_the_date_unknown() -> None:
    row = one_row(with_cells({"Date Discharged": ""}))
    assert row.status.discharged and row.date_discharged is None
    assert row.flags == (Flag.DISCHARGED_WITHOUT_DATE,)


def test_a_child_still_in_care_with_a_discharge_date_is_flagged() -> None:
    row = one_row(with_cells({"REUNITIED_SEP_PARENTS": "Still In Care", "UAC STATUS": "ADMITTED"}))
    assert row.date_discharged == date(2018, 7, 26)
    assert row.flags == (Flag.DISCHARGE_DATE_WITHOUT_DISCHARGE,)


def test_a_status_the_uac_status_contradicts_is_flagged() -> None:
    row = one_row(with_cells({"UAC STATUS": "ADMITTED"}))
    assert row.status is ReunificationStatus.REUNITED_WITH_SEPARATED_PARENT
    assert row.uac_status == "ADMITTED"
    assert row.flags == (Flag.STATUS_DISAGREES_WITH_UAC_STATUS,)


def test_a_blank_uac_status_is_unknown_and_contradicts_nothing() -> None:
    row = one_row(with_cells({"UAC STATUS": " "}))
    assert row.uac_status is None and row.flags == ()


def test_a_blank_referring_office_is_none_and_flagged() -> None:
    row = one_row(with_cells({"REFERRING OFFICE": "  "}))
    assert row.referring_office is None
    assert row.flags == (Flag.REFERRING_OFFICE_BLANK,)


def test_an_unknown_country_is_kept_by_name_flagged_and_listed_in_the_summary() -> None:
    results = read(with_cells({"COO": "Atlantis"}), with_cells({"COO": "Atlantis"}), REUNITED)
    row = results[0]
    assert isinstance(row, OrrRow)
    assert (row.country, row.country_name) == (None, "Atlantis")
    assert row.flags == (Flag.COUNTRY_UNRECOGNISED,)
    assert summarise(results).unrecognised_countries == {"Atlantis": 2}


def test_a_blank_country_is_unknown_without_a_flag() -> None:
    row = one_row(with_cells({"COO": ""}))
    assert (row.country, row.country_name, row.flags) == (None, None, ())


@pytest.mark.parametrize(
    ("cells", "reason"),
    [
        ({"AGE": ""}, "AGE: blank"),
        ({"AGE": "six"}, "AGE: not a whole number of years: 'six'"),
        ({"GENDER": "X"}, "GENDER: unknown sex 'X'"),
        ({"DATE_APPREHENDED": "5/32/2018"}, "DATE_APPREHENDED: no such date: '5/32/2018'"),
        ({"REFERRAL_DATE": "May 21"}, "REFERRAL_DATE: not a date in M/D/YYYY: 'May 21'"),
        ({"Date Discharged": "7/26/18"}, "Date Discharged: not a date in M/D/YYYY: '7/26/18'"),
        ({"REUNITIED_SEP_PARENTS": "Deported"}, "REUNITIED_SEP_PARENTS: unknown status 'Deported'"),
        ({"REUNITIED_SEP_PARENTS": ""}, "REUNITIED_SEP_PARENTS: blank"),
        ({"UAC STATUS": "RELEASED"}, "UAC STATUS: unknown UAC status 'RELEASED'"),
        ({"Reason fo Separation": " "}, "Reason fo Separation: blank"),
    ],
)
def test_a_cell_that_cannot_be_read_rejects_the_row_naming_column_and_value(
    cells: dict[str, str], reason: str
) -> None:
    record = with_cells(cells)
    [result] = read(record)
    raw = tuple(next(csv.reader([record])))
    assert result == Rejected(row_number=2, line_number=2, reason=reason, raw=raw)


def test_a_record_with_the_wrong_number_of_fields_is_rejected() -> None:
    [result] = read("6,F,Guatemala\n")
    assert isinstance(result, Rejected)
    assert result.reason == "expected 12 fields as in the header, found 3"
    assert result.raw == ("6", "F", "Guatemala")


def test_blank_lines_and_empty_records_are_rejected_not_skipped() -> None:
    results = read(REUNITED, "\n", ",,,,,,,,,,,\n", REUNITED)
    assert [(r.row_number, r.line_number) for r in results] == [(2, 2), (3, 3), (4, 4), (5, 5)]
    assert [r.reason for r in results if isinstance(r, Rejected)] == [BLANK_ROW, BLANK_ROW]


def test_a_bom_crlf_line_ends_and_stray_whitespace_are_read_through() -> None:
    header = "\ufeff" + HEADER.replace(",", " , ").replace("\n", "\r\n")
    record = (
        " 6 , F , Guatemala ,5/20/2018 , 5/21/2018,5/23/2018, El Paso  (ELP) ,Cayuga Centers ,"
        " Reunited with Sep Parent , DISCHARGED ,7/26/2018, Zero Tolerance Policy \r\n"
    )
    [row] = read(record, header=header)
    assert isinstance(row, OrrRow)
    assert (row.age, row.country, row.flags) == (6, "GT", ())
    assert row.facility is not None and row.facility.name == "Cayuga Centers"
    assert row.reason_text == "Zero Tolerance Policy"


def test_a_header_without_an_expected_column_is_refused() -> None:
    with pytest.raises(OrrFileError, match="the header lacks 'UAC STATUS'"):
        read(REUNITED, header=HEADER.replace("UAC STATUS", "STATUS"))


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(OrrFileError, match="empty"):
        read(header="")


def test_a_quote_that_never_closes_stops_the_read_instead_of_swallowing_rows() -> None:
    unclosed = REUNITED.replace("Zero Tolerance Policy", '"Zero Tolerance Policy')
    with pytest.raises(OrrFileError, match="record starting on line 3"):
        read(REUNITED, unclosed, REUNITED, REUNITED)


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + REUNITED.replace("Guatemala", "Rep\u00fablica")).encode("latin-1"))
    with pytest.raises(OrrFileError, match="not UTF-8"):
        read_file(path)


def test_the_digest_is_of_the_bytes_read(tmp_path: Path) -> None:
    path = tmp_path / "orr.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + LETTERS + REUNITED).encode())
    orr = read_file(path)
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    assert orr.sha256 == file_digest(path) == expected
    assert (orr.name, orr.summary.rows_read, len(orr.accepted), len(orr.rejected)) == (
        "orr.csv",
        2,
        1,
        1,
    )


# The project's copy of the real file.


@pytest.fixture(scope="module")
def orr() -> OrrFile:
    return read_file(DATA)


@pytest.fixture(scope="module")
def records() -> list[list[str]]:
    """The records after the header, read with the csv module and nothing else."""
    with DATA.open(newline="", encoding="utf-8-sig") as stream:
        return list(csv.reader(stream))[1:]


def is_letter_row(record: list[str]) -> bool:
    return record == list("ABCDEFGHIJKL")


def test_the_copy_is_the_file_as_received() -> None:
    assert file_digest(DATA) == DATA_SHA256


def test_every_record_of_the_file_is_accounted_for(orr: OrrFile, records: list[list[str]]) -> None:
    letter_rows = [i for i, record in enumerate(records, start=2) if is_letter_row(record)]
    assert (len(records), len(letter_rows)) == (3170, 62)
    assert letter_rows[0] == 58
    assert [result.row_number for result in orr.results] == list(range(2, 3172))
    assert [(r.row_number, r.reason) for r in orr.rejected] == [
        (n, LETTER_ROW) for n in letter_rows
    ]
    assert len(orr.accepted) == 3108
    assert orr.summary.rows_read == 3170
    assert orr.summary.accepted == 3108
    assert orr.summary.rejected == 62
    assert orr.summary.rejected_by_reason == {LETTER_ROW: 62}


def test_a_row_number_is_the_spreadsheet_row_not_the_line(orr: OrrFile) -> None:
    last = orr.results[-1]
    assert (last.row_number, last.line_number) == (3171, 3444)
    assert sum(1 for r in orr.accepted if "\n" in "".join(r.raw)) == 274


def test_every_accepted_row_has_a_reason_code_and_its_text(orr: OrrFile) -> None:
    assert all(isinstance(row.reason, SeparationReason) for row in orr.accepted)
    assert len({row.reason_text for row in orr.accepted}) == 63
    assert Counter(row.reason for row in orr.accepted) == {
        SeparationReason.ZERO_TOLERANCE: 2740,
        SeparationReason.CRIMINAL_HISTORY: 267,
        SeparationReason.GANG_AFFILIATION: 42,
        SeparationReason.OTHER: 28,
        SeparationReason.HEALTH: 20,
        SeparationReason.UNVERIFIED_RELATIONSHIP: 11,
    }


def test_every_accepted_row_keeps_its_record_verbatim(
    orr: OrrFile, records: list[list[str]]
) -> None:
    data = [tuple(record) for record in records if not is_letter_row(record)]
    assert [row.raw for row in orr.accepted] == data


def test_statuses_match_the_labels_counted_independently(
    orr: OrrFile, records: list[list[str]]
) -> None:
    labels = Counter(record[8] for record in records if not is_letter_row(record))
    assert labels == {
        "Reunited with Sep Parent": 2135,
        "Discharged Under other approp circumstances": 549,
        "Other approp. Circumstances": 174,
        "Still In Care": 154,
        "Reunited with Sep. Parent": 57,
        "Still in Care": 39,
    }
    assert Counter(row.status for row in orr.accepted) == {
        ReunificationStatus.REUNITED_WITH_SEPARATED_PARENT: 2135 + 57,
        ReunificationStatus.DISCHARGED_OTHER_APPROPRIATE: 549 + 174,
        ReunificationStatus.STILL_IN_CARE: 154 + 39,
    }


def expected_flags(records: list[list[str]]) -> Counter[str]:
    """The flag counts worked out from the raw records with the csv module and datetime."""

    def when(text: str) -> date | None:
        return datetime.strptime(text, "%m/%d/%Y").date() if text else None

    counts: Counter[str] = Counter()
    for record in records:
        if is_letter_row(record):
            continue
        apprehended, referred, approved = (when(text) for text in record[3:6])
        assert apprehended and referred and approved  # no blank among these in the file
        discharged = when(record[10]) or date.max
        still_in_care = record[8].lower().startswith("still")
        counts["age_over_17"] += int(record[0]) > 17
        counts["approved_before_referral"] += approved < referred
        counts["referred_before_apprehension"] += referred < apprehended
        counts["dates_out_of_order"] += approved < apprehended or discharged < max(
            apprehended, referred, approved
        )
        counts["discharged_without_date"] += not still_in_care and not record[10]
        counts["discharge_date_without_discharge"] += still_in_care and bool(record[10])
        counts["status_disagrees_with_uac_status"] += still_in_care != (record[9] == "ADMITTED")
        counts["referring_office_blank"] += not record[6].strip()
    return counts


def test_flags_match_the_rules_worked_out_independently(
    orr: OrrFile, records: list[list[str]]
) -> None:
    expected = expected_flags(records)
    assert expected == {
        "age_over_17": 4,
        "approved_before_referral": 15,
        "referred_before_apprehension": 0,
        "dates_out_of_order": 2,
        "discharged_without_date": 2,
        "discharge_date_without_discharge": 0,
        "status_disagrees_with_uac_status": 0,
        "referring_office_blank": 24,
    }
    assert orr.summary.flagged_by_rule == {flag: expected[flag.value] for flag in Flag}
    assert orr.summary.flagged == sum(1 for row in orr.accepted if row.flags) == 44
    assert orr.summary.unrecognised_countries == {}
