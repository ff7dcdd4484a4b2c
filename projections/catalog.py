"""Every read model the runner feeds, wired once for the server and for tools alike."""

from __future__ import annotations

from projections.cases import CasesProjection
from projections.projection import Projection, effective_envelopes
from projections.timeline import TimelineProjection
from service.eventstore.store import EventStore


def all_projections(store: EventStore) -> list[Projection]:
    """Every read model the runner feeds (side by side)."""
    return [
        TimelineProjection(),
        CasesProjection(store.decode, effective_envelopes),
    ]
