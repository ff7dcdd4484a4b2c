"""Commands on the case as a whole: apprehension, corrections, flags, closing."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from domain.family import Family
from domain.values import Agency, FieldChange
from schema import inputs as i
from schema.context import Info
from schema.corrections import coerce_field, snake_case
from schema.mutations import CommandResult, Decide, execute
from schema.permissions import RECORDERS


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


def correction(input: CorrectEntryInput, occurred: datetime, reason: str) -> Decide:
    """Values are typed against the amended entry once the family is loaded."""

    def decide(family: Family) -> None:
        entry = family.check_version(input.version)
        changes = tuple(
            FieldChange(snake_case(c.field), coerce_field(entry, snake_case(c.field), c.value))
            for c in input.changes
        )
        family.correct_entry(input.version, changes, reason, occurred)

    return decide


@strawberry.type
class CaseMutations:
    """Record what concerns the whole case."""

    @strawberry.mutation(permission_classes=[RECORDERS])
    async def record_apprehension(
        self,
        info: Info,
        input: ApprehendInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        def build() -> Decide:
            place, occurred = input.place.to_place("place"), i.when(input.occurred_at)
            people = tuple(input.person_ids)
            return lambda f: f.apprehend(people, place, input.agency, occurred)

        return await execute(
            info,
            "recordApprehension",
            input,
            input.family_id,
            idempotency_key,
            expected_version,
            provenance,
            build,
        )

    @strawberry.mutation(permission_classes=[RECORDERS])
    async def correct_entry(
        self,
        info: Info,
        input: CorrectEntryInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        def build() -> Decide:
            reason, occurred = i.text(input.reason, "reason"), i.when(input.occurred_at)
            return correction(input, occurred, reason)

        return await execute(
            info,
            "correctEntry",
            input,
            input.family_id,
            idempotency_key,
            expected_version,
            provenance,
            build,
        )

    @strawberry.mutation(permission_classes=[RECORDERS])
    async def retract_entry(
        self,
        info: Info,
        input: RetractEntryInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        def build() -> Decide:
            reason, occurred = i.text(input.reason, "reason"), i.when(input.occurred_at)
            return lambda f: f.retract_entry(input.version, reason, occurred)

        return await execute(
            info,
            "retractEntry",
            input,
            input.family_id,
            idempotency_key,
            expected_version,
            provenance,
            build,
        )

    @strawberry.mutation(permission_classes=[RECORDERS])
    async def flag_data_quality(
        self,
        info: Info,
        input: FlagDataQualityInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        def build() -> Decide:
            rule, detail = i.text(input.rule, "rule"), i.text(input.detail, "detail")
            occurred = i.when(input.occurred_at)
            return lambda f: f.flag_data_quality(rule, input.about_version, detail, occurred)

        return await execute(
            info,
            "flagDataQuality",
            input,
            input.family_id,
            idempotency_key,
            expected_version,
            provenance,
            build,
        )

    @strawberry.mutation(permission_classes=[RECORDERS])
    async def close_case(
        self,
        info: Info,
        input: CloseCaseInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        def build() -> Decide:
            reason, occurred = i.text(input.reason, "reason"), i.when(input.occurred_at)
            return lambda f: f.close_case(reason, occurred)

        return await execute(
            info,
            "closeCase",
            input,
            input.family_id,
            idempotency_key,
            expected_version,
            provenance,
            build,
        )
