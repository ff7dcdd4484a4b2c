"""Commands on the case as a whole: apprehension, corrections, flags, closing."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from domain.family import Family
from domain.values import Agency, FieldChange
from schema import inputs as i
from schema.corrections import coerce_field, snake_case
from schema.mutations import Decide, command


@strawberry.input
class ApprehendInput:
    """Members of the family were apprehended together."""

    family_id: UUID
    person_ids: list[UUID]
    place: i.PlaceInput
    agency: Agency
    occurred_at: datetime


@strawberry.input
class FieldChangeInput:
    """One field of the amended entry and its corrected value (JSON, as in the timeline)."""

    field: str
    value: JSON


@strawberry.input
class CorrectEntryInput:
    """Replace named fields of an earlier entry; the original stays in the record."""

    family_id: UUID
    version: int
    changes: list[FieldChangeInput]
    reason: str
    occurred_at: datetime


@strawberry.input
class RetractEntryInput:
    """An earlier entry no longer counts; it stays in the record, marked retracted."""

    family_id: UUID
    version: int
    reason: str
    occurred_at: datetime


@strawberry.input
class FlagDataQualityInput:
    """An entry broke a data-quality rule; it is kept and flagged."""

    family_id: UUID
    about_version: int
    rule: str
    detail: str
    occurred_at: datetime


@strawberry.input
class CloseCaseInput:
    """Close the case; nothing is recorded on it afterwards."""

    family_id: UUID
    reason: str
    occurred_at: datetime


def apprehension(input: ApprehendInput) -> Decide:
    place, occurred = input.place.to_place("place"), i.when(input.occurred_at)
    people = tuple(input.person_ids)
    return lambda f: f.apprehend(people, place, input.agency, occurred)


def correction(input: CorrectEntryInput) -> Decide:
    """Values are typed against the amended entry once the family is loaded."""
    reason, occurred = i.text(input.reason, "reason"), i.when(input.occurred_at)

    def decide(family: Family) -> None:
        entry = family.check_version(input.version)
        changes = tuple(
            FieldChange(snake_case(c.field), coerce_field(entry, snake_case(c.field), c.value))
            for c in input.changes
        )
        family.correct_entry(input.version, changes, reason, occurred)

    return decide


def retraction(input: RetractEntryInput) -> Decide:
    reason, occurred = i.text(input.reason, "reason"), i.when(input.occurred_at)
    return lambda f: f.retract_entry(input.version, reason, occurred)


def flag(input: FlagDataQualityInput) -> Decide:
    rule, detail = i.text(input.rule, "rule"), i.text(input.detail, "detail")
    occurred = i.when(input.occurred_at)
    return lambda f: f.flag_data_quality(rule, input.about_version, detail, occurred)


def closing(input: CloseCaseInput) -> Decide:
    reason, occurred = i.text(input.reason, "reason"), i.when(input.occurred_at)
    return lambda f: f.close_case(reason, occurred)


@strawberry.type
class CaseMutations:
    """Record what concerns the whole case."""

    record_apprehension = command(
        "recordApprehension",
        ApprehendInput,
        apprehension,
        "Members of the family were apprehended together.",
    )
    correct_entry = command(
        "correctEntry",
        CorrectEntryInput,
        correction,
        "Replace fields of an earlier entry; the original stays.",
    )
    retract_entry = command(
        "retractEntry",
        RetractEntryInput,
        retraction,
        "An earlier entry no longer counts; it stays, marked.",
    )
    flag_data_quality = command(
        "flagDataQuality", FlagDataQualityInput, flag, "An entry broke a data rule."
    )
    close_case = command("closeCase", CloseCaseInput, closing, "Close the case.")
