"""What a read model is to the runner: a name, its tables, and a batch fold."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, NamedTuple, Protocol

from domain.corrections import Amendments
from service.eventstore.records import Connection, RecordedEvent

Decode = Callable[[RecordedEvent], Any]
# Loads what decoding rows needs (their people's data keys): EventStore.prepare.
Prepare = Callable[[Sequence[RecordedEvent], Connection], Awaitable[Any]]


class Envelope(NamedTuple):
    """A decoded domain event with the row it was stored as (a named tuple: a replay makes
    one per event)."""

    recorded: RecordedEvent
    event: Any

    @property
    def kind(self) -> str:
        """The event's class name, e.g. 'Separated'."""
        return type(self.event).__name__


_tuple = tuple.__new__


def decoded(recorded: Iterable[RecordedEvent], decode: Decode) -> list[Envelope]:
    """Each stored event with its domain event, in order."""
    # tuple.__new__ rather than Envelope(...), whose __new__ is a Python function: a replay
    # or a batch makes one envelope per event.
    return [_tuple(Envelope, (r, decode(r))) for r in recorded]


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
    amendments = Amendments()
    # A corrected event takes effect where its latest correction stands in the log, so what
    # it changes (a child's status, say) is dated, and delivered, at that place. (What a
    # retraction names is never read here: it does not count.)
    corrected_at: dict[int, RecordedEvent] = {}
    for envelope in history:
        event = envelope.event
        if event.amends:
            amendments.record(event)
            corrected_at[event.version] = envelope.recorded
    touched = amendments.touched()
    if not touched:
        return list(history)
    counted = []
    for envelope in history:
        if envelope.recorded.version not in touched:  # most events count as they stand
            counted.append(envelope)
        elif (event := amendments.counted(envelope.event)) is not None:
            version = event.originator_version
            counted.append(Envelope(corrected_at.get(version, envelope.recorded), event))
    return counted
