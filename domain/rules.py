"""What a family case knows, and the invariants every command is checked against first."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from domain import corrections
from domain.errors import (
    AlreadyRecorded,
    AlreadyRemoved,
    BeforeApprehension,
    CaseAlreadyClosed,
    ChildPathEnded,
    InTheFuture,
    InvalidAmendment,
    InvalidValue,
    NoNegativeFearDecision,
    NotInCare,
    NotInCustody,
    NotLinked,
    NotRemoved,
    NotRepresented,
    NotWithParent,
    RemovalNotOrdered,
    TimeWithoutZone,
    UnknownEntry,
    UnknownMember,
    WrongRole,
)
from domain.events import AMENDMENTS, Happened
from domain.paths import (
    ADULTS,
    ENDED,
    AsylumPath,
    CaseStatus,
    ChildPath,
    ChildStatus,
    DataQualityFlag,
    Member,
    ParentPath,
    Representation,
)
from domain.values import FieldChange, MemberRole

CLOCK_SKEW = timedelta(minutes=5)
BEFORE_APPREHENSION = "before_apprehension"


def now() -> datetime:
    """The current time; tests replace it to pin the clock."""
    return datetime.now(UTC)


def check_when(moment: datetime) -> None:
    """A moment has a time zone and is not in the future (beyond a small clock skew)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise TimeWithoutZone(f"{moment.isoformat()} has no time zone")
    if moment > now() + CLOCK_SKEW:
        raise InTheFuture(f"{moment.isoformat()} is in the future")


class CaseRules:
    """The state a case folds from its events, and the checks its commands run on it."""

    case_number: str
    source: str
    opened_at: datetime
    closed: bool
    members: dict[UUID, Member]
    links: set[tuple[UUID, UUID]]
    children: dict[UUID, ChildPath]
    parents: dict[UUID, ParentPath]
    asylum: dict[UUID, AsylumPath]
    apprehended_at: dict[UUID, datetime]
    # Counsel of record standing now, by (counsel, person represented).
    representations: dict[tuple[str, UUID], Representation]
    flags: list[DataQualityFlag]
    history: list[Happened]
    amendments: corrections.Amendments

    def _record(self, event_class: type[Happened], breach: str | None, **fields: Any) -> None:
        """Trigger one event, then flag it if it broke an ordering rule (see Family)."""
        raise NotImplementedError

    @property
    def status(self) -> CaseStatus:
        """The case's status, derived from its children's paths."""
        if self.closed:
            return CaseStatus.CLOSED
        paths = [p for p in self.children.values() if p.status is not ChildStatus.WITH_FAMILY]
        if not paths:
            return CaseStatus.OPEN
        if all(p.status in ENDED for p in paths):
            return CaseStatus.REUNIFIED
        return CaseStatus.SEPARATED

    @property
    def amended_versions(self) -> dict[int, list[int]]:
        """Each amended stream version, with the versions of the entries amending it."""
        return self.amendments.amending

    # Every command: the case is open, the moment is sane, and in order.

    def check_occurred_at(
        self, occurred_at: datetime, historical: bool, *people: UUID
    ) -> str | None:
        """Check the moment; return what to flag if a historical entry breaks the order."""
        self.check_open()
        check_when(occurred_at)
        return self.check_after_apprehension(occurred_at, historical, people)

    def check_maybe_undated(
        self, occurred_at: datetime | None, historical: bool, *people: UUID
    ) -> str | None:
        """As check_occurred_at, but imported history may leave the moment unknown (None)."""
        if occurred_at is not None:
            return self.check_occurred_at(occurred_at, historical, *people)
        self.check_open()
        if not historical:
            raise InvalidValue("only imported history may leave the moment unknown")
        return None  # an undated entry is before or after nothing: no order to break

    def check_open(self) -> None:
        if self.closed:
            raise CaseAlreadyClosed(f"case {self.case_number} is closed")

    def check_after_apprehension(
        self, occurred_at: datetime, historical: bool, people: Sequence[UUID]
    ) -> str | None:
        early = [p for p in people if occurred_at < self.apprehended_at.get(p, occurred_at)]
        if not early:
            return None
        detail = f"{occurred_at.isoformat()} is before the apprehension of " + ", ".join(
            f"{p} ({self.apprehended_at[p].isoformat()})" for p in early
        )
        if not historical:
            raise BeforeApprehension(detail)
        return detail

    # Who is named.

    def check_new_member(self, person_id: UUID) -> None:
        if person_id in self.members:
            raise AlreadyRecorded(f"person {person_id} is already a member of the case")

    def check_role(self, person_id: UUID, *roles: MemberRole) -> None:
        member = self.members.get(person_id)
        if member is None:
            raise UnknownMember(f"person {person_id} is not a member of this case")
        if member.role not in roles:
            wanted = " or ".join(r.value for r in roles)
            raise WrongRole(f"person {person_id} is a {member.role.value}, not a {wanted}")

    def check_member(self, person_id: UUID) -> None:
        self.check_role(person_id, *MemberRole)

    def check_adult(self, person_id: UUID) -> None:
        self.check_role(person_id, *ADULTS)

    def check_child(self, child_id: UUID) -> None:
        """A child of the case whose path has not ended."""
        self.check_role(child_id, MemberRole.CHILD)
        self.check_child_not_done(child_id)

    def check_linked(self, parent_id: UUID, child_id: UUID) -> None:
        self.check_adult(parent_id)
        self.check_role(child_id, MemberRole.CHILD)
        if (parent_id, child_id) not in self.links:
            raise NotLinked(f"no relationship links parent {parent_id} to child {child_id}")

    def check_new_link(self, parent_id: UUID, child_id: UUID) -> None:
        if (parent_id, child_id) in self.links:
            raise AlreadyRecorded("this relationship is already recorded")

    # A child's path.

    def check_child_not_done(self, child_id: UUID) -> None:
        path = self.children[child_id]
        if path.status in ENDED:
            raise ChildPathEnded(
                f"child {child_id} is already {path.status.value}; record a correction instead"
            )

    def check_in_care(self, child_id: UUID) -> None:
        if self.children[child_id].status is not ChildStatus.IN_CARE:
            raise NotInCare(f"child {child_id} is not in care; place the child first")

    def check_with_parent(self, parent_id: UUID, child_id: UUID) -> None:
        """A child leaves the country with a parent only if not in government care."""
        self.check_linked(parent_id, child_id)
        status = self.children[child_id].status
        if status not in (ChildStatus.WITH_FAMILY, ChildStatus.REUNIFIED):
            raise NotWithParent(f"child {child_id} is {status.value}; reunify the child first")

    # A parent's path.

    def check_not_abroad(self, parent_id: UUID) -> None:
        path = self.parents[parent_id]
        if path.abroad:
            raise AlreadyRemoved(
                f"parent {parent_id} was removed to {path.removed_to and path.removed_to.code} "
                "and is not recorded as returned"
            )

    def check_abroad(self, parent_id: UUID) -> None:
        if not self.parents[parent_id].abroad:
            raise NotRemoved(f"parent {parent_id} is not recorded as removed (or has returned)")

    def check_in_custody(self, parent_id: UUID) -> None:
        if self.parents[parent_id].custody is None:
            raise NotInCustody(f"parent {parent_id} is not detained; record a detention first")

    def check_removal_ordered(self, parent_id: UUID) -> None:
        if self.parents[parent_id].removal_order is None:
            raise RemovalNotOrdered(f"parent {parent_id} has no removal order")

    # A person's protection claim.

    def check_no_fear_decision(self, person_id: UUID) -> None:
        if self.asylum[person_id].credible_fear is not None:
            raise AlreadyRecorded(
                f"person {person_id} has a credible-fear decision; record a re-interview "
                "or a correction instead"
            )

    def check_negative_fear_decision(self, person_id: UUID) -> None:
        if not self.asylum[person_id].has_negative_decision:
            raise NoNegativeFearDecision(
                f"person {person_id} has no negative credible-fear decision to revisit"
            )

    # Counsel of record.

    def check_not_represented(self, counsel: str, person_id: UUID) -> None:
        if (counsel, person_id) in self.representations:
            raise AlreadyRecorded(
                f"{counsel} is already counsel of record for {person_id}; end the "
                "representation first to record it anew"
            )

    def check_represented(self, counsel: str, person_id: UUID, until: datetime) -> None:
        standing = self.representations.get((counsel, person_id))
        if standing is None:
            raise NotRepresented(f"{counsel} is not counsel of record for {person_id}")
        if until < standing.since:
            raise InvalidValue(
                f"the representation began {standing.since.isoformat()}; it cannot end "
                f"before that, on {until.isoformat()}",
                "occurred_at",
            )

    # Amendments: the entry exists, counts, and the history still holds together after.

    def check_version(self, version: int) -> Happened:
        """The entry at a stream version."""
        if not 1 <= version <= len(self.history):
            raise UnknownEntry(f"case {self.case_number} has no entry at version {version}")
        return self.history[version - 1]

    def check_entry(self, version: int) -> Happened:
        """The entry at a stream version, if it may be amended."""
        entry = self.check_version(version)
        if isinstance(entry, AMENDMENTS):
            raise InvalidAmendment(f"entry {version} is itself an amendment; amend the original")
        if version in self.amendments.retracted:
            raise InvalidAmendment(f"entry {version} is already retracted")
        return entry

    def check_correction(self, version: int, changes: Sequence[FieldChange]) -> None:
        entry = corrections.amended(
            self.check_entry(version), self.amendments.changes.get(version, ())
        )
        corrections.check_changes(entry, changes)
        for change in changes:
            if isinstance(change.value, datetime):
                check_when(change.value)
        proposed = self._proposed()
        proposed.correct(version, 0, changes)
        corrections.check_history_holds(proposed.apply(self.history))

    def check_retraction(self, version: int) -> None:
        self.check_entry(version)
        if version == 1:
            raise InvalidAmendment("the opening of a case cannot be retracted")
        proposed = self._proposed()
        proposed.retract(version, 0)
        corrections.check_history_holds(proposed.apply(self.history))

    def _proposed(self) -> corrections.Amendments:
        """A copy of the amendments so far, to try one more on."""
        return copy.deepcopy(self.amendments)
