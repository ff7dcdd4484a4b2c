"""Corrections, never edits: amend or retract an earlier entry; the original stays."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from domain.family import Family
from domain.values import FieldChange
from schema import inputs as i
from schema.context import Info
from schema.corrections import coerce_field, snake_case
from schema.mutations import Call, CommandResult, Decide, execute, mutation


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


@strawberry.type
class CorrectionMutations:
    """Amend or retract what was recorded, keeping what was first written."""

    @mutation("Replace fields of an earlier entry; the original stays.")
    async def correct_entry(
        self,
        info: Info,
        input: CorrectEntryInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        call = Call("correctEntry", input, idempotency_key, expected_version, provenance)
        return await execute(info, call, correction)

    @mutation("An earlier entry no longer counts; it stays, marked.")
    async def retract_entry(
        self,
        info: Info,
        input: RetractEntryInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        call = Call("retractEntry", input, idempotency_key, expected_version, provenance)
        return await execute(info, call, retraction)
