"""What auditors ask of the log itself: a family at any point, a diff, and its integrity.

These fields replay the event stream; they never read the read models, so a read model
that drifted cannot hide what the log says.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Annotated, cast
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from schema.audit import reads
from schema.context import Info
from schema.errors import PublicError
from schema.permissions import AUDITORS
from schema.scoping import scope_of
from schema.time_travel import CaseAsOf, CaseDiff, CasePoint, aware
from service.eventstore.chain import ChainBreak as Break
from service.history.replay import Point
from service.history.time_travel import TimeTravel
from service.ledger.bundle import bundle_to_json
from service.ledger.checkpoints import Checkpoint, CheckpointTaker
from service.ledger.export import ExportError, UnknownFamily, export_bundle
from service.ledger.keys import KeyFileError, KeySettings
from service.ledger.proofs import verify_family

log = logging.getLogger(__name__)

RecordedAt = Annotated[
    datetime | None,
    strawberry.argument(description="The case as the system knew it then: events recorded by it."),
]
OccurredAt = Annotated[
    date | None,
    strawberry.argument(
        description="The world at the end of this day, as known now (or at recordedAt): "
        "corrections applied, events that occurred later left out. Who the case is about "
        "(opening, members, relationships) counts on any date; an undated event on none."
    ),
]


def time_travel(info: Info) -> TimeTravel:
    """Replays over this process's store, with the cases projection the runner feeds."""
    container = info.context.container
    return TimeTravel(container.store, container.runner.projections["cases"])


@strawberry.type
class ChainBreak:
    """The first event of a stream whose hash chain does not hold."""

    stream_id: UUID
    version: int
    position: int
    what: str

    @classmethod
    def of(cls, found: Break) -> ChainBreak:
        return cls(
            stream_id=found.stream_id,
            version=found.version,
            position=found.position,
            what=found.what,
        )


@strawberry.type
class CheckpointInfo:
    """A signed Merkle root over the log's first eventCount events."""

    id: int
    event_count: int
    head_position: int
    root: str = strawberry.field(description="The Merkle root, in hex.")
    key_id: str
    created_at: datetime

    @classmethod
    def of(cls, checkpoint: Checkpoint) -> CheckpointInfo:
        return cls(
            id=checkpoint.id,
            event_count=checkpoint.event_count,
            head_position=checkpoint.head_position,
            root=checkpoint.root.hex(),
            key_id=checkpoint.key_id,
            created_at=checkpoint.created_at,
        )


@strawberry.type
class FamilyVerification:
    """Whether a family's stream is intact and included in the latest signed checkpoint."""

    family_id: UUID
    ok: bool
    events: int
    proven: int = strawberry.field(description="Events proven included in the checkpoint.")
    unproven: int = strawberry.field(
        description="Events newer than the checkpoint: their chain holds or breaks, their "
        "inclusion cannot be proven until the next checkpoint."
    )
    checkpoint: CheckpointInfo | None
    signer_checked: bool = strawberry.field(
        description="Whether the checkpoint's key was checked against the configured keys; "
        "otherwise against the key stored with it, which shows integrity, not signer."
    )
    first_break: ChainBreak | None
    checkpoint_failure: str | None
    seconds: float


def _trusted_keys() -> frozenset[bytes] | None:
    try:
        return KeySettings.from_env().trusted_keys()
    except KeyFileError:
        log.exception("verification keys cannot be read")
        raise PublicError(
            "the configured verification keys cannot be read; see the server log", "KEYS"
        ) from None


@strawberry.type
class AuditTrailQueries:
    """Replays and checks of the log, for auditors."""

    @strawberry.field(
        permission_classes=[AUDITORS],
        description="The case replayed from its stream; null when nothing of it was recorded "
        "by then. Without either argument: the case now.",
    )
    async def family_as_of(
        self, info: Info, id: UUID, recorded_at: RecordedAt = None, occurred_at: OccurredAt = None
    ) -> CaseAsOf | None:
        point = Point(aware(recorded_at, "recordedAt"), occurred_at)
        state = await time_travel(info).case_at(id, point)
        if state is None:
            return None
        reads(info, [id])
        return CaseAsOf.from_state(state, scope_of(info))

    @strawberry.field(
        permission_classes=[AUDITORS],
        description="What changed between two points of a case, replayed from its stream.",
    )
    async def family_diff(
        self,
        info: Info,
        id: UUID,
        from_: Annotated[CasePoint, strawberry.argument(name="from")],
        to: CasePoint,
    ) -> CaseDiff | None:
        found = await time_travel(info).diff(id, from_.point(), to.point())
        if found is None:
            return None
        reads(info, [id])
        return CaseDiff.of(id, found, scope_of(info))

    @strawberry.field(
        permission_classes=[AUDITORS],
        description="Check the family's hash chain and its inclusion in the latest signed "
        "checkpoint; null for an unknown family.",
    )
    async def verify_family(self, info: Info, id: UUID) -> FamilyVerification | None:
        container = info.context.container
        pool = container.database.pool
        trusted = _trusted_keys()
        report = await verify_family(pool, id, trusted, container.signed_trees)
        if report.events == 0 and report.failed is None:
            return None
        checkpoint = report.failed.checkpoint if report.failed else report.against
        return FamilyVerification(
            family_id=id,
            ok=report.ok,
            events=report.events,
            proven=report.proven,
            unproven=report.unproven,
            checkpoint=CheckpointInfo.of(checkpoint) if checkpoint else None,
            signer_checked=trusted is not None,
            first_break=ChainBreak.of(report.broken) if report.broken else None,
            checkpoint_failure=report.failed.what if report.failed else None,
            seconds=report.seconds,
        )

    @strawberry.field(
        permission_classes=[AUDITORS],
        description="The family's evidence bundle, as `reunite export` writes it: its events "
        "and reads with their proofs against a signed checkpoint (one is taken when none "
        "covers the family and the server has a signing key). Check it offline with "
        "`reunite verify-bundle FILE --public-key KEY`. Null for an unknown family; "
        "NOT_EXPORTABLE when its chain is broken or no checkpoint covers it.",
    )
    async def family_bundle(self, info: Info, id: UUID) -> JSON | None:
        pool = info.context.container.database.pool
        keys = KeySettings.from_env()
        taker = None
        if keys.signing_key_file is not None:
            try:
                taker = CheckpointTaker(pool, keys.signer(), trusted=keys.trusted_keys())
            except KeyFileError:
                log.exception("the signing key cannot be read")
        try:
            bundle = await export_bundle(pool, id, taker)
        except UnknownFamily:
            return None
        except ExportError as e:
            raise PublicError(str(e), "NOT_EXPORTABLE") from None
        reads(info, [id])
        return cast(JSON, bundle_to_json(bundle))
