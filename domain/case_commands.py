"""Commands about the case as a whole: who is in it, how they are linked, its entries."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain import corrections, events, text
from domain.errors import InvalidValue
from domain.paths import Member
from domain.rules import CaseRules
from domain.values import Agency, Evidence, FieldChange, MemberRole, Place, RelationshipKind


class CaseCommands(CaseRules):
    """Members, links, apprehension, amendments, data-quality flags and closing."""

    def add_member(
        self, member: Member, occurred_at: datetime, *, historical: bool = False
    ) -> None:
        """Add a parent, child or other adult to the case."""
        self.check_occurred_at(occurred_at, historical)
        self.check_new_member(member.person_id)
        self._record(
            events.MemberAdded,
            None,
            occurred_at=occurred_at,
            person_id=member.person_id,
            role=member.role,
            name=member.name,
            sex=member.sex,
            birth_date=member.birth_date,
            age=member.age,
            country=member.country,
            a_number=member.a_number,
        )

    def record_relationship(
        self,
        parent_id: UUID,
        child_id: UUID,
        kind: RelationshipKind,
        evidence: Evidence,
        occurred_at: datetime,
        *,
        historical: bool = False,
    ) -> None:
        """Link an adult member to a child member."""
        breach = self.check_occurred_at(occurred_at, historical, parent_id, child_id)
        self.check_adult(parent_id)
        self.check_role(child_id, MemberRole.CHILD)
        self.check_new_link(parent_id, child_id)
        self._record(
            events.RelationshipRecorded,
            breach,
            occurred_at=occurred_at,
            parent_id=parent_id,
            child_id=child_id,
            kind=kind,
            evidence=evidence,
        )

    def apprehend(
        self,
        person_ids: tuple[UUID, ...],
        place: Place,
        agency: Agency,
        occurred_at: datetime,
        *,
        historical: bool = False,
    ) -> None:
        """Record that members of the family were apprehended together."""
        self.check_occurred_at(occurred_at, historical)
        if not person_ids or len(set(person_ids)) != len(person_ids):
            raise InvalidValue("an apprehension names one or more people, each once")
        for person_id in person_ids:
            self.check_member(person_id)
            if person_id in self.children:
                self.check_child_not_done(person_id)
        self._record(
            events.Apprehended,
            None,
            occurred_at=occurred_at,
            person_ids=list(person_ids),
            place=place,
            agency=agency,
        )

    def correct_entry(
        self,
        version: int,
        changes: tuple[FieldChange, ...],
        reason: str,
        occurred_at: datetime,
        *,
        historical: bool = False,
    ) -> None:
        """Replace named fields of the entry at a stream version; the original stays."""
        self.check_occurred_at(occurred_at, historical)
        reason = text.required(reason, "reason")
        entry = self.check_entry(version)
        changes = corrections.cleaned(entry, changes)
        self.check_correction(version, changes)
        self._record(
            events.EntryCorrected,
            None,
            occurred_at=occurred_at,
            version=version,
            changes=list(changes),
            reason=reason,
            subject=corrections.personal_subject(entry, changes),
        )

    def retract_entry(
        self, version: int, reason: str, occurred_at: datetime, *, historical: bool = False
    ) -> None:
        """Make the entry at a stream version no longer count; the original stays."""
        self.check_occurred_at(occurred_at, historical)
        reason = text.required(reason, "reason")
        self.check_retraction(version)
        self._record(
            events.EntryRetracted, None, occurred_at=occurred_at, version=version, reason=reason
        )

    def flag_data_quality(
        self,
        rule: str,
        about_version: int,
        detail: str,
        occurred_at: datetime,
        *,
        historical: bool = False,
    ) -> None:
        """Flag an entry that broke a data-quality rule (an age over 17, dates out of order)."""
        self.check_occurred_at(occurred_at, historical)
        rule, detail = text.required(rule, "rule"), text.required(detail, "detail")
        self.check_version(about_version)
        self._record(
            events.DataQualityFlagged,
            None,
            occurred_at=occurred_at,
            rule=rule,
            about_version=about_version,
            detail=detail,
        )

    def close_case(self, reason: str, occurred_at: datetime, *, historical: bool = False) -> None:
        """Close the case; nothing, not even a correction, is recorded on it after."""
        self.check_occurred_at(occurred_at, historical)
        reason = text.required(reason, "reason")
        self._record(events.CaseClosed, None, occurred_at=occurred_at, reason=reason)
