"""An evidence bundle verified offline: accepted as exported, rejected after any edit by hand."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from service.eventstore.chain import EPOCH, event_leaf
from service.eventstore.records import RecordedEvent
from service.ledger.bundle import (
    Bundle,
    BundleRejected,
    ProvenEvent,
    ProvenRead,
    bundle_from_json,
    bundle_to_json,
    verify_bundle,
)
from service.ledger.checkpoints import ALGORITHM, Checkpoint, checkpoint_message, legacy_message
from service.ledger.keys import Signer
from service.ledger.merkle import MerkleTree
from service.ledger.reads import ReadRecord, record_hash
from tests.scenarios.family import T0
from tests.scenarios.ledger import NEIGHBOURS, recorded

FAMILY = UUID("6f1c2a34-5b6d-4e7f-8a9b-0c1d2e3f4a5b")
SIGNER = Signer.from_private_key(Ed25519PrivateKey.generate())
MALLORY = Signer.from_private_key(Ed25519PrivateKey.generate())

Json = dict[str, Any]


def interleaved_log(rounds: int = 5) -> list[RecordedEvent]:
    """The family's events among two neighbours' in one global order."""
    log: list[RecordedEvent] = []
    heads: dict[UUID, tuple[int, bytes | None]] = {}
    for _ in range(rounds):
        for stream in (NEIGHBOURS[0], FAMILY, NEIGHBOURS[1]):
            version, prev = heads.get(stream, (0, None))
            event = recorded(stream, version + 1, len(log) + 1, prev)
            heads[stream] = (event.version, event.hash)
            log.append(event)
    return log


def signed(log: list[RecordedEvent], signer: Signer = SIGNER) -> Checkpoint:
    root = MerkleTree(event_leaf(e) for e in log).root()
    head, created_at = log[-1], T0 + timedelta(days=500)
    message = checkpoint_message(3, len(log), head.position, head.transaction_id, created_at, root)
    return Checkpoint(
        id=3,
        event_count=len(log),
        head_position=head.position,
        head_transaction_id=head.transaction_id,
        root=root,
        algorithm=ALGORITHM,
        signature=signer.sign(message),
        public_key=signer.public_key,
        key_id=signer.key_id,
        created_at=created_at,
        message_format=2,
    )


def signed_in_format_1(log: list[RecordedEvent]) -> Checkpoint:
    """A checkpoint as signed before format 2: over its event count, head and root only."""
    c = signed(log)
    message = legacy_message(c.event_count, c.head_position, c.head_transaction_id, c.root)
    return replace(c, signature=SIGNER.sign(message), message_format=1)


def exported(log: list[RecordedEvent] | None = None) -> Bundle:
    """What `reunite export` writes for FAMILY against a checkpoint over the whole log."""
    log = interleaved_log() if log is None else log
    tree = MerkleTree(event_leaf(e) for e in log)
    proven = [
        ProvenEvent(e, i, tuple(tree.proof(i))) for i, e in enumerate(log) if e.stream_id == FAMILY
    ]
    return Bundle(FAMILY, tuple(proven), signed(log))


def as_file() -> Json:
    """The bundle as written to disk and read back."""
    data: Json = json.loads(json.dumps(bundle_to_json(exported())))
    return data


def verdict(data: object, public_key: bytes = SIGNER.public_key) -> str:
    return verify_bundle(bundle_from_json(data), public_key)


def flip_hex(value: str) -> str:
    raw = bytearray(bytes.fromhex(value))
    raw[len(raw) // 2] ^= 0x01
    return raw.hex()


def flip_payload(data: Json) -> None:
    payload = bytearray(base64.b64decode(data["events"][2]["payload"]))
    payload[3] ^= 0x01
    data["events"][2]["payload"] = base64.b64encode(payload).decode()


def resign_with_mallory(data: Json) -> None:
    # An attacker who can edit the bundle can sign it too, but only with a key of their own.
    forged = signed(interleaved_log()[:9], MALLORY)
    data["checkpoint"].update(
        event_count=forged.event_count,
        head_position=forged.head_position,
        head_transaction_id=forged.head_transaction_id,
        root=forged.root.hex(),
        signature=forged.signature.hex(),
        public_key=forged.public_key.hex(),
        key_id=forged.key_id,
    )


def test_an_unedited_bundle_is_accepted() -> None:
    assert verdict(as_file()) == (
        f"family {FAMILY}: 5 events, chained and included in checkpoint 3 "
        f"(events 1..15, head position 15), signed by key {SIGNER.key_id}"
    )


def test_the_file_format_round_trips_every_field() -> None:
    bundle = exported()
    assert bundle_from_json(json.loads(json.dumps(bundle_to_json(bundle)))) == bundle


EDITS: dict[str, tuple[Callable[[Json], None], str]] = {
    "a payload byte": (flip_payload, "event version 3 (position 8): hash does not match"),
    "an event's hash": (
        lambda d: d["events"][1].update(hash=flip_hex(d["events"][1]["hash"])),
        "event version 2 (position 5): hash does not match the event's contents",
    ),
    "a prev_hash": (
        lambda d: d["events"][3].update(prev_hash=flip_hex(d["events"][3]["prev_hash"])),
        "event version 4 (position 11): prev_hash differs",
    ),
    "the actor": (
        lambda d: d["events"][0].update(actor="someone.else"),
        "event version 1 (position 2): hash does not match",
    ),
    "when it happened, by a microsecond": (
        lambda d: d["events"][0].update(occurred_at="2018-05-21T09:00:00.000001+00:00"),
        "event version 1 (position 2): hash does not match",
    ),
    # Format 2 seals where and when the log put an event in its Merkle leaf, not its hash.
    "when it was recorded, by a microsecond": (
        lambda d: d["events"][0].update(
            recorded_at=(
                datetime.fromisoformat(d["events"][0]["recorded_at"]) + timedelta(microseconds=1)
            ).isoformat()
        ),
        "event version 1 (position 2): its inclusion proof does not lead to the root",
    ),
    "its transaction id": (
        lambda d: d["events"][0].update(transaction_id=d["events"][0]["transaction_id"] + 1),
        "event version 1 (position 2): its inclusion proof does not lead to the root",
    ),
    "the hash format, to the one without position and time": (
        lambda d: d["events"][0].update(hash_format=1),
        "event version 1 (position 2): hash does not match",
    ),
    "a proof step": (
        lambda d: d["events"][4]["proof"].__setitem__(1, flip_hex(d["events"][4]["proof"][1])),
        "event version 5 (position 14): its inclusion proof does not lead to the root",
    ),
    "a leaf index": (
        lambda d: d["events"][4].update(leaf_index=12),
        "event version 5 (position 14): its inclusion proof does not lead to the root",
    ),
    "the signature": (
        lambda d: d["checkpoint"].update(signature=flip_hex(d["checkpoint"]["signature"])),
        "checkpoint 3 (events 1..15, head position 15): the signature does not match",
    ),
    "the root": (
        lambda d: d["checkpoint"].update(root=flip_hex(d["checkpoint"]["root"])),
        "checkpoint 3 (events 1..15, head position 15): the signature does not match",
    ),
    "the event count": (
        lambda d: d["checkpoint"].update(event_count=16),
        "checkpoint 3 (events 1..16, head position 15): the signature does not match",
    ),
    "the checkpoint's date": (
        lambda d: d["checkpoint"].update(created_at="2019-10-01T09:00:00+00:00"),
        "checkpoint 3 (events 1..15, head position 15): the signature does not match its id, "
        "date, event count, head and root",
    ),
    "the checkpoint's id": (
        lambda d: d["checkpoint"].update(id=2),
        "checkpoint 2 (events 1..15, head position 15): the signature does not match its id, ",
    ),
    "the message format, to the one without id and date": (
        lambda d: d["checkpoint"].update(message_format=1),
        "checkpoint 3 (events 1..15, head position 15): the signature does not match its "
        "event count, head and root",
    ),
    "the message format, to one that does not exist": (
        lambda d: d["checkpoint"].update(message_format=9),
        "checkpoint 3 (events 1..15, head position 15): unknown message format 9",
    ),
    "everything, re-signed with another key": (
        resign_with_mallory,
        f"is signed by key {MALLORY.key_id}, not by the given public key {SIGNER.key_id}",
    ),
    "a middle event removed": (
        lambda d: d["events"].pop(2),
        "event version 4 (position 11): version 4 where 3 was expected",
    ),
    "two events swapped": (
        lambda d: d["events"].insert(1, d["events"].pop(2)),
        "event version 3 (position 8): version 3 where 2 was expected",
    ),
    "the family": (
        lambda d: d.update(family_id=str(NEIGHBOURS[1])),
        f"event version 1 (position 2) belongs to {FAMILY}, not the family",
    ),
}


@pytest.mark.parametrize("edit", EDITS, ids=list(EDITS))
def test_a_bundle_edited_by_hand_is_rejected_naming_what_failed(edit: str) -> None:
    change, message = EDITS[edit]
    data = as_file()
    change(data)
    with pytest.raises(BundleRejected) as rejected:
        verdict(data)
    assert message in str(rejected.value)


def format_1_file() -> Json:
    """A bundle exported before format 2: its checkpoint signed without id and date."""
    log = interleaved_log()
    bundle = replace(exported(log), checkpoint=signed_in_format_1(log))
    data: Json = json.loads(json.dumps(bundle_to_json(bundle)))
    del data["checkpoint"]["message_format"]
    return data


def test_a_bundle_signed_in_format_1_still_verifies_and_its_signed_fields_are_checked() -> None:
    data = format_1_file()
    assert verdict(data).startswith(f"family {FAMILY}: 5 events, chained and included in")
    assert bundle_from_json(data).checkpoint.message_format == 1

    data["checkpoint"]["event_count"] = 16
    with pytest.raises(BundleRejected, match="does not match its event count, head and root"):
        verdict(data)


def test_a_bundle_signed_in_format_1_cannot_be_passed_off_as_format_2() -> None:
    data = format_1_file()
    data["checkpoint"]["message_format"] = 2
    with pytest.raises(BundleRejected, match="does not match its id, date, event count"):
        verdict(data)


def test_a_bundle_checked_against_another_key_is_rejected() -> None:
    with pytest.raises(BundleRejected, match=f"not by the given public key {MALLORY.key_id}"):
        verdict(as_file(), MALLORY.public_key)


def test_a_bundle_without_events_is_rejected() -> None:
    data = as_file()
    data["events"] = []
    with pytest.raises(BundleRejected, match="holds no events"):
        verdict(data)


def test_a_bundle_cut_short_still_proves_the_events_it_holds() -> None:
    # The limit of a log proof: an exporter can leave out a family's latest events, never
    # alter or add one. The court compares the bundle's checkpoint date with the case.
    data = as_file()
    data["events"].pop()
    assert "4 events" in verdict(data)


MALFORMED: dict[str, tuple[Callable[[Json], object], str]] = {
    "not an object": (lambda d: [d], "bundle is not an object"),
    "another format": (lambda d: {**d, "format": "v0"}, "not a reunite-bundle-v2 bundle"),
    "a missing hash": (
        lambda d: d["events"][1].pop("hash") and d,
        "events[1].hash is missing or not of type str",
    ),
    "a boolean version": (
        lambda d: d["events"][0].update(version=True) or d,
        "events[0].version is missing or not of type int",
    ),
    "payload not base64": (
        lambda d: d["events"][0].update(payload="***") or d,
        "events[0].payload cannot be read",
    ),
    "a time without offset": (
        lambda d: d["events"][0].update(recorded_at="2019-06-24T09:00:00") or d,
        "events[0].recorded_at cannot be read",
    ),
    "a negative event count": (
        lambda d: d["checkpoint"].update(event_count=-1) or d,
        "checkpoint.event_count is -1, outside 1..9223372036854775807",
    ),
    "a head position past 64 bits": (
        lambda d: d["checkpoint"].update(head_position=2**64) or d,
        f"checkpoint.head_position is {2**64}, outside 1..9223372036854775807",
    ),
    "a negative checkpoint id": (
        lambda d: d["checkpoint"].update(id=-3) or d,
        "checkpoint.id is -3, outside 1..",
    ),
    "a negative leaf index": (
        lambda d: d["events"][0].update(leaf_index=-1) or d,
        "events[0].leaf_index is -1, outside 0..9223372036854775807",
    ),
    "a version past 32 bits": (
        lambda d: d["events"][0].update(version=2**31) or d,
        f"events[0].version is {2**31}, outside 1..2147483647",
    ),
    "a negative transaction id": (
        lambda d: d["events"][0].update(transaction_id=-5) or d,
        "events[0].transaction_id is -5, outside 0..",
    ),
    "a position past 64 bits": (
        lambda d: d["events"][0].update(position=2**63) or d,
        f"events[0].position is {2**63}, outside 1..",
    ),
    "an unknown hash format": (
        lambda d: d["events"][0].update(hash_format=3) or d,
        "events[0].hash_format is 3, outside 1..2",
    ),
    "a proof step not hex": (
        lambda d: d["events"][0]["proof"].append("zz") or d,
        "events[0].proof cannot be read",
    ),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_a_malformed_bundle_is_rejected_naming_the_field(case: str) -> None:
    change, message = MALFORMED[case]
    with pytest.raises(BundleRejected) as rejected:
        verdict(change(copy.deepcopy(as_file())))
    assert message in str(rejected.value)


# ---------------------------------------------------------------------------------------
# Reads of the family, proven against a checkpoint that signs the access log (format 3)

READERS = [("ana.auditor", "auditor"), ("carlos.counsel", "counsel"), ("niño.lópez", "counsel")]


def access_log(count: int = 12) -> list[ReadRecord]:
    """Reads of the family among reads of its neighbours, chained as the database chains them."""
    reads: list[ReadRecord] = []
    previous = None
    for n in range(1, count + 1):
        subject, role = READERS[n % 3]
        # Numbers skip now and then, as a rolled-back read leaves them.
        unsigned = ReadRecord(
            id=n + n // 5,
            read_at=T0 + timedelta(days=400, seconds=n, microseconds=n),
            subject=subject,
            role=role,
            operation="query:family,timeline",
            family_ids=(FAMILY if n % 3 == 1 else NEIGHBOURS[n % 2],),
            prev_hash=previous,
            hash=b"",
        )
        read = replace(unsigned, hash=record_hash(unsigned))
        reads.append(read)
        previous = read.hash
    return reads


def signed_with_reads(log: list[RecordedEvent], reads: list[ReadRecord]) -> Checkpoint:
    c = signed(log)
    unsigned = replace(
        c,
        message_format=3,
        read_count=len(reads),
        read_head_id=reads[-1].id,
        read_root=MerkleTree(r.hash for r in reads).root(),
    )
    return replace(unsigned, signature=SIGNER.sign(unsigned.message()))


def exported_with_reads() -> Bundle:
    log, reads = interleaved_log(), access_log()
    tree = MerkleTree(r.hash for r in reads)
    proven = tuple(
        ProvenRead(r, i, tuple(tree.proof(i)))
        for i, r in enumerate(reads)
        if FAMILY in r.family_ids
    )
    return replace(exported(log), checkpoint=signed_with_reads(log, reads), reads=proven)


def file_with_reads() -> Json:
    data: Json = json.loads(json.dumps(bundle_to_json(exported_with_reads())))
    return data


def test_a_bundle_with_the_familys_reads_is_accepted_and_round_trips() -> None:
    bundle = exported_with_reads()
    assert [p.record.id for p in bundle.reads] == [1, 4, 8, 12]
    assert bundle_from_json(json.loads(json.dumps(bundle_to_json(bundle)))) == bundle
    assert verdict(file_with_reads()) == (
        f"family {FAMILY}: 5 events, chained and included in checkpoint 3 "
        f"(events 1..15, head position 15), signed by key {SIGNER.key_id}; 4 reads of the "
        "family, included in its access log (reads 1..12)"
    )


def test_the_reads_hash_matches_the_encoding_the_database_uses() -> None:
    # The bytes of migration 0010's trigger, spelled out for one read.
    read = access_log(1)[0]
    message = (
        b"\xff\xff\xff\xff"
        + read.id.to_bytes(8, "big")
        + ((read.read_at - EPOCH) // timedelta(microseconds=1)).to_bytes(8, "big")
        + b"".join(len(t.encode()).to_bytes(4, "big") + t.encode() for t in read_text(read))
        + (1).to_bytes(4, "big")
        + read.family_ids[0].bytes
    )
    assert read.hash == hashlib.sha256(message).digest()


def read_text(read: ReadRecord) -> list[str]:
    return [read.subject, read.role, read.operation]


READ_EDITS: dict[str, tuple[Callable[[Json], None], str]] = {
    "who read": (
        lambda d: d["reads"][1].update(subject="someone.else"),
        "access-log row 4: its hash does not match its contents",
    ),
    "when, by a microsecond": (
        lambda d: d["reads"][0].update(read_at="2019-06-24T09:00:01.000002+00:00"),
        "access-log row 1: its hash does not match its contents",
    ),
    "through which operation": (
        lambda d: d["reads"][2].update(operation="query:children"),
        "access-log row 8: its hash does not match its contents",
    ),
    "its number": (
        lambda d: d["reads"][2].update(id=7),
        "access-log row 7: its hash does not match its contents",
    ),
    "its hash, recomputed over a new reader": (
        lambda d: d["reads"][1].update(subject="mallory", hash=forged_read_hash(d["reads"][1])),
        "access-log row 4: its inclusion proof does not lead to the access-log root",
    ),
    "a proof step": (
        lambda d: d["reads"][3]["proof"].__setitem__(0, flip_hex(d["reads"][3]["proof"][0])),
        "access-log row 12: its inclusion proof does not lead to the access-log root",
    ),
    "a leaf index": (
        lambda d: d["reads"][1].update(leaf_index=4),
        "access-log row 4: its inclusion proof does not lead to the access-log root",
    ),
    "another family's read passed off as the family's": (
        lambda d: d["reads"][0].update(family_ids=[str(NEIGHBOURS[0])]),
        "access-log row 1 is not a read of the family",
    ),
    "two reads swapped": (
        lambda d: d["reads"].insert(0, d["reads"].pop(1)),
        "access-log row 1 is out of order: reads are listed once each, by id",
    ),
    "a read listed twice": (
        lambda d: d["reads"].append(d["reads"][-1]),
        "access-log row 12 is out of order",
    ),
    "the number of reads signed": (
        lambda d: d["checkpoint"].update(read_count=13),
        "the signature does not match its id, date, event count, head and root, and "
        "access-log count, head and root",
    ),
    "the last read signed": (
        lambda d: d["checkpoint"].update(read_head_id=3),
        "the signature does not match",
    ),
    "the access log's root": (
        lambda d: d["checkpoint"].update(read_root=flip_hex(d["checkpoint"]["read_root"])),
        "the signature does not match",
    ),
    "the message format, to one that does not sign reads": (
        lambda d: d["checkpoint"].update(message_format=2),
        "it names an access-log head that message format 2 does not sign",
    ),
    "the access log's head, dropped with the format": (
        lambda d: d["checkpoint"].update(
            message_format=2, read_count=None, read_head_id=None, read_root=None
        ),
        "the signature does not match its id, date, event count, head and root",
    ),
    "the access log's root, cut short": (
        lambda d: d["checkpoint"].update(read_root=d["checkpoint"]["read_root"][:-2]),
        "its roots are not 32 bytes each",
    ),
}


def forged_read_hash(read: Json) -> str:
    record = _read_record(read)
    return record_hash(replace(record, subject="mallory")).hex()


def _read_record(read: Json) -> ReadRecord:
    return ReadRecord(
        id=read["id"],
        read_at=datetime.fromisoformat(read["read_at"]),
        subject=read["subject"],
        role=read["role"],
        operation=read["operation"],
        family_ids=tuple(UUID(f) for f in read["family_ids"]),
        prev_hash=bytes.fromhex(read["prev_hash"]) if read["prev_hash"] else None,
        hash=bytes.fromhex(read["hash"]),
    )


@pytest.mark.parametrize("edit", READ_EDITS, ids=list(READ_EDITS))
def test_a_read_edited_by_hand_is_rejected_naming_what_failed(edit: str) -> None:
    change, message = READ_EDITS[edit]
    data = file_with_reads()
    change(data)
    with pytest.raises(BundleRejected) as rejected:
        verdict(data)
    assert message in str(rejected.value)


def test_reads_against_a_checkpoint_that_does_not_sign_the_access_log_are_rejected() -> None:
    bundle = replace(exported_with_reads(), checkpoint=signed(interleaved_log()))
    with pytest.raises(BundleRejected, match=r"\(message format 2\) does not sign the access"):
        verify_bundle(bundle, SIGNER.public_key)


def test_a_read_after_the_checkpoints_last_is_rejected() -> None:
    bundle = exported_with_reads()
    last = bundle.reads[-1]
    later = replace(last, record=rehash(replace(last.record, id=40)), leaf_index=12)
    with pytest.raises(BundleRejected, match="access-log row 40 is after the last read"):
        verify_bundle(replace(bundle, reads=(*bundle.reads, later)), SIGNER.public_key)


def rehash(read: ReadRecord) -> ReadRecord:
    return replace(read, hash=record_hash(read))


def test_a_bundle_written_before_reads_were_chained_still_reads_and_verifies() -> None:
    data = as_file()
    data["format"] = "reunite-bundle-v1"
    del data["reads"]
    for key in ("read_count", "read_head_id", "read_root"):
        del data["checkpoint"][key]
    assert verdict(data).endswith(f"signed by key {SIGNER.key_id}")


def test_a_bundle_left_without_some_reads_still_proves_the_others() -> None:
    data = file_with_reads()
    data["reads"].pop(1)
    assert "3 reads of the family" in verdict(data)


READ_MALFORMED: dict[str, tuple[Callable[[Json], object], str]] = {
    "reads not a list": (lambda d: d.update(reads={}) or d, "bundle.reads is missing or not"),
    "a read id of zero": (
        lambda d: d["reads"][0].update(id=0) or d,
        "reads[0].id is 0, outside 1..",
    ),
    "a reader no read could hold": (
        lambda d: d["reads"][0].update(subject="\ud800") or d,
        "reads[0].subject cannot be read",
    ),
    "a read time without offset": (
        lambda d: d["reads"][0].update(read_at="2019-06-24T09:00:00") or d,
        "reads[0].read_at cannot be read",
    ),
    "a read proof step not hex": (
        lambda d: d["reads"][0]["proof"].append("zz") or d,
        "reads[0].proof cannot be read",
    ),
    "a read proof step not a string": (
        lambda d: d["reads"][0]["proof"].append(7) or d,
        "reads[0].proof holds a non-string",
    ),
    "a negative read count": (
        lambda d: d["checkpoint"].update(read_count=-1) or d,
        "checkpoint.read_count is -1, outside 0..",
    ),
}


@pytest.mark.parametrize("case", READ_MALFORMED, ids=list(READ_MALFORMED))
def test_a_malformed_read_is_rejected_naming_the_field(case: str) -> None:
    change, message = READ_MALFORMED[case]
    with pytest.raises(BundleRejected) as rejected:
        verdict(change(copy.deepcopy(file_with_reads())))
    assert message in str(rejected.value)
