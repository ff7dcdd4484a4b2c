"""Commands on a child's path: separated, referred, placed, moved, reunified or discharged."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry

from domain.values import (
    ContactChannel,
    DischargeReason,
    EligibilityOutcome,
    Office,
    ProgramType,
)
from schema import inputs as i
from schema.context import Info
from schema.errors import InputInvalid
from schema.mutations import Call, CommandResult, Decide, execute, mutation


@strawberry.input
class OfficeInput:
    """A referring office: a stable id and its name."""

    id: str
    name: str

    def to_office(self) -> Office:
        return i.value_of(
            Office, "office", i.text(self.id, "office.id"), i.text(self.name, "office.name")
        )


@strawberry.input
class ReferChildInput:
    """A child was referred to ORR."""

    family_id: UUID
    child_id: UUID
    office: OfficeInput
    occurred_at: datetime
    hours_in_cbp_custody: int | None = None


@strawberry.input
class TransferChildInput:
    """A child moved to another care provider."""

    family_id: UUID
    child_id: UUID
    facility: i.FacilityInput
    program_type: ProgramType
    occurred_at: datetime


@strawberry.input
class EstablishContactInput:
    """A separated parent and child were put in contact."""

    family_id: UUID
    parent_id: UUID
    child_id: UUID
    channel: ContactChannel
    occurred_at: datetime


@strawberry.input
class DetermineEligibilityInput:
    """Whether a parent may be reunified with the child, and any red flag."""

    family_id: UUID
    parent_id: UUID
    child_id: UUID
    outcome: EligibilityOutcome
    occurred_at: datetime
    red_flag: str | None = None


@strawberry.input
class DischargeChildInput:
    """A child left care other than by reunification with the separated parent."""

    family_id: UUID
    child_id: UUID
    reason: DischargeReason
    occurred_at: datetime
    note: str | None = None


def separate(input: i.RecordSeparationInput) -> Decide:
    place, occurred = input.place.to_place("place"), i.when(input.occurred_at)
    note = i.maybe_text(input.note, "note")
    return lambda f: f.separate(
        input.parent_id,
        input.child_id,
        place,
        input.reason,
        note,
        input.parent_notified,
        occurred,
    )


def hours(value: int | None) -> int | None:
    """Hours in CBP custody: a whole number within a year."""
    if value is not None and not 0 <= value <= 24 * 366:
        raise InputInvalid("hoursInCbpCustody", "hoursInCbpCustody must be 0 to 8784")
    return value


def refer(input: ReferChildInput) -> Decide:
    office, occurred = input.office.to_office(), i.when(input.occurred_at)
    spent = hours(input.hours_in_cbp_custody)
    return lambda f: f.refer_child(input.child_id, office, spent, occurred)


def place(input: i.RecordPlacementInput) -> Decide:
    facility, occurred = input.facility.to_facility(), i.when(input.occurred_at)
    return lambda f: f.place_child(input.child_id, facility, input.program_type, occurred)


def transfer(input: TransferChildInput) -> Decide:
    facility, occurred = input.facility.to_facility(), i.when(input.occurred_at)
    return lambda f: f.transfer_child(input.child_id, facility, input.program_type, occurred)


def contact(input: EstablishContactInput) -> Decide:
    occurred = i.when(input.occurred_at)
    return lambda f: f.establish_contact(input.parent_id, input.child_id, input.channel, occurred)


def eligibility(input: DetermineEligibilityInput) -> Decide:
    occurred, flag = i.when(input.occurred_at), i.maybe_text(input.red_flag, "redFlag")
    return lambda f: f.determine_eligibility(
        input.parent_id, input.child_id, input.outcome, flag, occurred
    )


def reunify(input: i.RecordReunificationInput) -> Decide:
    place = input.place.to_place("place") if input.place else None
    occurred = i.when(input.occurred_at)
    return lambda f: f.reunify(input.child_id, input.parent_id, place, occurred)


def discharge(input: DischargeChildInput) -> Decide:
    occurred, note = i.when(input.occurred_at), i.maybe_text(input.note, "note")
    return lambda f: f.discharge_child(input.child_id, input.reason, note, occurred)


@strawberry.type
class ChildMutations:
    """Record the steps of a child's path."""

    @mutation("A child was taken from a parent.")
    async def record_separation(
        self,
        info: Info,
        input: i.RecordSeparationInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        call = Call("recordSeparation", input, idempotency_key, expected_version, provenance)
        return await execute(info, call, separate)

    @mutation("A child was referred to ORR.")
    async def refer_child(
        self,
        info: Info,
        input: ReferChildInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        call = Call("referChild", input, idempotency_key, expected_version, provenance)
        return await execute(info, call, refer)

    @mutation("A child was placed in ORR care.")
    async def record_placement(
        self,
        info: Info,
        input: i.RecordPlacementInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        call = Call("recordPlacement", input, idempotency_key, expected_version, provenance)
        return await execute(info, call, place)

    @mutation("A child moved to another provider.")
    async def transfer_child(
        self,
        info: Info,
        input: TransferChildInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        call = Call("transferChild", input, idempotency_key, expected_version, provenance)
        return await execute(info, call, transfer)

    @mutation("A separated parent and child were put in contact.")
    async def establish_contact(
        self,
        info: Info,
        input: EstablishContactInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        call = Call("establishContact", input, idempotency_key, expected_version, provenance)
        return await execute(info, call, contact)

    @mutation("Whether a parent may be reunified with a child.")
    async def determine_eligibility(
        self,
        info: Info,
        input: DetermineEligibilityInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        call = Call("determineEligibility", input, idempotency_key, expected_version, provenance)
        return await execute(info, call, eligibility)

    @mutation("A child was reunified with a linked parent.")
    async def record_reunification(
        self,
        info: Info,
        input: i.RecordReunificationInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        call = Call("recordReunification", input, idempotency_key, expected_version, provenance)
        return await execute(info, call, reunify)

    @mutation("A child left care other than by reunification.")
    async def discharge_child(
        self,
        info: Info,
        input: DischargeChildInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        call = Call("dischargeChild", input, idempotency_key, expected_version, provenance)
        return await execute(info, call, discharge)
