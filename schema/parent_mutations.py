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
from schema.mutations import Decide, command


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

    detain_parent = command(
        "detainParent", CustodyInput, detain, "A parent was taken into custody."
    )
    transfer_parent = command(
        "transferParent", CustodyInput, move, "A parent moved to another facility."
    )
    release_parent = command(
        "releaseParent", ReleaseParentInput, release, "A parent was released from custody."
    )
    order_removal = command(
        "orderRemoval", OrderRemovalInput, order, "A removal order was entered."
    )
    sign_removal_election = command(
        "signRemovalElection",
        SignRemovalElectionInput,
        election,
        "A parent signed a removal election form.",
    )
    remove_parent = command(
        "removeParent", RemoveParentInput, removal, "A parent was removed from the US."
    )
    return_parent = command(
        "returnParent", ReturnParentInput, comeback, "A removed parent came back."
    )
    attempt_location = command(
        "attemptLocation", AttemptLocationInput, search, "Someone tried to locate a parent."
    )
    record_preference = command(
        "recordPreference", RecordPreferenceInput, preference, "What a parent wants for the child."
    )
