"""Schema evolution: a Separated stored before reason_text existed reads back as version 2,
written in either payload format."""

from __future__ import annotations

import dataclasses
import json

import pytest
from eventsourcing.persistence import StoredEvent

from domain import events
from domain.family import Family
from domain.values import SeparationReason
from service.eventstore.codec import create_mapper
from tests.scenarios.events import WRITERS
from tests.scenarios.family import SAN_YSIDRO, at, opened_family

formats = pytest.mark.parametrize("written", list(WRITERS))


def separated(reason_text: str | None) -> events.Separated:
    family, mother, son = opened_family()
    family.separate(
        mother,
        son,
        SAN_YSIDRO,
        SeparationReason.CRIMINAL_HISTORY,
        "per CBP",
        False,
        at(1),
        reason_text=reason_text,
    )
    event = family.collect_events()[-1]
    assert isinstance(event, Family.Separated)
    return event


def as_version_1(stored: StoredEvent) -> StoredEvent:
    """The payload as it was written before Separated carried reason_text."""
    state = json.loads(stored.state)
    assert (state.pop("class_version"), state.pop("reason_text")) == (2, None)
    return dataclasses.replace(stored, state=json.dumps(state, separators=(",", ":")).encode())


@formats
def test_separated_is_stored_as_version_2(written: str) -> None:
    stored = WRITERS[written].to_stored_event(separated("Parent's criminal history"))
    state = json.loads(stored.state)
    assert (state["class_version"], state["reason_text"]) == (2, "Parent's criminal history")


@formats
def test_a_version_1_separation_reads_back_with_no_source_wording(written: str) -> None:
    recorded = separated(None)
    mapper = create_mapper()
    old = as_version_1(WRITERS[written].to_stored_event(recorded))
    assert b"reason_text" not in old.state and b"class_version" not in old.state
    restored = mapper.to_domain_event(old)
    assert isinstance(restored, Family.Separated)
    assert restored.reason_text is None
    assert vars(restored) == vars(recorded)


@formats
def test_a_case_with_a_version_1_separation_replays(written: str) -> None:
    family, mother, son = opened_family()
    family.separate(mother, son, SAN_YSIDRO, SeparationReason.HEALTH, None, True, at(1))
    mapper = create_mapper()
    stored = [WRITERS[written].to_stored_event(e) for e in family.collect_events()]
    stored[-1] = as_version_1(stored[-1])
    replayed: Family | None = None
    for record in stored:
        read_back = mapper.to_domain_event(record)
        assert isinstance(read_back, events.Happened)
        replayed = read_back.mutate(replayed)
    assert isinstance(replayed, Family)
    assert vars(replayed) == vars(family)
