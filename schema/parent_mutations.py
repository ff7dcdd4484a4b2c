"""Commands on a parent's path: custody, release, removal, return, location, preference."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry

from domain.values import (
    Country,
    CustodyKind,
    LocationOutcome,
    RemovalElection,
    RemovalKind,
    ReturnRoute,
    ReunificationPreference,
)
from schema import inputs as i
from schema.context import Info
from schema.mutations import Call, CommandResult, Decide, execute, mutation


@strawberry.input
class CustodyInput:
    """A parent was detained, or moved to another facility."""

    family_id: UUID
    parent_id: UUID
    facility: i.FacilityInput
    custody: CustodyKind
    occurred_at: datetime


@strawberry.input
class ReleaseParentInput:
    """A parent was released from custody, and to where."""

    family_id: UUID
    parent_id: UUID
    destination: str
    occurred_at: datetime


@strawberry.input
class OrderRemovalInput:
    """A removal order was entered against a parent."""

    family_id: UUID
    parent_id: UUID
    kind: RemovalKind
    occurred_at: datetime


@strawberry.input
class SignRemovalElectionInput:
    """A parent signed a removal election form; how it was read to them matters."""

    family_id: UUID
    parent_id: UUID
    election: RemovalElection
    language: str
    counsel_present: bool
    how_read: str
    occurred_at: datetime


@strawberry.input
class RemoveParentInput:
    """A parent was removed from the United States, with or without the children."""

    family_id: UUID
    parent_id: UUID
    country: str
    occurred_at: datetime
    children_removed_with: list[UUID] = strawberry.field(default_factory=list)


@strawberry.input
class ReturnParentInput:
    """A removed parent came back to the United States."""

    family_id: UUID
    parent_id: UUID
    how: ReturnRoute
    occurred_at: datetime


@strawberry.input
class AttemptLocationInput:
    """Someone tried to locate a parent: how, by whom, with what outcome."""

    family_id: UUID
    parent_id: UUID
    method: str
    outcome: LocationOutcome
    by_whom: str
    occurred_at: datetime


@strawberry.input
class RecordPreferenceInput:
    """What a parent wants for the child."""

    family_id: UUID
    parent_id: UUID
    preference: ReunificationPreference
    occurred_at: datetime


def _country(value: str) -> Country:
    country = i.country(value)
    assert country is not None
    return country


def detain(input: CustodyInput) -> Decide:
    facility, occurred = input.facility.to_facility(), i.when(input.occurred_at)
    return lambda f: f.detain_parent(input.parent_id, facility, input.custody, occurred)


def move(input: CustodyInput) -> Decide:
    facility, occurred = input.facility.to_facility(), i.when(input.occurred_at)
    return lambda f: f.transfer_parent(input.parent_id, facility, input.custody, occurred)


def release(input: ReleaseParentInput) -> Decide:
    where, occurred = i.text(input.destination, "destination"), i.when(input.occurred_at)
    return lambda f: f.release_parent(input.parent_id, where, occurred)


def order(input: OrderRemovalInput) -> Decide:
    occurred = i.when(input.occurred_at)
    return lambda f: f.order_removal(input.parent_id, input.kind, occurred)


def election(input: SignRemovalElectionInput) -> Decide:
    language, how_read = i.text(input.language, "language"), i.text(input.how_read, "howRead")
    occurred = i.when(input.occurred_at)
    return lambda f: f.sign_removal_election(
        input.parent_id, input.election, language, input.counsel_present, how_read, occurred
    )


def removal(input: RemoveParentInput) -> Decide:
    country, occurred = _country(input.country), i.when(input.occurred_at)
    with_children = tuple(input.children_removed_with)
    return lambda f: f.remove_parent(input.parent_id, country, with_children, occurred)


def comeback(input: ReturnParentInput) -> Decide:
    occurred = i.when(input.occurred_at)
    return lambda f: f.return_parent(input.parent_id, input.how, occurred)


def search(input: AttemptLocationInput) -> Decide:
    method, by_whom = i.text(input.method, "method"), i.text(input.by_whom, "byWhom")
    occurred = i.when(input.occurred_at)
    return lambda f: f.attempt_location(input.parent_id, method, input.outcome, by_whom, occurred)


def preference(input: RecordPreferenceInput) -> Decide:
    occurred = i.when(input.occurred_at)
    return lambda f: f.record_preference(input.parent_id, input.preference, occurred)


@strawberry.type
class ParentMutations:
    """Record the steps of a parent's path."""

    @mutation("A parent was taken into custody.")
    async def detain_parent(
        self,
        info: Info,
        input: CustodyInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        call = Call("detainParent", input, idempotency_key, expected_version, provenance)
        return await execute(info, call, detain)

    @mutation("A parent moved to another facility.")
    async def transfer_parent(
        self,
        info: Info,
        input: CustodyInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        call = Call("transferParent", input, idempotency_key, expected_version, provenance)
        return await execute(info, call, move)

    @mutation("A parent was released from custody.")
    async def release_parent(
        self,
        info: Info,
        input: ReleaseParentInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        call = Call("releaseParent", input, idempotency_key, expected_version, provenance)
        return await execute(info, call, release)

    @mutation("A removal order was entered.")
    async def order_removal(
        self,
        info: Info,
        input: OrderRemovalInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        call = Call("orderRemoval", input, idempotency_key, expected_version, provenance)
        return await execute(info, call, order)

    @mutation("A parent signed a removal election form.")
    async def sign_removal_election(
        self,
        info: Info,
        input: SignRemovalElectionInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        call = Call("signRemovalElection", input, idempotency_key, expected_version, provenance)
        return await execute(info, call, election)

    @mutation("A parent was removed from the US.")
    async def remove_parent(
        self,
        info: Info,
        input: RemoveParentInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        call = Call("removeParent", input, idempotency_key, expected_version, provenance)
        return await execute(info, call, removal)

    @mutation("A removed parent came back.")
    async def return_parent(
        self,
        info: Info,
        input: ReturnParentInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        call = Call("returnParent", input, idempotency_key, expected_version, provenance)
        return await execute(info, call, comeback)

    @mutation("Someone tried to locate a parent.")
    async def attempt_location(
        self,
        info: Info,
        input: AttemptLocationInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        call = Call("attemptLocation", input, idempotency_key, expected_version, provenance)
        return await execute(info, call, search)

    @mutation("What a parent wants for the child.")
    async def record_preference(
        self,
        info: Info,
        input: RecordPreferenceInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        call = Call("recordPreference", input, idempotency_key, expected_version, provenance)
        return await execute(info, call, preference)
