"""A family's evidence bundle: its events, a signed checkpoint and the proofs linking them.

Verifying a bundle is pure: no database, only the bundle and a public key the auditor trusts.
It shows that each event is exactly as recorded (its hash recomputed with service.eventstore.chain),
that the events chain from the first version on, that each hash is a leaf of the checkpoint's
Merkle tree, and that the checkpoint was signed by that key. It cannot show that no later
event of the family exists: an exporter can leave events out, never alter or add them.
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

FORMAT = "reunite-bundle-v1"
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
    "u64be(head_transaction_id) || root."
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
class Bundle:
    """What `reunite export` writes and `reunite verify-bundle` checks."""

    family_id: UUID
    events: tuple[ProvenEvent, ...]
    checkpoint: Checkpoint


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
    return (
        f"family {bundle.family_id}: {len(bundle.events)} events, chained and included in "
        f"{checkpoint}, signed by key {checkpoint.key_id}"
    )


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


def _b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _moment(text: str) -> datetime:
    # The hash counts microseconds since the epoch: a time without an offset names no instant.
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{text} has no UTC offset")
    return moment


def bundle_from_json(data: object) -> Bundle:
    """Read what bundle_to_json wrote, or BundleRejected naming the malformed field."""
    top = _Fields(data, "bundle")
    if top.value.get("format") != FORMAT:
        raise BundleRejected(f"not a {FORMAT} bundle")
    events = top.get("events", list)
    return Bundle(
        top.parse("family_id", UUID),
        tuple(_event_from_json(_Fields(e, f"events[{i}]")) for i, e in enumerate(events)),
        _checkpoint_from_json(_Fields(top.value.get("checkpoint"), "checkpoint")),
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
    proof = f.get("proof", list)
    if not all(isinstance(step, str) for step in proof):
        raise BundleRejected(f"malformed bundle: {f.where}.proof holds a non-string")
    try:
        steps = tuple(bytes.fromhex(str(step)) for step in proof)
    except ValueError:
        raise BundleRejected(f"malformed bundle: {f.where}.proof cannot be read") from None
    return ProvenEvent(event, f.number("leaf_index", 0, MAX_INT8), steps)
