"""What a read model is to the runner: a name, its tables, and a batch fold."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

from domain.corrections import effective_history
from service.store import Connection, RecordedEvent


class Envelope(NamedTuple):
    """A decoded domain event with the row it was stored as (a named tuple: a replay makes
    one per event)."""

    recorded: RecordedEvent
    event: Any

    @property
    def kind(self) -> str:
        """The event's class name, e.g. 'Separated'."""
        return type(self.event).__name__


class Projection(Protocol):
    """A replayable fold from events in log order to rows in its own tables."""

    name: str
    tables: tuple[str, ...]
    ddl: str
    # Raise it when the fold changes what it writes: the read model is then replayed.
    version: int

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        """Fold a batch into the tables on search_path, inside the caller's transaction."""


def effective_envelopes(history: Sequence[Envelope]) -> list[Envelope]:
    """The events that still count, as corrected; the domain decides what that means."""
    by_version = {e.recorded.version: e for e in history}
    # A corrected event takes effect where its latest correction stands in the log, so what
    # it changes (a child's status, say) is dated, and delivered, at that place.
    corrected_at = {e.event.version: e.recorded for e in history if e.kind == "EntryCorrected"}
    counted = []
    for event in effective_history([e.event for e in history]):
        original = by_version[event.originator_version]
        if original.event is event:  # most events are not amended: keep their envelope
            counted.append(original)
        else:
            where = corrected_at.get(event.originator_version, original.recorded)
            counted.append(Envelope(where, event))
    return counted
