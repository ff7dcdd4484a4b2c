"""Commands on asylum proceedings: credible fear, the settlement's review, reopening."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry

from domain.values import CredibleFearOutcome, SettlementElection
from schema import inputs as i
from schema.context import Info
from schema.mutations import Call, CommandResult, Decide, execute, mutation


@strawberry.input
class DecideCredibleFearInput:
    """A credible-fear decision (confidential, 8 CFR 208.6)."""

    family_id: UUID
    person_id: UUID
    outcome: CredibleFearOutcome
    language: str
    while_separated: bool
    occurred_at: datetime


@strawberry.input
class ElectSettlementInput:
    """A parent's election under the settlement's review procedures."""

    family_id: UUID
    person_id: UUID
    election: SettlementElection
    occurred_at: datetime


@strawberry.input
class ReinterviewInput:
    """The outcome of a settlement re-interview (confidential, 8 CFR 208.6)."""

    family_id: UUID
    person_id: UUID
    outcome: CredibleFearOutcome
    occurred_at: datetime


@strawberry.input
class ReopenAsylumCaseInput:
    """A person's asylum proceeding was reopened."""

    family_id: UUID
    person_id: UUID
    proceeding: str
    occurred_at: datetime


def fear(input: DecideCredibleFearInput) -> Decide:
    language, occurred = i.text(input.language, "language"), i.when(input.occurred_at)
    return lambda f: f.decide_credible_fear(
        input.person_id, input.outcome, language, input.while_separated, occurred
    )


def settle(input: ElectSettlementInput) -> Decide:
    occurred = i.when(input.occurred_at)
    return lambda f: f.elect_settlement(input.person_id, input.election, occurred)


def interview(input: ReinterviewInput) -> Decide:
    occurred = i.when(input.occurred_at)
    return lambda f: f.reinterview(input.person_id, input.outcome, occurred)


def reopen(input: ReopenAsylumCaseInput) -> Decide:
    proceeding, occurred = i.text(input.proceeding, "proceeding"), i.when(input.occurred_at)
    return lambda f: f.reopen_asylum_case(input.person_id, proceeding, occurred)


@strawberry.type
class AsylumMutations:
    """Record asylum steps; their contents are confidential to readers without the right."""

    @mutation("A credible-fear decision (confidential).")
    async def decide_credible_fear(
        self,
        info: Info,
        input: DecideCredibleFearInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        call = Call("decideCredibleFear", input, idempotency_key, expected_version, provenance)
        return await execute(info, call, fear)

    @mutation("An election under the settlement.")
    async def elect_settlement(
        self,
        info: Info,
        input: ElectSettlementInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        call = Call("electSettlement", input, idempotency_key, expected_version, provenance)
        return await execute(info, call, settle)

    @mutation("A re-interview outcome (confidential).")
    async def reinterview(
        self,
        info: Info,
        input: ReinterviewInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        call = Call("reinterview", input, idempotency_key, expected_version, provenance)
        return await execute(info, call, interview)

    @mutation("An asylum case was reopened.")
    async def reopen_asylum_case(
        self,
        info: Info,
        input: ReopenAsylumCaseInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        call = Call("reopenAsylumCase", input, idempotency_key, expected_version, provenance)
        return await execute(info, call, reopen)
