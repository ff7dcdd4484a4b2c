"""Value objects refuse malformed values with InvalidValue; well-formed ones are kept as given."""

from __future__ import annotations

import pytest

from domain.errors import DomainError, InvalidValue
from domain.values import ANumber, Country, Facility, PersonName, Place, PlaceKind


@pytest.mark.parametrize("value", ["A12345678", "A123456789", "A00000000"])
def test_an_a_number_is_a_followed_by_eight_or_nine_digits(value: str) -> None:
    assert ANumber(value).value == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "A",
        "A1234567",  # seven digits
        "A1234567890",  # ten digits
        "a12345678",  # lower-case prefix
        "12345678",  # no prefix
        "B12345678",
        "A1234567X",
        " A12345678",
        "A12345678 ",
        "A12345678\n",
        "A-12345678",
    ],
)
def test_a_malformed_a_number_is_refused(value: str) -> None:
    with pytest.raises(InvalidValue, match="A-number"):
        ANumber(value)


def test_an_a_number_in_non_ascii_digits_is_refused() -> None:
    with pytest.raises(InvalidValue, match="A-number"):
        ANumber("A\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668")  # Arabic-Indic digits


@pytest.mark.parametrize("code", ["MX", "GT", "HN", "SV", "US"])
def test_a_country_is_two_upper_case_letters(code: str) -> None:
    assert Country(code).code == code


@pytest.mark.parametrize("code", ["", "M", "mx", "Mx", "MEX", "M1", "12", " MX", "MX\n", "ÑA"])
def test_a_malformed_country_code_is_refused(code: str) -> None:
    with pytest.raises(InvalidValue, match="country"):
        Country(code)


@pytest.mark.parametrize("value", ["Ana", "José Ángel Pérez López", "X" * 200])
def test_a_name_up_to_two_hundred_characters_is_kept(value: str) -> None:
    assert PersonName(value).value == value


@pytest.mark.parametrize("value", ["", " ", "\t\n"])
def test_an_empty_name_is_refused(value: str) -> None:
    with pytest.raises(InvalidValue, match="empty"):
        PersonName(value)


def test_a_name_longer_than_two_hundred_characters_is_refused() -> None:
    with pytest.raises(InvalidValue, match="200"):
        PersonName("X" * 201)


def test_a_facility_keeps_its_id_name_and_state() -> None:
    facility = Facility("casa-padre", "Casa Padre", "TX")
    assert (facility.id, facility.name, facility.state) == ("casa-padre", "Casa Padre", "TX")
    assert Facility("casa-padre", "Casa Padre").state is None


@pytest.mark.parametrize(("id_", "name"), [("", "Casa Padre"), ("casa-padre", ""), (" ", " ")])
def test_a_facility_without_an_id_or_a_name_is_refused(id_: str, name: str) -> None:
    with pytest.raises(InvalidValue, match="facility"):
        Facility(id_, name)


@pytest.mark.parametrize("kind", list(PlaceKind))
def test_a_place_of_any_kind_keeps_its_name(kind: PlaceKind) -> None:
    assert Place(kind, "San Ysidro") == Place(kind, "San Ysidro")


@pytest.mark.parametrize("name", ["", "   "])
def test_a_place_without_a_name_is_refused(name: str) -> None:
    with pytest.raises(InvalidValue, match="place"):
        Place(PlaceKind.SECTOR, name)


def test_an_invalid_value_is_a_domain_error_the_caller_can_act_on() -> None:
    assert issubclass(InvalidValue, DomainError)
    assert InvalidValue.code == "INVALID_VALUE"


def test_value_objects_are_immutable() -> None:
    name = PersonName("Ana")
    with pytest.raises(AttributeError):
        name.value = "Beto"  # type: ignore[misc]
