"""The async event store on asyncpg: append with expected version, read streams and the log."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

import asyncpg
from opentelemetry import trace

from domain.personal import subjects
from service.eventstore.announcements import Announcements
from service.eventstore.chain import command_hashes
from service.eventstore.codec import FamilyMapper
from service.eventstore.keyring import Keyring
from service.eventstore.provenance import Provenance
from service.eventstore.records import (
    COLUMNS,
    AppendResult,
    Connection,
    LogPosition,
    NewEvent,
    RecordedEvent,
    recorded_event,
)

# A no-op unless a tracer provider is installed (service/entrypoints/tracing.py).
TRACER = trace.get_tracer(__name__)

# One statement per command. The unique (stream_id, version) key turns a stale writer into a
# conflict and the unique key on a command's first event a repeated command; the first new
# event must chain from the hash at the expected version, so an expected version past the
# stream's head, or a head that is not the one the writer read, inserts nothing.
# The append's parameters by name, in their $n order: the statement and its arguments are
# both built from this tuple, so neither is matched to the other by eye.
APPEND_PARAMETERS = (
    "stream_id",
    "expected_version",
    "topics",
    "payloads",
    "occurred",
    "actor",
    "role",
    "source",
    "reason",
    "correlation_id",
    "causation_id",
    "idempotency_key",
    "request_digest",
    "command_events",
    "prev_hashes",
    "hashes",
)
_P = {name: f"${n}" for n, name in enumerate(APPEND_PARAMETERS, start=1)}

# One statement per command. The unique (stream_id, version) key turns a stale writer into a
# conflict and the unique key on a command's first event a repeated command; the first new
# event must chain from the hash at the expected version, so an expected version past the
# stream's head, or a head that is not the one the writer read, inserts nothing.
_APPEND = """
WITH inserted AS (
    INSERT INTO events (stream_id, version, topic, payload, occurred_at, actor, role, source,
                        reason, correlation_id, causation_id, idempotency_key,
                        request_digest, command_events, prev_hash, hash)
    SELECT {stream_id}, {expected_version} + u.n::integer, u.topic, u.payload, u.occurred,
           {actor}, {role}, {source}, {reason}, {correlation_id}, {causation_id},
           {idempotency_key}, CASE WHEN u.n = 1 THEN {request_digest}::bytea END,
           CASE WHEN u.n = 1 THEN {command_events}::integer END, u.prev_hash, u.hash
      FROM unnest({topics}::text[], {payloads}::bytea[], {occurred}::timestamptz[],
                  {prev_hashes}::bytea[], {hashes}::bytea[])
           WITH ORDINALITY AS u(topic, payload, occurred, prev_hash, hash, n)
     WHERE CASE WHEN {expected_version} = 0 THEN ({prev_hashes}::bytea[])[1] IS NULL
                ELSE (SELECT e.hash FROM events e
                       WHERE e.stream_id = {stream_id} AND e.version = {expected_version})
                     = ({prev_hashes}::bytea[])[1] END
       {old_keys}
     ORDER BY u.n
    RETURNING position
)
SELECT min(position) AS first_position, max(position) AS last_position FROM inserted
"""
APPEND = _APPEND.format(old_keys="", **_P)
# Where commands were recorded before migration 0007, in the commands table, which no
# unique index covers and nothing writes any more: their keys are looked up too.
APPEND_CHECKING_OLD_KEYS = _APPEND.format(
    old_keys="AND NOT EXISTS (SELECT FROM commands c WHERE c.idempotency_key = "
    f"{_P['idempotency_key']})",
    **_P,
)
HAS_OLD_KEYS = "SELECT EXISTS (SELECT FROM commands)"

READ_STREAM = f"""
SELECT {COLUMNS} FROM events
 WHERE stream_id = $1 AND version <= $2
 ORDER BY version
"""

READ_STREAM_FROM = f"""
SELECT {COLUMNS} FROM events
 WHERE stream_id = $1 AND version >= $2
 ORDER BY version
"""

# ORDER BY names the table's columns: the output alias (cast to bigint) has no index.
# Only transactions older than the oldest one still running are read: every one of them
# has committed or rolled back, so nothing can later appear behind the reader's checkpoint.
READ_LOG = f"""
SELECT {COLUMNS} FROM events
 WHERE (transaction_id, position) > ($1::xid8, $2::bigint)
   AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
 ORDER BY events.transaction_id, events.position
 LIMIT $3
"""

FIND_COMMAND = """
SELECT request_digest, stream_id, version, first_position, last_position FROM command_results
 WHERE idempotency_key = $1
"""

# Batch importers ask once for a whole batch which keys are taken, and by what request.
FIND_COMMAND_DIGESTS = """
SELECT idempotency_key, request_digest FROM command_results
 WHERE idempotency_key = ANY($1::text[])
"""


HEAD = "SELECT coalesce(max(position), 0) FROM events"
# The last committed event in log order, which a reader must reach to be caught up.
COMMITTED_HEAD = """
SELECT transaction_id::text::bigint AS transaction_id, position FROM events
 ORDER BY events.transaction_id DESC, events.position DESC LIMIT 1
"""

# The hash a stream ends in at a version, which the next command's first event chains from.
HEAD_HASH = "SELECT hash FROM events WHERE stream_id = $1 AND version = $2"

CONFLICT_CONSTRAINTS = {"events_stream_version_key", "events_command_key"}


class StoreError(Exception):
    """Base of the event store's own errors."""


class VersionConflict(StoreError):
    """The stream moved on since the writer read it; nothing was written."""


class IdempotencyKeyReused(StoreError):
    """The idempotency key belongs to a different command; nothing was written."""


class ChainMismatch(StoreError):
    """The stream does not end in the hash the new events chain from: the stored log differs
    from the one the writer read (run `reunite verify`); nothing was written."""


class EventStore:
    """Appends and reads family streams in PostgreSQL."""

    def __init__(
        self, pool: asyncpg.Pool, mapper: FamilyMapper, keyring: Keyring | None = None
    ) -> None:
        self.pool = pool
        self.mapper = mapper
        # Personal data keys (service.eventstore.keyring): the mapper seals and opens with
        # them; readers `prepare` rows before decoding them. The mapper's own by default.
        if keyring is None and isinstance(mapper.keys, Keyring):
            keyring = mapper.keys
        self.keyring = keyring
        # Map a stored row back to its domain event, upcasting old versions: the mapper's
        # own method, so a replay makes one call per event, not two.
        self.decode: Callable[[RecordedEvent], Any] = mapper.decode_row
        self.announcements = Announcements(pool)
        self._old_keys: bool | None = None  # whether the commands table holds any key
        # Counted for the metrics (service/entrypoints/metrics.py): appends that wrote, the
        # events they wrote, and appends refused as stale (a version conflict).
        self.appends = 0
        self.appended = 0
        self.conflicts = 0

    def encode(self, domain_event: Any) -> NewEvent:
        """Map a domain event to the bytes the store keeps."""
        stored = self.mapper.to_stored_event(domain_event)
        return NewEvent(stored.topic, stored.state, domain_event.occurred_at)

    async def prepare(self, rows: Sequence[Any], conn: Connection | None = None) -> None:
        """Load the data keys (and erasures) decoding these rows needs (RecordedEvents, or
        records selected with COLUMNS)."""
        if self.keyring is not None:
            await self.keyring.prepare(conn or self.pool, rows)

    async def ensure_keys(
        self, domain_events: Sequence[Any], conn: Connection | None = None
    ) -> None:
        """Make the data keys of the people whose personal data these events hold."""
        if self.keyring is not None and self.mapper.seal:
            people = {person: e.originator_id for e in domain_events for person in subjects(e)}
            if people:
                await self.keyring.ensure(conn or self.pool, people)

    async def encode_all(
        self, domain_events: Sequence[Any], conn: Connection | None = None
    ) -> list[NewEvent]:
        """Map domain events to stored bytes, making the data keys their people need first."""
        await self.ensure_keys(domain_events, conn)
        return [self.encode(e) for e in domain_events]

    async def append(
        self,
        stream_id: UUID,
        expected_version: int,
        events: Sequence[NewEvent],
        provenance: Provenance,
        idempotency_key: str | None = None,
        digest: bytes = b"",
        conn: Connection | None = None,
        head: bytes | None = None,
    ) -> AppendResult:
        """Append events after expected_version, atomically, or raise and write nothing.

        `head` is the hash of the stream's event at expected_version, as the writer read
        it; when None and expected_version > 0 it is read here first. With `conn`, the
        append joins the caller's transaction, and the caller announces the new events
        (announcements) once it has committed. A `reunite.append` span when tracing is on:
        the stream, how many events and where they landed, never their content.
        """
        with TRACER.start_as_current_span("reunite.append") as span:
            if span.is_recording():
                span.set_attribute("reunite.stream_id", str(stream_id))
                span.set_attribute("reunite.expected_version", expected_version)
                span.set_attribute("reunite.events", len(events))
                if provenance.correlation_id is not None:
                    span.set_attribute("reunite.correlation_id", str(provenance.correlation_id))
            result = await self._append(
                stream_id, expected_version, events, provenance, idempotency_key, digest, conn, head
            )
            if span.is_recording():
                span.set_attribute("reunite.first_position", result.first_position)
                span.set_attribute("reunite.last_position", result.last_position)
                span.set_attribute("reunite.duplicate", result.duplicate)
            return result

    async def _append(
        self,
        stream_id: UUID,
        expected_version: int,
        events: Sequence[NewEvent],
        provenance: Provenance,
        idempotency_key: str | None,
        digest: bytes,
        conn: Connection | None,
        head: bytes | None,
    ) -> AppendResult:
        if not events:
            raise ValueError("nothing to append")
        if head is None and expected_version > 0:
            head = await (conn or self.pool).fetchval(HEAD_HASH, stream_id, expected_version)
        hashes = command_hashes(
            stream_id, expected_version, events, provenance, idempotency_key, head
        )
        keyed = idempotency_key is not None
        named = {
            "stream_id": stream_id,
            "expected_version": expected_version,
            "topics": [e.topic for e in events],
            "payloads": [e.payload for e in events],
            "occurred": [e.occurred_at for e in events],
            "actor": provenance.actor,
            "role": provenance.role,
            "source": provenance.source,
            "reason": provenance.reason,
            "correlation_id": provenance.correlation_id,
            "causation_id": provenance.causation_id,
            "idempotency_key": idempotency_key,
            "request_digest": digest if keyed else None,
            "command_events": len(events) if keyed else None,
            "prev_hashes": [head, *hashes[:-1]],
            "hashes": hashes,
        }
        args = [named[name] for name in APPEND_PARAMETERS]
        if self._old_keys is None:
            self._old_keys = bool(await (conn or self.pool).fetchval(HAS_OLD_KEYS))
        statement = APPEND_CHECKING_OLD_KEYS if self._old_keys else APPEND
        try:
            row = await (conn or self.pool).fetchrow(statement, *args)
        except asyncpg.UniqueViolationError as e:
            if e.constraint_name not in CONFLICT_CONSTRAINTS:
                raise
            # Perhaps a retry of a command accepted meanwhile: answer with its first result
            # (or refuse another command that reuses the key). Inside a caller's transaction
            # the error has aborted it: the caller asks (find_command) after rolling back.
            if idempotency_key is not None and conn is None:
                earlier = await self.find_command(idempotency_key, digest, stream_id)
                if earlier is not None:
                    return earlier
            if idempotency_key is not None and conn is not None:
                raise VersionConflict(
                    f"family {stream_id} has changed since version {expected_version}, or "
                    "its idempotency key was used: roll back, then ask "
                    "find_command"
                ) from None
            self.conflicts += 1
            raise VersionConflict(_conflict(stream_id, expected_version)) from None
        assert row is not None
        if row["first_position"] is None:  # nothing inserted: refused before any row
            if idempotency_key is not None:
                earlier = await self.find_command(idempotency_key, digest, stream_id, conn)
                if earlier is not None:
                    return earlier
            refusal = await self._refusal(stream_id, expected_version, conn)
            self.conflicts += isinstance(refusal, VersionConflict)
            raise refusal
        self.appends += 1
        self.appended += len(events)
        if conn is None:
            self.announcements.soon()
        version = expected_version + len(events)
        return AppendResult(
            stream_id, version, row["first_position"], row["last_position"], head=hashes[-1]
        )

    async def _refusal(
        self, stream_id: UUID, expected_version: int, conn: Connection | None
    ) -> StoreError:
        """Why an append inserted nothing: its expected version or its head."""
        stored = await (conn or self.pool).fetchrow(HEAD_HASH, stream_id, expected_version)
        if expected_version > 0 and stored is None:
            return VersionConflict(_conflict(stream_id, expected_version))
        return ChainMismatch(
            f"family {stream_id} does not end at version {expected_version} in the hash its "
            "new events chain from: the stored log differs from the one read (run reunite verify)"
        )

    async def read_stream(
        self, stream_id: UUID, up_to_version: int = 2**31 - 1
    ) -> list[RecordedEvent]:
        """Every event of one stream in version order, optionally up to a version."""
        rows = await self.pool.fetch(READ_STREAM, stream_id, up_to_version)
        await self.prepare(rows)
        return [recorded_event(r) for r in rows]

    async def read_stream_from(self, stream_id: UUID, version: int) -> list[RecordedEvent]:
        """One stream's events from a version on, that version's own event included."""
        rows = await self.pool.fetch(READ_STREAM_FROM, stream_id, version)
        await self.prepare(rows)
        return [recorded_event(r) for r in rows]

    async def read_log(
        self, after: LogPosition, limit: int = 1000, conn: Connection | None = None
    ) -> list[RecordedEvent]:
        """The next committed events of the global log after a reader's position."""
        rows = await (conn or self.pool).fetch(
            READ_LOG, after.transaction_id, after.position, limit
        )
        await self.prepare(rows, conn)
        return [recorded_event(r) for r in rows]

    async def find_command(
        self,
        idempotency_key: str,
        digest: bytes,
        stream_id: UUID | None = None,
        conn: Connection | None = None,
    ) -> AppendResult | None:
        """The result of an earlier command with this key; a different command (another
        request, or another stream when stream_id is given) is refused."""
        row = await (conn or self.pool).fetchrow(FIND_COMMAND, idempotency_key)
        if row is None:
            return None
        if row["request_digest"] != digest or stream_id not in (None, row["stream_id"]):
            raise IdempotencyKeyReused(
                "this idempotency key was already used for a different command"
            )
        return AppendResult(
            row["stream_id"], row["version"], row["first_position"], row["last_position"], True
        )

    async def command_digests(self, keys: Sequence[str]) -> dict[str, bytes]:
        """The request digest recorded under each of these keys that is already taken."""
        rows = await self.pool.fetch(FIND_COMMAND_DIGESTS, list(keys))
        return {row["idempotency_key"]: row["request_digest"] for row in rows}

    async def committed_head(self) -> LogPosition:
        """The last event committed so far, in the gap-safe order."""
        row = await self.pool.fetchrow(COMMITTED_HEAD)
        return LogPosition(row["transaction_id"], row["position"]) if row else LogPosition()

    async def head(self) -> int:
        """The highest global position written so far."""
        return int(await self.pool.fetchval(HEAD))


def _conflict(stream_id: UUID, expected: int) -> str:
    return f"family {stream_id} has changed since version {expected}; reload and retry"
