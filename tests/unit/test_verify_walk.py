"""The walks of `reunite verify` report the break that stands first in the log, and name it."""

from __future__ import annotations

from dataclasses import replace

from service.ledger.reads import ReadBreak, ReadChain, ReadRecord, record_hash
from service.ledger.verify import StreamChains
from tests.scenarios.family import T0
from tests.scenarios.ledger import NEIGHBOURS, recorded

S, T = NEIGHBOURS


def test_a_waiting_event_that_stands_earlier_is_reported_before_a_later_break() -> None:
    s1 = recorded(S, 1, 1, None)
    s2 = recorded(S, 2, 4, s1.hash)
    s3 = recorded(S, 3, 2, s2.hash)
    # S version 3 took its place before version 2 committed, so it waits for it; meanwhile
    # T's altered event, later in the log, is checked first.
    s3_altered = s3._replace(payload=s3.payload + b"\x00")
    t1 = recorded(T, 1, 3, None)
    t1_altered = t1._replace(payload=t1.payload + b"\x00")
    chains = StreamChains()
    for event in (s1, s3_altered, t1_altered, s2):
        chains.add(event)
    chains.finish()

    assert chains.broken is not None
    assert (chains.broken.stream_id, chains.broken.version, chains.broken.position) == (S, 3, 2)
    assert chains.broken.what == "hash does not match the event's contents"


def chained_reads(count: int) -> list[ReadRecord]:
    reads: list[ReadRecord] = []
    for n in range(1, count + 1):
        unsigned = ReadRecord(
            n, T0, "ana", "auditor", "query:family", (S,), reads[-1].hash if reads else None, b""
        )
        reads.append(replace(unsigned, hash=record_hash(unsigned)))
    return reads


def walked(reads: list[ReadRecord], head: tuple[int | None, bytes | None]) -> ReadChain:
    chain = ReadChain(*head)
    for read in reads:
        chain.add(read)
    chain.finish()
    return chain


def test_an_untouched_access_log_ending_at_its_head_holds() -> None:
    reads = chained_reads(3)
    assert walked(reads, (3, reads[-1].hash)).broken is None
    assert walked([], (0, None)).broken is None
    assert walked([], (None, None)).broken is None  # an emptied database has no head


def test_an_access_log_whose_first_rows_were_deleted_is_named_at_the_first_left() -> None:
    reads = chained_reads(3)
    chain = walked(reads[1:], (3, reads[-1].hash))
    assert chain.broken == ReadBreak(
        2, "it is the first row but chains from another: rows before it were deleted"
    )


def test_a_read_chained_from_nothing_after_another_is_named() -> None:
    reads = chained_reads(3)
    restarted = replace(reads[2], prev_hash=None)
    chain = walked([*reads[:2], replace(restarted, hash=record_hash(restarted))], (3, None))
    assert chain.broken == ReadBreak(3, "it chains from nothing, but follows row 2")


def test_an_access_log_without_its_head_is_broken() -> None:
    reads = chained_reads(2)
    chain = walked(reads, (None, None))
    assert chain.broken == ReadBreak(2, "the database's record of the log's last read is missing")


def test_a_read_past_the_recorded_head_is_named_before_anything_it_breaks() -> None:
    reads = chained_reads(4)
    chain = walked(reads, (3, reads[2].hash))
    assert chain.broken == ReadBreak(
        4,
        "it stands after the last read the database recorded (row 3): it was inserted with "
        "the triggers off",
    )


def test_a_last_read_rewritten_differs_from_the_recorded_head() -> None:
    reads = chained_reads(2)
    chain = walked(reads, (2, reads[0].hash))
    assert chain.broken is not None and chain.broken.id == 2
    assert chain.broken.what.endswith("the row was rewritten")
