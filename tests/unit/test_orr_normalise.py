"""Each spelling in the ORR list reads as one value; the tables here make any change visible."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from domain.values import Facility, SeparationReason, Sex
from service.orr_import.normalise import age, day, sex
from service.orr_import.places import COUNTRIES, country_code, facility, referring_office, slug
from service.orr_import.reasons import separation_reason
from service.orr_import.row import Office, ReunificationStatus
from service.orr_import.status import reunification_status, uac_discharged

DATA = Path(__file__).resolve().parents[2] / "data" / "orr-separated-children-2018.csv"

GANG = SeparationReason.GANG_AFFILIATION
CRIMINAL = SeparationReason.CRIMINAL_HISTORY
HEALTH = SeparationReason.HEALTH
UNVERIFIED = SeparationReason.UNVERIFIED_RELATIONSHIP
ZERO = SeparationReason.ZERO_TOLERANCE
OTHER = SeparationReason.OTHER

# Every spelling of the reason in the file and the code it reads as (rows in the file).
REASONS: dict[str, SeparationReason] = {
    "Zero Tolerance Policy": ZERO,  # 2723
    "Parent Immigration\nProsecution (1326)": ZERO,  # 4
    "Parent Immigration\nProsecution (Other)": ZERO,  # 1
    "Sent for  immigration\nprosecution": ZERO,  # 1
    "Sent for immigration\nprosecution": ZERO,  # 5
    "Sent for immigration\nprosecution.": ZERO,  # 2
    "Sent for prosecution": ZERO,  # 3
    "Was sent for immigration prosecution.": ZERO,  # 1
    "Criminal": CRIMINAL,  # 17
    "Criminal History": CRIMINAL,  # 18
    "Criminal History; sent for\nimmigration prosecution": CRIMINAL,  # 5
    "Parent Criminal History": CRIMINAL,  # 36
    "Parent has both Criminal\n& Immigration history charges (US/Home Country)": CRIMINAL,  # 5
    "Parent has both Criminal & Immigration history charges (US/Home\nCountry)": CRIMINAL,  # 14
    "Parent has both Criminal & Immigration history charges (US/Home Country); sent for\n"
    "proseuction": CRIMINAL,  # 1
    "Parent has both Criminal charges (US/Home Country) and was sent for immigration "
    "prosecution.": CRIMINAL,  # 1
    "Parent has Criminal\nHistory": CRIMINAL,  # 11
    "Parent has criminal\nhistory": CRIMINAL,  # 1
    "Parent has Criminal\nhistory": CRIMINAL,  # 1
    "Parent has Criminal\nhistory (US or Home Country)": CRIMINAL,  # 77
    "Parent has Criminal\nhistory (US or Home Country); sent for immigration prosecution": (
        CRIMINAL
    ),  # 2
    "Parent has Criminal\nHistory (US/Home Country); sent for immigration prosecution": (
        CRIMINAL
    ),  # 1
    "Parent has criminal\nhistory (US/Home Country); sent for prosecution.": CRIMINAL,  # 1
    "Parent has Criminal\nhistory charges (US/Home Country)": CRIMINAL,  # 1
    "Parent has Criminal\nhistory charges (US/Home Country); sent for proseuction.": CRIMINAL,  # 1
    "Parent has Criminal\nhistory; sent for immigration prosecution": CRIMINAL,  # 1
    "Parent has Criminal history (US or Home\nCountry)": CRIMINAL,  # 66
    "Parent has Criminal history (US or Home Country); sent for\nimmigraiton prosecution": (
        CRIMINAL
    ),  # 1
    "Parent has Criminal history (US or Home Country); sent for\nimmigration prosecution": (
        CRIMINAL
    ),  # 2
    "Parent has criminal history (US/Home Country); sent for immigration prosecution.": (
        CRIMINAL
    ),  # 1
    "Parent has Criminal history charges (US/Home\nCountry)": CRIMINAL,  # 1
    "Parent has Criminal history charges (US/Home Country); sent for immigration "
    "proseuction.": CRIMINAL,  # 2
    "Gang": GANG,  # 1
    "Gang\nMembership/Affiliation": GANG,  # 1
    "Gang affiliation/gang\nmembership": GANG,  # 1
    "Has cartel/gang\naffiliation.": GANG,  # 3
    "Has cartel/gang affiliation; sent for immigration prosecution.": GANG,  # 1
    "Parent has cartel/gang\naffiliation": GANG,  # 22
    "Parent has cartel/gang\naffiliation; criminal history.": GANG,  # 1
    "Parent has cartel/gang\naffiliation; sent for prosecution": GANG,  # 1
    "Parent has cartel/gang affiliation; criminal\nhistory.": GANG,  # 1
    "Parent has cartel/gang affiliation; sent for\nprosecution": GANG,  # 1
    "Parent has cartel/gang affiliation; sent for immigration prosecution.": GANG,  # 2
    "Parent has Criminal\nhistory charges (US/Home Country); cartel/gang affiliation.": GANG,  # 1
    "Parent has Criminal history (US or Home Country) and gang\naffiliation": GANG,  # 1
    "Parent has Criminal history (US or Home Country); gang affiliation; sent for "
    "immigration\nprosecution": GANG,  # 1
    "Parent has Criminal history (US or Home Country); has cartel/gang\naffiliation.": GANG,  # 1
    "Parent has Criminal history (US or Home Country); parent has\ncartel/gang affiliation.": (
        GANG
    ),  # 2
    "Parent has Criminal history (US or Home Country);gang affiliation; gang affilatiion; "
    "sent for\nimmigraiton proseuction": GANG,  # 1
    "Hospitalization": HEALTH,  # 3
    "Parent has health\nissues/hospitalized": HEALTH,  # 17
    "Parenthood not verifiable": UNVERIFIED,  # 1
    "Unable to verify familial\nrelationship.": UNVERIFIED,  # 2
    "Unverified Familial\nRelationship": UNVERIFIED,  # 8
    # The source's own categories for these are none of the domain's specific grounds.
    "Adult Relative\u2010 Other": OTHER,  # 2: a relative who is not the parent
    "Child Safety": OTHER,  # 2
    "Child safety": OTHER,  # 2
    "Immigration History Only": OTHER,  # 3: expressly not criminal history
    "Immigration history only": OTHER,  # 1
    "Other": OTHER,  # 13
    "Other (Please explain\nunder Additional Information column)": OTHER,  # 2
    "Other (Please explain under Additional\nInformation column)": OTHER,  # 2
    "Placement into FRC as FAMU, after legal guardianship was verified.": OTHER,  # 1
}


def file_column(name: str) -> set[str]:
    """The distinct values of a column in the project's copy, read with the csv module alone."""
    with DATA.open(newline="", encoding="utf-8-sig") as stream:
        return {record[name] for record in csv.DictReader(stream) if record["AGE"] != "A"}


def test_the_reason_table_holds_every_spelling_in_the_file_and_no_other() -> None:
    assert len(REASONS) == 63
    assert set(REASONS) == file_column("Reason fo Separation")


@pytest.mark.parametrize(("text", "code"), REASONS.items())
def test_each_spelling_of_the_reason_reads_as_its_code(text: str, code: SeparationReason) -> None:
    assert separation_reason(text) is code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Parent is an MS-13 member", GANG),
        ("Outstanding warrant", CRIMINAL),
        ("Prior conviction", CRIMINAL),
        ("Medical emergency", HEALTH),
        ("Document fraud", UNVERIFIED),
        ("Adult is not the parent", UNVERIFIED),
        ("Referred under 8 USC 1325", ZERO),
        ("Parent asked for it", OTHER),
    ],
)
def test_the_rules_read_spellings_the_file_does_not_have(text: str, code: SeparationReason) -> None:
    assert separation_reason(text) is code


@pytest.mark.parametrize("text", ["", "  ", "\n"])
def test_a_blank_reason_is_unreadable_not_other(text: str) -> None:
    with pytest.raises(ValueError, match="blank"):
        separation_reason(text)


def test_the_country_table_holds_every_country_in_the_file() -> None:
    assert set(COUNTRIES) == file_column("COO")
    assert COUNTRIES == {
        "Angola": "AO",
        "Belize": "BZ",
        "Brazil": "BR",
        "Colombia": "CO",
        "Congo": "CG",
        "Ecuador": "EC",
        "El Salvador": "SV",
        "Guatemala": "GT",
        "Honduras": "HN",
        "India": "IN",
        "Mexico": "MX",
        "Nicaragua": "NI",
        "Peru": "PE",
        "Romania": "RO",
        "United Kingdom": "GB",
    }


@pytest.mark.parametrize(
    ("name", "code"),
    [("El Salvador", "SV"), ("el  salvador", "SV"), (" GUATEMALA ", "GT"), ("Narnia", None)],
)
def test_a_country_is_found_without_regard_to_case_or_spacing(name: str, code: str | None) -> None:
    assert country_code(name) == code


@pytest.mark.parametrize(
    ("text", "office"),
    [
        ("El Paso  (ELP)", Office(id="ELP", name="El Paso", original="El Paso  (ELP)")),
        ("Phoenix, AZ  (PHO)", Office(id="PHO", name="Phoenix, AZ", original="Phoenix, AZ  (PHO)")),
        ("Harlingen (SNA)", Office(id="SNA", name="Harlingen", original="Harlingen (SNA)")),
        ("San Antonio (SNA)", Office(id="SNA", name="San Antonio", original="San Antonio (SNA)")),
        (" St. Paul (spm) ", Office(id="SPM", name="St. Paul", original="St. Paul (spm)")),
        ("Harlingen", Office(id="HARLINGEN", name="Harlingen", original="Harlingen")),
        ("", None),
        ("   ", None),
    ],
)
def test_a_referring_office_is_its_code_and_place_name(text: str, office: Office | None) -> None:
    assert referring_office(text) == office


def test_every_referring_office_in_the_file_has_its_code_as_id() -> None:
    offices = [referring_office(text) for text in file_column("REFERRING OFFICE")]
    assert sorted({office.id for office in offices if office is not None}) == [
        "BAL", "BUF", "DRO", "ELP", "LRD", "MIA", "NYC", "PHI", "PHO", "SNA", "SND", "SPM",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "facility_id"),
    [
        ("Southwest Key Casa Padre", "southwest-key-casa-padre"),
        ("St. PJs Childrens Home", "st-pjs-childrens-home"),
        ("Rite of Passage \u2010 Sycamore", "rite-of-passage-sycamore"),
        ("A New Leaf \u2013 Dorothy Mitchell", "a-new-leaf-dorothy-mitchell"),
    ],
)
def test_a_facility_keeps_its_name_under_a_slug_id(text: str, facility_id: str) -> None:
    assert facility(f" {text} ") == Facility(id=facility_id, name=text)


def test_facility_names_in_the_file_keep_distinct_ids() -> None:
    names = file_column("FACILITY_APPROVED")
    assert len({slug(name) for name in names}) == len(names) == 99


def test_a_blank_facility_is_none() -> None:
    assert facility("  ") is None


@pytest.mark.parametrize(
    ("label", "status"),
    [
        ("Reunited with Sep Parent", ReunificationStatus.REUNITED_WITH_SEPARATED_PARENT),
        ("Reunited with Sep. Parent", ReunificationStatus.REUNITED_WITH_SEPARATED_PARENT),
        (
            "Discharged Under other approp circumstances",
            ReunificationStatus.DISCHARGED_OTHER_APPROPRIATE,
        ),
        ("Other approp. Circumstances", ReunificationStatus.DISCHARGED_OTHER_APPROPRIATE),
        ("Still In Care", ReunificationStatus.STILL_IN_CARE),
        ("Still in Care", ReunificationStatus.STILL_IN_CARE),
        ("  still  in care ", ReunificationStatus.STILL_IN_CARE),
    ],
)
def test_each_status_label_reads_as_one_status(label: str, status: ReunificationStatus) -> None:
    assert reunification_status(label) is status


def test_the_status_labels_cover_the_file() -> None:
    labels = file_column("REUNITIED_SEP_PARENTS")
    assert len(labels) == 6
    assert {reunification_status(label) for label in labels} == set(ReunificationStatus)


@pytest.mark.parametrize(("label", "message"), [("", "blank"), ("Deported", "unknown status")])
def test_any_other_status_label_is_unreadable(label: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        reunification_status(label)


def test_uac_status_says_whether_the_child_left_care() -> None:
    assert uac_discharged("DISCHARGED") is True
    assert uac_discharged(" admitted ") is False
    with pytest.raises(ValueError, match="unknown UAC status 'RELEASED'"):
        uac_discharged("RELEASED")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7/8/2018", date(2018, 7, 8)),
        ("12/31/2018", date(2018, 12, 31)),
        ("02/05/2019", date(2019, 2, 5)),
        ("2018-07-26", date(2018, 7, 26)),
        (" 6/20/2018 ", date(2018, 6, 20)),
        ("", None),
        ("   ", None),
    ],
)
def test_a_date_is_read_as_written_and_a_blank_stays_unknown(
    text: str, expected: date | None
) -> None:
    assert day(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2/30/2018", "no such date: '2/30/2018'"),
        ("13/1/2018", "no such date"),
        ("7/8/18", "not a date in M/D/YYYY: '7/8/18'"),
        ("July 8, 2018", "not a date"),
        ("8.7.2018", "not a date"),
    ],
)
def test_a_malformed_date_is_unreadable(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        day(text)


@pytest.mark.parametrize(("text", "years"), [("0", 0), ("17", 17), (" 23 ", 23)])
def test_an_age_is_whole_years(text: str, years: int) -> None:
    assert age(text) == years


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "blank"),
        ("-1", "not a whole number"),
        ("4.5", "not a whole number"),
        ("\u0663", "not a"),
    ],
)
def test_a_missing_or_malformed_age_is_unreadable(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        age(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("F", Sex.FEMALE),
        ("female", Sex.FEMALE),
        ("M", Sex.MALE),
        (" m ", Sex.MALE),
        ("", Sex.UNKNOWN),
        ("U", Sex.UNKNOWN),
    ],
)
def test_sex_is_read_as_recorded(text: str, expected: Sex) -> None:
    assert sex(text) is expected


def test_any_other_sex_is_unreadable() -> None:
    with pytest.raises(ValueError, match="unknown sex 'X'"):
        sex("X")
