"""Commands on a person's protection claim: credible fear, the settlement, reopening."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain import events, text
from domain.rules import CaseRules
from domain.values import CredibleFearOutcome, SettlementElection


class AsylumCommands(CaseRules):
    """What is decided on a member's fear claim; any member, adult or child, may have one."""

    def decide_credible_fear(
        self,
        person_id: UUID,
        outcome: CredibleFearOutcome,
        language: str,
        while_separated: bool,
        occurred_at: datetime,
        *,
        historical: bool = False,
    ) -> None:
        """Record a credible-fear decision (confidential: 8 CFR 208.6)."""
        breach = self.check_occurred_at(occurred_at, historical, person_id)
        self.check_member(person_id)
        self.check_no_fear_decision(person_id)
        language = text.required(language, "language")
        self._record(
            events.CredibleFearDecided,
            breach,
            occurred_at=occurred_at,
            person_id=person_id,
            outcome=outcome,
            language=language,
            while_separated=while_separated,
        )

    def elect_settlement(
        self,
        person_id: UUID,
        election: SettlementElection,
        occurred_at: datetime,
        *,
        historical: bool = False,
    ) -> None:
        """Record whether a person elected a fresh review of their claim under the settlement."""
        breach = self.check_occurred_at(occurred_at, historical, person_id)
        self.check_member(person_id)
        self._record(
            events.SettlementElected,
            breach,
            occurred_at=occurred_at,
            person_id=person_id,
            election=election,
        )

    def reinterview(
        self,
        person_id: UUID,
        outcome: CredibleFearOutcome,
        occurred_at: datetime,
        *,
        historical: bool = False,
    ) -> None:
        """Record a re-interview after a negative decision (confidential: 8 CFR 208.6)."""
        breach = self.check_occurred_at(occurred_at, historical, person_id)
        self.check_member(person_id)
        self.check_negative_fear_decision(person_id)
        self._record(
            events.Reinterviewed,
            breach,
            occurred_at=occurred_at,
            person_id=person_id,
            outcome=outcome,
        )

    def reopen_asylum_case(
        self, person_id: UUID, proceeding: str, occurred_at: datetime, *, historical: bool = False
    ) -> None:
        """Record that a person's asylum case was reopened, and in which proceeding."""
        breach = self.check_occurred_at(occurred_at, historical, person_id)
        self.check_member(person_id)
        proceeding = text.required(proceeding, "proceeding")
        self._record(
            events.AsylumCaseReopened,
            breach,
            occurred_at=occurred_at,
            person_id=person_id,
            proceeding=proceeding,
        )
