"""Commands on asylum proceedings: credible fear, the settlement's review, reopening."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry

from domain.values import CredibleFearOutcome, SettlementElection
from schema import inputs as i
from schema.mutations import Decide, command


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

    decide_credible_fear = command(
        "decideCredibleFear",
        DecideCredibleFearInput,
        fear,
        "A credible-fear decision (confidential).",
    )
    elect_settlement = command(
        "electSettlement", ElectSettlementInput, settle, "An election under the settlement."
    )
    reinterview = command(
        "reinterview", ReinterviewInput, interview, "A re-interview outcome (confidential)."
    )
    reopen_asylum_case = command(
        "reopenAsylumCase", ReopenAsylumCaseInput, reopen, "An asylum case was reopened."
    )
