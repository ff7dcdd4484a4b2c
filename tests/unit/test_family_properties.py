"""Properties: whatever a case accepts, its events fold back into exactly that case."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.errors import DomainError
from domain.events import Happened
from domain.family import Family
from service.eventstore.codec import create_mapper
from tests.scenarios.family import trace
from tests.scenarios.histories import PROPERTY, commands, family_histories


def replay(family: Family) -> Family:
    """A fresh aggregate folded from the events the live one recorded."""
    first, *rest = family.collect_events()
    replayed = first.mutate(None)
    for recorded in rest:
        replayed = recorded.mutate(replayed)
    assert isinstance(replayed, Family)
    return replayed


def stored_and_read_back(family: Family) -> Family:
    mapper = create_mapper()
    replayed: Family | None = None
    for recorded in family.history:
        read_back = mapper.to_domain_event(mapper.to_stored_event(recorded))
        assert isinstance(read_back, Happened)
        replayed = read_back.mutate(replayed)
    assert isinstance(replayed, Family)
    return replayed


@PROPERTY
@given(family_histories())
def test_replaying_a_case_rebuilds_exactly_the_live_case(family: Family) -> None:
    replayed = replay(family)
    assert replayed.version == family.version
    assert replayed.status is family.status
    assert vars(replayed) == vars(family)
    assert vars(stored_and_read_back(family)) == vars(family)


@PROPERTY
@given(family_histories())
def test_folding_event_by_event_is_folding_the_effective_history_afresh(family: Family) -> None:
    refolded = replay(family)
    refolded._rederive()  # what a correction does: reset, then fold what counts
    assert vars(refolded) == vars(family)


@PROPERTY
@given(family_histories(), st.data())
def test_any_command_records_its_event_or_refuses_and_records_nothing(
    family: Family, data: st.DataObject
) -> None:
    family.collect_events()
    command = data.draw(commands(family))
    before = trace(family)
    try:
        command(family)
    except DomainError:
        assert trace(family) == before
        return
    recorded = family.collect_events()
    assert family.version == before.version + len(recorded)
    assert len(recorded) in (1, 2)
    if len(recorded) == 2:  # a historical entry out of order, and its flag
        flag = recorded[1]
        assert isinstance(flag, Family.DataQualityFlagged)
        assert (flag.rule, flag.about_version) == (
            "before_apprehension",
            recorded[0].originator_version,
        )
