"""The log walk of `reunite verify` reports the break that stands first in the log."""

from __future__ import annotations

from service.ledger.verify import StreamChains
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
