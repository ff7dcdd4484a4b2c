"""Apply parked events again, after a fix: a version that can read them, or a correction."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from projections import parking
from projections.announced import PROJECTED_CHANNEL, announcement
from projections.isolation import apply_isolating
from projections.runner import NOTIFY_PROJECTED, ProjectionRunner, lock_checkpoint

COUNT_APPLIED = """
UPDATE projection_checkpoints SET events_applied = events_applied + $2 WHERE name = $1
RETURNING position
"""


@dataclass(frozen=True)
class Retried:
    """One parked family retried for one read model: what applied, what still waits, why."""

    projection: str
    family_id: UUID
    applied: int
    still_parked: int
    error: str | None


async def retry(runner: ProjectionRunner, family: UUID | None = None) -> list[Retried]:
    """Apply each parked family's events (or one family's) again, in log order, for each
    read model of this code that parked them; unpark what applies."""
    async with runner.pool.acquire() as conn:
        parked = await parking.streams_to_retry(conn, family)
    return [await _retry(runner, n, f) for n, f in parked if n in runner.projections]


async def _retry(runner: ProjectionRunner, name: str, family: UUID) -> Retried:
    projection = runner.projections[name]
    async with runner.pool.acquire() as conn, conn.transaction():
        # A live runner waits meanwhile, as it does for another worker's batch.
        await lock_checkpoint(conn, name)
        recorded = await parking.parked_events(conn, name, family)
        # The whole family at once first: a correction later in it may mend an earlier event.
        held = await apply_isolating(conn, projection, runner.store.decode, recorded, set())
        kept = {p.version for p in held}
        applied = [r.version for r in recorded if r.version not in kept]
        await parking.unpark(conn, name, family, applied, held)
        position = await conn.fetchval(COUNT_APPLIED, name, len(applied))
        if applied:  # every process's response cache forgets what it read of the family
            said = announcement(name, position, [family])
            await conn.execute(NOTIFY_PROJECTED, PROJECTED_CHANNEL, said)
    error = next((p.error for p in held if p.error is not None), None)
    return Retried(name, family, len(applied), len(held), error)
