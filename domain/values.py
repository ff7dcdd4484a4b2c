"""Value objects and enumerations of the family-separation domain."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from domain import text
from domain.errors import InvalidValue

_A_NUMBER = re.compile(r"A[0-9]{8,9}")
_COUNTRY = re.compile(r"[A-Z]{2}")


class MemberRole(Enum):
    """The part a person plays in a family case."""

    PARENT = "parent"
    CHILD = "child"
    OTHER_ADULT = "other_adult"


class Sex(Enum):
    """Sex as recorded by the agency."""

    FEMALE = "female"
    MALE = "male"
    UNKNOWN = "unknown"


class RelationshipKind(Enum):
    """How an adult is related to a child."""

    MOTHER = "mother"
    FATHER = "father"
    LEGAL_GUARDIAN = "legal_guardian"
    OTHER_RELATIVE = "other_relative"
    UNKNOWN = "unknown"


class Evidence(Enum):
    """What the relationship rests on."""

    CLAIMED = "claimed"
    DOCUMENTS = "documents"
    DNA = "dna"


class SeparationReason(Enum):
    """Why the agency said it separated a parent and child."""

    ZERO_TOLERANCE = "zero_tolerance"
    CRIMINAL_HISTORY = "criminal_history"
    GANG_AFFILIATION = "gang_affiliation"
    HEALTH = "health"
    UNVERIFIED_RELATIONSHIP = "unverified_relationship"
    OTHER = "other"


class ProgramType(Enum):
    """The kind of ORR care provider a child is placed with."""

    SHELTER = "shelter"
    STAFF_SECURE = "staff_secure"
    SECURE = "secure"
    TRANSITIONAL_FOSTER_CARE = "transitional_foster_care"
    LONG_TERM_FOSTER_CARE = "long_term_foster_care"
    RESIDENTIAL_TREATMENT = "residential_treatment"
    INFLUX = "influx"
    UNKNOWN = "unknown"


class PlaceKind(Enum):
    """Where along the border something happened."""

    SECTOR = "sector"
    STATION = "station"
    PORT_OF_ENTRY = "port_of_entry"
    FACILITY = "facility"
    OTHER = "other"


class Agency(Enum):
    """The agency that apprehended a family."""

    BORDER_PATROL = "border_patrol"
    OFFICE_OF_FIELD_OPERATIONS = "office_of_field_operations"
    ICE = "ice"
    OTHER = "other"


class CustodyKind(Enum):
    """Who holds a detained parent."""

    ICE = "ice"
    US_MARSHALS = "us_marshals"
    STATE_OR_LOCAL = "state_or_local"
    OTHER = "other"


class ContactChannel(Enum):
    """How a parent and child were put in touch."""

    PHONE = "phone"
    VIDEO = "video"
    IN_PERSON = "in_person"
    LETTER = "letter"
    OTHER = "other"


class CredibleFearOutcome(Enum):
    """The outcome of a credible-fear interview or re-interview."""

    POSITIVE = "positive"
    NEGATIVE = "negative"


class RemovalKind(Enum):
    """The kind of removal order a parent received."""

    EXPEDITED = "expedited"
    REINSTATED = "reinstated"
    IMMIGRATION_JUDGE = "immigration_judge"
    STIPULATED = "stipulated"
    OTHER = "other"


class RemovalElection(Enum):
    """What a parent with a removal order chose on the election form."""

    REUNIFY_FOR_REMOVAL = "reunify_for_removal"
    DEPART_WITHOUT_CHILD = "depart_without_child"


class LocationOutcome(Enum):
    """What an attempt to locate a parent found."""

    FOUND = "found"
    NOT_FOUND = "not_found"
    UNREACHABLE = "unreachable"
    DECEASED = "deceased"


class ReunificationPreference(Enum):
    """What a located parent wants for the child."""

    REUNIFY_ABROAD = "reunify_abroad"
    WAIVE_CHILD_STAYS = "waive_child_stays"
    UNDECIDED = "undecided"


class EligibilityOutcome(Enum):
    """Whether a parent may be reunified with a child."""

    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"


class SettlementElection(Enum):
    """A person's choice under the settlement: a fresh review of their claim, or not."""

    ELECT_REVIEW = "elect_review"
    DECLINE_REVIEW = "decline_review"


class RepresentationBasis(Enum):
    """What makes a lawyer counsel of record for a person."""

    NOTICE_OF_APPEARANCE = "notice_of_appearance"  # a filed Form G-28 or EOIR-28
    COURT_APPOINTMENT = "court_appointment"
    CLIENT_AUTHORIZATION = "client_authorization"  # signed by the person, nothing filed yet
    OTHER = "other"


class ReturnRoute(Enum):
    """How a removed parent came back to the United States."""

    PAROLE = "parole"
    COURT_ORDER = "court_order"
    OTHER = "other"


class DischargeReason(Enum):
    """Why a child left ORR care other than by reunification."""

    SPONSOR = "sponsor"
    AGED_OUT = "aged_out"
    OTHER = "other"


@dataclass(frozen=True)
class Country:
    """An ISO 3166-1 alpha-2 country code."""

    code: str

    def __post_init__(self) -> None:
        if not _COUNTRY.fullmatch(self.code):
            raise InvalidValue(f"country must be an ISO 3166-1 alpha-2 code, got {self.code!r}")


@dataclass(frozen=True)
class ANumber:
    """An alien registration number: A followed by 8 or 9 digits."""

    value: str

    def __post_init__(self) -> None:
        if not _A_NUMBER.fullmatch(self.value):
            raise InvalidValue(f"A-number must be 'A' and 8 or 9 digits, got {self.value!r}")


@dataclass(frozen=True)
class PersonName:
    """A person's name as recorded; non-empty and bounded."""

    value: str

    def __post_init__(self) -> None:
        _keep(self, "value", text.required(self.value, "name", text.NAME))


@dataclass(frozen=True)
class Facility:
    """A care provider or detention facility: a stable id and its recorded name."""

    id: str
    name: str
    state: str | None = None

    def __post_init__(self) -> None:
        _keep(self, "id", text.required(self.id, "facility.id"))
        _keep(self, "name", text.required(self.name, "facility.name"))
        _keep(self, "state", text.optional(self.state, "facility.state"))


@dataclass(frozen=True)
class Place:
    """A named place: a Border Patrol sector or station, a port of entry, a facility."""

    kind: PlaceKind
    name: str

    def __post_init__(self) -> None:
        _keep(self, "name", text.required(self.name, "place.name"))


@dataclass(frozen=True)
class Office:
    """An office that refers children to ORR (an ICE ERO field office): id and name."""

    id: str
    name: str

    def __post_init__(self) -> None:
        _keep(self, "id", text.required(self.id, "office.id"))
        _keep(self, "name", text.required(self.name, "office.name"))


@dataclass(frozen=True)
class FieldChange:
    """One field of an earlier event and the value a correction gives it."""

    field: str
    value: object

    def __post_init__(self) -> None:
        if not self.field.strip():
            raise InvalidValue("a field change must name the field")


def _keep(value: object, field: str, cleaned: object) -> None:
    """Store the cleaned text in a frozen value object (only ever from __post_init__)."""
    object.__setattr__(value, field, cleaned)
