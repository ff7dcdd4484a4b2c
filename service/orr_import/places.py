"""Countries, referring offices and facilities as the ORR list names them, given stable ids."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType

from domain.values import Facility
from service.orr_import.row import Office

# Every country name found in the COO column, mapped to ISO 3166-1 alpha-2.
COUNTRIES: Mapping[str, str] = MappingProxyType(
    {
        "Angola": "AO",
        "Belize": "BZ",
        "Brazil": "BR",
        "Colombia": "CO",
        # ISO 3166-1's short name "Congo" is the Republic of the Congo (CG); the DR Congo
        # (CD) has its own name there. The file does not say more, so the ISO reading holds.
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
)

_WHITESPACE = re.compile(r"\s+")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_OFFICE = re.compile(r"(?P<name>.*?)\s*\(\s*(?P<code>[A-Za-z]{2,5})\s*\)")


def collapse(text: str) -> str:
    """The text with surrounding whitespace removed and inner runs of it made one space."""
    return _WHITESPACE.sub(" ", text).strip()


def _key(name: str) -> str:
    return collapse(name).casefold()


_COUNTRY_BY_KEY = {_key(name): code for name, code in COUNTRIES.items()}


def country_code(name: str) -> str | None:
    """The ISO alpha-2 code of a country name found in the file, None for any other name."""
    return _COUNTRY_BY_KEY.get(_key(name))


def slug(text: str) -> str:
    """A lower-case ASCII id: accents dropped, any other run of punctuation or space one '-'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")


def referring_office(text: str) -> Office | None:
    """The office named by 'Place  (CODE)'; a name with no code gets a slug of itself as id."""
    name = collapse(text)
    if not name:
        return None
    match = _OFFICE.fullmatch(name)
    if match is None:
        office_id = slug(name).upper()
        if not office_id:
            raise ValueError(f"no office name in {text!r}")
        return Office(id=office_id, name=name, original=text.strip())
    code = match["code"].upper()
    return Office(id=code, name=match["name"] or code, original=text.strip())


def facility(text: str) -> Facility | None:
    """The care provider named in the file: a slug of its name as id, the name as written."""
    name = text.strip()
    if not name:
        return None
    facility_id = slug(name)
    if not facility_id:
        raise ValueError(f"no facility name in {text!r}")
    return Facility(id=facility_id, name=name)
