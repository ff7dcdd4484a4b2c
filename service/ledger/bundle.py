"""A family's evidence bundle: its events and reads, a signed checkpoint and the proofs
linking them.

Verifying a bundle is pure: no database, only the bundle and a public key the auditor trusts.
It shows that each event is exactly as recorded (its hash recomputed with service.eventstore.chain),
that the events chain from the first version on, that each hash is a leaf of the checkpoint's
Merkle tree, and that the checkpoint was signed by that key. Likewise for each read of the
family (who read it, when, through which operation): its hash recomputed with
service.ledger.reads and included in the access log's tree the checkpoint signs (message
format 3 on). It cannot show that no later event, or no other read, of the family exists:
an exporter can leave events and reads out, never alter or add them.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from service.eventstore.chain import event_leaf, verify_stream
from service.eventstore.records import RecordedEvent
from service.ledger.checkpoints import Checkpoint
from service.ledger.keys import key_id
from service.ledger.merkle import verify_inclusion
from service.ledger.reads import ReadRecord, record_hash

FORMAT = "reunite-bundle-v2"
# Bundles written before reads were chained hold none, and read as such.
FORMATS = frozenset({"reunite-bundle-v1", FORMAT})
KEPT_FORMAT = "reunite-checkpoints-v1"
HOW_TO_VERIFY = (
    "reunite verify-bundle FILE --public-key KEY.pem. By hand: each hash is sha256 over the "
    "fields as in service/eventstore/chain.py, in the event's hash_format; leaves and proofs "
    "follow RFC "
    "6962 (leaf 0x00, node 0x01), and a leaf holds the hash, for hash_format 2 followed by "
    "i64be(position) || i64be(transaction_id) || i64be(recorded_at in microseconds); "
    "with message_format 2 the Ed25519 signature covers b'reunite-checkpoint-v2' || u64be(id) "
    "|| u64be(event_count) || u64be(head_position) || u64be(head_transaction_id) || "
    "i64be(created_at in microseconds since the Unix epoch) || root; with message_format 1 "
    "(or none), b'reunite-checkpoint-v1' || u64be(event_count) || u64be(head_position) || "
    "u64be(head_transaction_id) || root. With message_format 3 it covers the format 2 fields "
    "with b'reunite-checkpoint-v3' in front, then u64be(read_count) || u64be(read_head_id) || "
    "read_root; read_root is the RFC 6962 root over the hashes of the access log's first "
    "read_count reads in id order, a leaf being the read's hash alone, and a read's hash is "
    "sha256(lp(prev_hash) || i64be(id) || i64be(read_at in microseconds) || lp(subject) || "
    "lp(role) || lp(operation) || i32be(number of families) || each family's 16 bytes), lp "
    "being i32be(length, -1 for none) || bytes and text UTF-8 (service/ledger/reads.py)."
)
# The widest numbers the hashes hold: a version is a 32-bit integer, the rest 64-bit.
MAX_INT4 = 2**31 - 1
MAX_INT8 = 2**63 - 1
T = TypeVar("T")


class BundleRejected(Exception):
    """The bundle does not prove what it claims; the message names the first thing that fails."""


@dataclass(frozen=True)
class ProvenEvent:
    """One event of the family with its place among the checkpoint's leaves and its proof."""

    event: RecordedEvent
    leaf_index: int
    proof: tuple[bytes, ...]


@dataclass(frozen=True)
class ProvenRead:
    """One read of the family with its place among the checkpoint's access-log leaves."""

    record: ReadRecord
    leaf_index: int
    proof: tuple[bytes, ...]


@dataclass(frozen=True)
class Bundle:
    """What `reunite export` writes and `reunite verify-bundle` checks."""

    family_id: UUID
    events: tuple[ProvenEvent, ...]
    checkpoint: Checkpoint
    reads: tuple[ProvenRead, ...] = ()


def verify_bundle(bundle: Bundle, public_key: bytes) -> str:
    """A one-line account of what the bundle proves, or BundleRejected naming what fails."""
    checkpoint = bundle.checkpoint
    if checkpoint.public_key != public_key:
        raise BundleRejected(
            f"{checkpoint} is signed by key {key_id(checkpoint.public_key)}, "
            f"not by the given public key {key_id(public_key)}"
        )
    if (fault := checkpoint.seal_fault(frozenset({public_key}))) is not None:
        raise BundleRejected(f"{checkpoint}: {fault}")
    if not bundle.events:
        raise BundleRejected("the bundle holds no events")
    _check_chain(bundle)
    for proven in bundle.events:
        if not verify_inclusion(
            event_leaf(proven.event),
            proven.leaf_index,
            checkpoint.event_count,
            proven.proof,
            checkpoint.root,
        ):
            raise BundleRejected(
                f"{_name(proven.event)}: its inclusion proof does not lead to the root "
                f"of {checkpoint}"
            )
    _check_reads(bundle)
    summary = (
        f"family {bundle.family_id}: {len(bundle.events)} events, chained and included in "
        f"{checkpoint}, signed by key {checkpoint.key_id}"
    )
    if checkpoint.read_count is None:
        return summary
    return (
        f"{summary}; {len(bundle.reads)} reads of the family, included in its access log "
        f"(reads 1..{checkpoint.read_count})"
    )


def _check_reads(bundle: Bundle) -> None:
    checkpoint = bundle.checkpoint
    if not bundle.reads:
        return
    size, root = checkpoint.read_count, checkpoint.read_root
    if size is None or root is None or checkpoint.read_head_id is None:
        raise BundleRejected(
            f"the bundle holds reads, but {checkpoint} (message format "
            f"{checkpoint.message_format}) does not sign the access log"
        )
    previous: ProvenRead | None = None
    for proven in bundle.reads:
        read = proven.record
        if bundle.family_id not in read.family_ids:
            raise BundleRejected(f"{read} is not a read of the family")
        if previous is not None and not (
            read.id > previous.record.id and proven.leaf_index > previous.leaf_index
        ):
            raise BundleRejected(f"{read} is out of order: reads are listed once each, by id")
        if record_hash(read) != read.hash:
            raise BundleRejected(f"{read}: its hash does not match its contents")
        if read.id > checkpoint.read_head_id:
            raise BundleRejected(f"{read} is after the last read {checkpoint} covers")
        if not verify_inclusion(read.hash, proven.leaf_index, size, proven.proof, root):
            raise BundleRejected(
                f"{read}: its inclusion proof does not lead to the access-log root of {checkpoint}"
            )
        previous = proven


def _check_chain(bundle: Bundle) -> None:
    events = [proven.event for proven in bundle.events]
    if events[0].stream_id != bundle.family_id:
        raise BundleRejected(f"{_name(events[0])} belongs to {events[0].stream_id}, not the family")
    broken = verify_stream(events)
    if broken is not None:
        raise BundleRejected(
            f"event version {broken.version} (position {broken.position}): {broken.what}"
        )


def _name(event: RecordedEvent) -> str:
    return f"event version {event.version} (position {event.position})"


def _hex(value: bytes | None) -> str | None:
    return None if value is None else value.hex()


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def bundle_to_json(bundle: Bundle) -> dict[str, object]:
    """The bundle as JSON-ready data: bytes as hex, payloads as base64, times as ISO 8601."""
    return {
        "format": FORMAT,
        "how_to_verify": HOW_TO_VERIFY,
        "family_id": str(bundle.family_id),
        "checkpoint": checkpoint_to_json(bundle.checkpoint),
        "events": [_event_to_json(p) for p in bundle.events],
        "reads": [_read_to_json(p) for p in bundle.reads],
    }


def checkpoint_to_json(c: Checkpoint) -> dict[str, object]:
    """One signed checkpoint as JSON-ready data, as bundles and kept copies hold it."""
    return {
        "id": c.id,
        "event_count": c.event_count,
        "head_position": c.head_position,
        "head_transaction_id": c.head_transaction_id,
        "root": c.root.hex(),
        "algorithm": c.algorithm,
        "signature": c.signature.hex(),
        "public_key": c.public_key.hex(),
        "key_id": c.key_id,
        "created_at": c.created_at.isoformat(),
        "message_format": c.message_format,
        "read_count": c.read_count,
        "read_head_id": c.read_head_id,
        "read_root": _hex(c.read_root),
    }


def kept_to_json(checkpoints: Sequence[Checkpoint]) -> dict[str, object]:
    """Checkpoints to keep outside the database, so deleting rows there shows."""
    return {"format": KEPT_FORMAT, "checkpoints": [checkpoint_to_json(c) for c in checkpoints]}


def kept_from_json(data: object) -> list[Checkpoint]:
    """Read what kept_to_json wrote, or BundleRejected naming the malformed field."""
    top = _Fields(data, "checkpoints file")
    if top.value.get("format") != KEPT_FORMAT:
        raise BundleRejected(f"not a {KEPT_FORMAT} file")
    rows = top.get("checkpoints", list)
    return [_checkpoint_from_json(_Fields(c, f"checkpoints[{i}]")) for i, c in enumerate(rows)]


def _event_to_json(proven: ProvenEvent) -> dict[str, object]:
    e, p = proven.event, proven.event.provenance
    return {
        "position": e.position,
        "transaction_id": e.transaction_id,
        "stream_id": str(e.stream_id),
        "version": e.version,
        "topic": e.topic,
        "payload": base64.b64encode(e.payload).decode("ascii"),
        "occurred_at": _iso(e.occurred_at),
        "recorded_at": e.recorded_at.isoformat(),
        "actor": p.actor,
        "role": p.role,
        "source": p.source,
        "reason": p.reason,
        "correlation_id": _opt(p.correlation_id),
        "causation_id": _opt(p.causation_id),
        "idempotency_key": e.idempotency_key,
        "prev_hash": _hex(e.prev_hash),
        "hash": e.hash.hex(),
        "hash_format": e.hash_format,
        "leaf_index": proven.leaf_index,
        "proof": [step.hex() for step in proven.proof],
    }


def _read_to_json(proven: ProvenRead) -> dict[str, object]:
    r = proven.record
    return {
        "id": r.id,
        "read_at": r.read_at.isoformat(),
        "subject": r.subject,
        "role": r.role,
        "operation": r.operation,
        "family_ids": [str(family) for family in r.family_ids],
        "prev_hash": _hex(r.prev_hash),
        "hash": r.hash.hex(),
        "leaf_index": proven.leaf_index,
        "proof": [step.hex() for step in proven.proof],
    }


class _Fields:
    """Typed reads of one JSON object's fields; anything malformed is named and rejected."""

    def __init__(self, value: object, where: str) -> None:
        if not isinstance(value, dict):
            raise BundleRejected(f"malformed bundle: {where} is not an object")
        self.value: dict[str, object] = value
        self.where = where

    def get(self, key: str, kind: type[T]) -> T:
        """The field, which must be of kind (booleans are not integers here)."""
        value = self.value.get(key)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise BundleRejected(
                f"malformed bundle: {self.where}.{key} is missing or not of type {kind.__name__}"
            )
        return value

    def number(self, key: str, low: int, high: int) -> int:
        """An integer field within low..high, so that it can be hashed and signed as stored."""
        value = self.get(key, int)
        if not low <= value <= high:
            raise BundleRejected(
                f"malformed bundle: {self.where}.{key} is {value}, outside {low}..{high}"
            )
        return value

    def parse(self, key: str, convert: Callable[[str], T]) -> T:
        """A string field converted; a value convert refuses is named."""
        try:
            return convert(self.get(key, str))
        except (ValueError, binascii.Error):
            raise BundleRejected(f"malformed bundle: {self.where}.{key} cannot be read") from None

    def optional(self, key: str, convert: Callable[[str], T]) -> T | None:
        """A field that may be null."""
        return None if self.value.get(key) is None else self.parse(key, convert)

    def optional_number(self, key: str, low: int, high: int) -> int | None:
        """An integer field within low..high that may be null or absent."""
        return None if self.value.get(key) is None else self.number(key, low, high)

    def families(self) -> tuple[UUID, ...]:
        """A read's families: family_ids (a list), or family_id (bundles before 0011)."""
        if "family_ids" not in self.value:
            return (self.parse("family_id", UUID),)
        listed = self.get("family_ids", list)
        try:
            if all(isinstance(family, str) for family in listed):
                return tuple(UUID(str(family)) for family in listed)
        except ValueError:
            pass
        raise BundleRejected(f"malformed bundle: {self.where}.family_ids cannot be read")

    def proof(self) -> tuple[bytes, ...]:
        """The proof field: hex strings, one per step."""
        steps = self.get("proof", list)
        if not all(isinstance(step, str) for step in steps):
            raise BundleRejected(f"malformed bundle: {self.where}.proof holds a non-string")
        try:
            return tuple(bytes.fromhex(str(step)) for step in steps)
        except ValueError:
            raise BundleRejected(f"malformed bundle: {self.where}.proof cannot be read") from None


def _b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _utf8(text: str) -> str:
    # JSON may carry a lone surrogate, which no stored read holds and UTF-8 cannot encode.
    text.encode("utf-8")
    return text


def _moment(text: str) -> datetime:
    # The hash counts microseconds since the epoch: a time without an offset names no instant.
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{text} has no UTC offset")
    return moment


def bundle_from_json(data: object) -> Bundle:
    """Read what bundle_to_json wrote, or BundleRejected naming the malformed field."""
    top = _Fields(data, "bundle")
    if top.value.get("format") not in FORMATS:
        raise BundleRejected(f"not a {FORMAT} bundle")
    events = top.get("events", list)
    reads = top.get("reads", list) if "reads" in top.value else []
    return Bundle(
        top.parse("family_id", UUID),
        tuple(_event_from_json(_Fields(e, f"events[{i}]")) for i, e in enumerate(events)),
        _checkpoint_from_json(_Fields(top.value.get("checkpoint"), "checkpoint")),
        tuple(_read_from_json(_Fields(r, f"reads[{i}]")) for i, r in enumerate(reads)),
    )


def _checkpoint_from_json(f: _Fields) -> Checkpoint:
    return Checkpoint(
        id=f.number("id", 1, MAX_INT8),
        event_count=f.number("event_count", 1, MAX_INT8),
        head_position=f.number("head_position", 1, MAX_INT8),
        head_transaction_id=f.number("head_transaction_id", 0, MAX_INT8),
        root=f.parse("root", bytes.fromhex),
        algorithm=f.get("algorithm", str),
        signature=f.parse("signature", bytes.fromhex),
        public_key=f.parse("public_key", bytes.fromhex),
        key_id=f.get("key_id", str),
        created_at=f.parse("created_at", _moment),
        # Bundles written before format 2 have no such field: they were signed in format 1.
        message_format=f.get("message_format", int) if "message_format" in f.value else 1,
        # Null or absent before format 3.
        read_count=f.optional_number("read_count", 0, MAX_INT8),
        read_head_id=f.optional_number("read_head_id", 0, MAX_INT8),
        read_root=f.optional("read_root", bytes.fromhex),
    )


def _event_from_json(f: _Fields) -> ProvenEvent:
    event = RecordedEvent(
        position=f.number("position", 1, MAX_INT8),
        transaction_id=f.number("transaction_id", 0, MAX_INT8),
        stream_id=f.parse("stream_id", UUID),
        version=f.number("version", 1, MAX_INT4),
        topic=f.get("topic", str),
        payload=f.parse("payload", _b64),
        occurred_at=f.optional("occurred_at", _moment),
        recorded_at=f.parse("recorded_at", _moment),
        actor=f.get("actor", str),
        role=f.get("role", str),
        source=f.get("source", str),
        reason=f.optional("reason", str),
        correlation_id=f.optional("correlation_id", UUID),
        causation_id=f.optional("causation_id", UUID),
        idempotency_key=f.optional("idempotency_key", str),
        prev_hash=f.optional("prev_hash", bytes.fromhex),
        hash=f.parse("hash", bytes.fromhex),
        # Bundles written before hash format 2 have no such field: their events are format 1.
        hash_format=f.number("hash_format", 1, 2) if "hash_format" in f.value else 1,
    )
    return ProvenEvent(event, f.number("leaf_index", 0, MAX_INT8), f.proof())


def _read_from_json(f: _Fields) -> ProvenRead:
    return ProvenRead(read_record_from_json(f), f.number("leaf_index", 0, MAX_INT8), f.proof())


def read_record_from_json(f: _Fields) -> ReadRecord:
    """A read as a bundle or an archive holds it."""
    return ReadRecord(
        id=f.number("id", 1, MAX_INT8),
        read_at=f.parse("read_at", _moment),
        subject=f.parse("subject", _utf8),
        role=f.parse("role", _utf8),
        operation=f.parse("operation", _utf8),
        family_ids=f.families(),
        prev_hash=f.optional("prev_hash", bytes.fromhex),
        hash=f.parse("hash", bytes.fromhex),
    )
