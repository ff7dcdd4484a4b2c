"""Commands on counsel of record: a lawyer's representation of a member begins and ends.

What a counsel token may read follows from these entries (schema/policy.py): the families
of the people it represents, and the asylum facts of those who consented to disclosure.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry

from domain.values import RepresentationBasis
from schema import inputs as i
from schema.context import Info
from schema.mutations import Call, CommandResult, Decide, execute, mutation


@strawberry.input
class RecordRepresentationInput:
    """A lawyer became counsel of record for a member of the case."""

    family_id: UUID
    person_id: UUID
    counsel: str = strawberry.field(
        description="The lawyer, exactly as their bearer token's subject (`sub`) says."
    )
    basis: RepresentationBasis
    consent_to_disclosure: bool = strawberry.field(
        description="Whether the person consented in writing to disclosure of their asylum "
        "facts (8 CFR 208.6) to this counsel; without it counsel reads the family, not them."
    )
    occurred_at: datetime
    reference: str | None = strawberry.field(
        default=None, description='The filing or appointment, e.g. "EOIR-28 filed 2018-07-02".'
    )


@strawberry.input
class EndRepresentationInput:
    """A lawyer is no longer counsel of record for a member."""

    family_id: UUID
    person_id: UUID
    counsel: str
    reason: str
    occurred_at: datetime


def represent(input: RecordRepresentationInput) -> Decide:
    counsel, occurred = i.text(input.counsel, "counsel"), i.when(input.occurred_at)
    reference = i.maybe_text(input.reference, "reference")
    return lambda f: f.record_representation(
        counsel, input.person_id, input.basis, reference, input.consent_to_disclosure, occurred
    )


def end(input: EndRepresentationInput) -> Decide:
    counsel, reason = i.text(input.counsel, "counsel"), i.text(input.reason, "reason")
    occurred = i.when(input.occurred_at)
    return lambda f: f.end_representation(counsel, input.person_id, reason, occurred)


@strawberry.type
class CounselMutations:
    """Record who represents whom, with provenance, as entries of the family's history."""

    @mutation("A lawyer became counsel of record for a member.")
    async def record_representation(
        self,
        info: Info,
        input: RecordRepresentationInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        call = Call("recordRepresentation", input, idempotency_key, expected_version, provenance)
        return await execute(info, call, represent)

    @mutation("A lawyer is no longer counsel of record for a member.")
    async def end_representation(
        self,
        info: Info,
        input: EndRepresentationInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        call = Call("endRepresentation", input, idempotency_key, expected_version, provenance)
        return await execute(info, call, end)
