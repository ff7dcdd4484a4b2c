"""Every read model the runner feeds, wired once for the server and for tools alike."""

from __future__ import annotations

from projections.cases import CasesProjection
from projections.folded import DEFAULT_BYTES, FoldedFamilies
from projections.projection import Projection, effective_envelopes
from projections.timeline import TimelineProjection
from service.eventstore.store import EventStore


def all_projections(store: EventStore, folds_kept: int = DEFAULT_BYTES) -> list[Projection]:
    """Every read model the runner feeds (side by side); `folds_kept` bounds, in estimated
    bytes, the case folds the cases projection keeps between batches."""
    return [
        TimelineProjection(store.decode, store.prepare),
        CasesProjection(
            store.decode, effective_envelopes, FoldedFamilies(folds_kept), store.prepare
        ),
    ]
