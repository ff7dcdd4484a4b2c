"""Text is valid before it is an event: one rule set for every text a caller or import gives."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from domain import text
from domain.errors import InvalidText, InvalidValue
from domain.family import Family
from domain.values import Facility, FieldChange, Office, PersonName, Place, PlaceKind

AT = datetime(2018, 6, 1, tzinfo=UTC)

# (kind, given, stored): what each kind of field keeps, NFC-normalised and trimmed.
STORED = [
    (text.NAME, "Ana Lucía", "Ana Lucía"),
    (text.NAME, "Ana Luci\u0301a", "Ana Lucía"),  # decomposed accent, stored composed
    (text.NAME, "  María  ", "María"),
    (text.NAME, "Ana\n", "Ana"),  # a line break around the text is trimmed, as a space is
    (text.NAME, "x" * 200, "x" * 200),
    (text.LABEL, "A-2018-001", "A-2018-001"),
    (text.LABEL, "x" * 500, "x" * 500),
    (text.LABEL, "\U0001f600 emoji", "\U0001f600 emoji"),  # a whole astral code point
    (text.NOTE, "line one\nline two", "line one\nline two"),
    (text.NOTE, "col\tcol", "col\tcol"),
    (text.NOTE, "windows\r\nline", "windows\nline"),
    (text.NOTE, "x" * 500, "x" * 500),
]

# (kind, given, what the refusal says)
REFUSED = [
    *((kind, "A\x00B", "U+0000") for kind in (text.NAME, text.LABEL, text.NOTE)),
    *((kind, "A\ud800B", "lone surrogate") for kind in (text.NAME, text.LABEL, text.NOTE)),
    *((kind, "\udfff", "lone surrogate") for kind in (text.NAME, text.LABEL, text.NOTE)),
    *((kind, "A\x1b[2JB", "U+001B") for kind in (text.NAME, text.LABEL, text.NOTE)),
    *((kind, "A\x7fB", "U+007F") for kind in (text.NAME, text.LABEL, text.NOTE)),
    *((kind, "A\x85B", "U+0085") for kind in (text.NAME, text.LABEL, text.NOTE)),
    *((kind, "A\u202eB", "U+202E") for kind in (text.NAME, text.LABEL, text.NOTE)),
    *((kind, "A\u2028B", "U+2028") for kind in (text.NAME, text.LABEL, text.NOTE)),
    *((kind, "\x1fA", "U+001F") for kind in (text.NAME, text.LABEL, text.NOTE)),
    (text.NAME, "Ana\nMaría", "U+000A"),
    (text.LABEL, "A\tB", "U+0009"),
    (text.LABEL, "A\rB", "U+000D"),
    (text.NOTE, "old\rmac", "U+000D"),
    (text.NAME, "x" * 201, "at most 200"),
    (text.LABEL, "x" * 501, "at most 500"),
    (text.NOTE, "x" * 300_000, "at most 500"),
]


@pytest.mark.parametrize(("kind", "given", "stored"), STORED)
def test_a_text_within_its_kinds_rules_is_stored_normalised(
    kind: text.TextKind, given: str, stored: str
) -> None:
    assert text.clean(given, "field", kind) == stored


@pytest.mark.parametrize(("kind", "given", "says"), REFUSED)
def test_a_text_breaking_its_kinds_rules_is_refused_naming_the_field(
    kind: text.TextKind, given: str, says: str
) -> None:
    with pytest.raises(InvalidText, match=re.escape(says)) as refused:
        text.clean(given, "case_number", kind)
    assert refused.value.field == "case_number"
    str(refused.value).encode()  # the message names the code point, never echoes it


@pytest.mark.parametrize(
    ("field", "kind"),
    [
        ("note", text.NOTE),
        ("reason", text.NOTE),
        ("reason_text", text.NOTE),
        ("detail", text.NOTE),
        ("red_flag", text.NOTE),
        ("how_read", text.NOTE),
        ("provenance.reason", text.NOTE),
        ("case_number", text.LABEL),
        ("source", text.LABEL),
        ("facility.name", text.LABEL),
        ("language", text.LABEL),
    ],
)
def test_each_field_has_one_declared_kind(field: str, kind: text.TextKind) -> None:
    assert text.kind_of(field) == kind


def test_blank_text_is_not_given_where_optional_and_refused_where_required() -> None:
    assert text.optional("  \n ", "note") is None
    with pytest.raises(InvalidValue, match="must not be empty") as refused:
        text.required(" ", "language")
    assert refused.value.field == "language"


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: PersonName("Ana\x00"), "name"),
        (lambda: Facility("f-1", "Casa\ud800"), "facility.name"),
        (lambda: Facility("f\x00", "Casa"), "facility.id"),
        (lambda: Facility("f-1", "Casa", "T\x00X"), "facility.state"),
        (lambda: Place(PlaceKind.STATION, "El\x00Paso"), "place.name"),
        (lambda: Office("ELP", "El\x07Paso"), "office.name"),
    ],
)
def test_a_value_object_refuses_text_an_event_cannot_hold(build: object, field: str) -> None:
    with pytest.raises(InvalidText) as refused:
        build()  # type: ignore[operator]
    assert refused.value.field == field


def test_a_value_object_holds_its_text_normalised() -> None:
    assert PersonName(" Jose\u0301 ").value == "José"
    assert Facility(" f-1 ", "Casa\u0301", " ").state is None


def a_family() -> Family:
    return Family.open(uuid4(), AT, "A-1", "test")


def test_a_case_whose_note_holds_a_nul_is_refused_and_nothing_is_triggered() -> None:
    family = a_family()
    with pytest.raises(InvalidText) as refused:
        family.close_case("closed\x00", AT)
    assert refused.value.field == "reason"
    assert family.pending_events and len(family.collect_events()) == 1  # only the opening


def test_a_command_records_its_text_normalised() -> None:
    family = a_family()
    family.flag_data_quality("rule ", 1, "Jose\u0301\r\nsaid", AT)
    flagged = family.collect_events()[-1]
    assert (flagged.rule, flagged.detail) == ("rule", "José\nsaid")  # type: ignore[attr-defined]


def test_a_correction_checks_its_text_as_the_first_command_would() -> None:
    family = a_family()
    family.flag_data_quality("rule", 1, "first", AT)
    with pytest.raises(InvalidText, match="at most 500") as refused:
        family.correct_entry(2, (FieldChange("detail", "x" * 300_000),), "typo", AT)
    assert refused.value.field == "detail"
    with pytest.raises(InvalidText, match=re.escape("U+0009")):
        family.correct_entry(2, (FieldChange("rule", "a\tb"),), "typo", AT)
    family.correct_entry(2, (FieldChange("detail", " Jose\u0301 "),), "typo", AT)
    corrected = family.collect_events()[-1]
    assert corrected.changes == [FieldChange("detail", "José")]  # type: ignore[attr-defined]
    with pytest.raises(InvalidText, match=re.escape("U+0000")):
        family.correct_entry(1, (FieldChange("source", "a\x00"),), "typo", AT)
