"""What a projection's NOTIFY after a batch says: which read model, how far, which families.

Subscribers of one family wake only for batches that touched it: with every subscriber
woken by every batch, a busy log made each of them read again many times a second for
nothing, and those reads crowded out the batches they were waiting for.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from uuid import UUID

PROJECTED_CHANNEL = "reunite_projected"  # service.application.notifications listens to it
# Beyond this many families a batch is announced as touching any: a NOTIFY payload is
# limited to 8,000 bytes, and 100 ids in hex take 3,300.
MAX_NAMED = 100


def announcement(projection: str, position: int, families: Collection[UUID] = ()) -> str:
    """The payload for a batch through `position`; no families named: it may touch any."""
    named = ",".join(f.hex for f in families) if 0 < len(families) <= MAX_NAMED else "*"
    return f"{projection}:{position}:{named}"


@dataclass(frozen=True)
class Announced:
    """A batch as announced; None where it may concern anything (a lost connection too)."""

    projection: str | None = None
    families: frozenset[UUID] | None = None

    def concerns(self, projection: str | None, family: UUID | None) -> bool:
        """Whether a subscriber to this projection's batches (any, when None) for this
        family (any, when None) must look again."""
        if projection is not None and self.projection not in (None, projection):
            return False
        return family is None or self.families is None or family in self.families


def heard(payload: str | None) -> Announced:
    """The announcement a NOTIFY payload carries; anything unreadable concerns everyone."""
    if payload is None:
        return Announced()
    projection, _, rest = payload.partition(":")
    _, _, named = rest.partition(":")
    if not named or named == "*":
        return Announced(projection or None)
    try:
        return Announced(projection, frozenset(UUID(hex=f) for f in named.split(",")))
    except ValueError:
        return Announced()
