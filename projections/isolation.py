"""Apply a batch to one read model, setting aside each family it cannot decode or apply."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from projections.parking import Parked, reason
from projections.projection import Decode, Envelope, Projection, decoded
from service.eventstore.records import Connection, RecordedEvent

# SQLSTATE classes of failures about the database, not an event: connection (08),
# transaction rollback (40), resources (53), operator intervention (57), system (58), and
# lock not available (55P03). A batch failing so is retried whole later, never parked.
OUTAGE_CLASSES = frozenset({"08", "40", "53", "57", "58"})


def is_outage(error: BaseException) -> bool:
    """Whether a failure says the database is unavailable, rather than an event is bad."""
    if isinstance(error, OSError | TimeoutError | asyncpg.InterfaceError):
        return True
    state = getattr(error, "sqlstate", None)
    return isinstance(state, str) and (state[:2] in OUTAGE_CLASSES or state == "55P03")


async def apply_isolating(
    conn: Connection,
    projection: Projection,
    decode: Decode,
    recorded: Sequence[RecordedEvent],
    parked: set[UUID],
) -> list[Parked]:
    """Fold what can be folded, in log order; return, in log order, what is parked: each
    event that cannot be decoded or applied, and every later event of its family (and of
    the families in `parked`, which wait behind an earlier batch's event)."""
    held: list[Parked] = []
    try:  # the common case, at a replay's speed: every event decodes, none waits
        batch = [] if parked else decoded(recorded, decode)
    except Exception:
        batch = []
    if not batch:
        batch = _decoded_each(projection.name, decode, recorded, parked, held)
    if batch and await _failure(conn, projection, batch) is not None:
        families: dict[UUID, list[Envelope]] = {}
        for envelope in batch:
            families.setdefault(envelope.recorded.stream_id, []).append(envelope)
        held += await _isolate(conn, projection, list(families.values()))
        held.sort(key=lambda p: (p.transaction_id, p.position))
    return held


def _decoded_each(
    projection: str,
    decode: Decode,
    recorded: Sequence[RecordedEvent],
    parked: set[UUID],
    held: list[Parked],
) -> list[Envelope]:
    """Decode event by event: one that cannot be read is held, and its family after it."""
    batch: list[Envelope] = []
    for r in recorded:
        if r.stream_id in parked:
            held.append(Parked.of(projection, r, None))
            continue
        try:
            event = decode(r)
        except Exception as e:  # whatever it is, this event cannot be read by this code
            held.append(Parked.of(projection, r, reason(e)))
            parked.add(r.stream_id)
            continue
        batch.append(Envelope(r, event))
    return batch


async def _failure(
    conn: Connection, projection: Projection, batch: Sequence[Envelope]
) -> Exception | None:
    """Apply in a savepoint: None when applied, else the failure (and nothing applied)."""
    try:
        async with conn.transaction():
            await projection.apply(conn, batch)
    except Exception as e:
        if is_outage(e):
            raise
        return e
    return None


async def _isolate(
    conn: Connection, projection: Projection, families: list[list[Envelope]]
) -> list[Parked]:
    """The families whose batch failed, halved until the failing ones stand alone: a
    bad family costs a few applies, not one per family."""
    if len(families) == 1:
        return await _event_by_event(conn, projection, families[0])
    middle = len(families) // 2
    held: list[Parked] = []
    for half in (families[:middle], families[middle:]):
        if await _failure(conn, projection, [e for f in half for e in f]) is not None:
            held += await _isolate(conn, projection, half)
    return held


async def _event_by_event(
    conn: Connection, projection: Projection, family: list[Envelope]
) -> list[Parked]:
    """Apply one family's events one at a time, up to the first that fails: it is parked
    with its error, and the family's events after it wait behind it."""
    for i, envelope in enumerate(family):
        error = await _failure(conn, projection, [envelope])
        if error is not None:
            first = Parked.of(projection.name, envelope.recorded, reason(error))
            rest = [Parked.of(projection.name, e.recorded, None) for e in family[i + 1 :]]
            return [first, *rest]
    return []
