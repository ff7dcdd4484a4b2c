"""Families shaped as the caches meet them: generated, grown by many members, replayed."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from bench.common import case_events
from domain.family import Family
from domain.paths import Member
from domain.values import MemberRole, PersonName, Sex


def generated(count: int) -> list[Family]:
    """Cases as the demo and the benchmarks make them: a few members, about 10 events."""
    rng = random.Random(20180520)
    return [
        replay(case_events(rng, UUID(int=rng.getrandbits(128), version=4), number))
        for number in range(count)
    ]


def grown(count: int, members: int) -> list[Family]:
    """Cases that gained many members, as the sustained load's writers make them."""
    families = generated(count)
    for family in families:
        for _ in range(members):
            family.add_member(
                Member(uuid4(), MemberRole.OTHER_ADULT, PersonName("Tía Carmen"), Sex.FEMALE),
                datetime(2018, 6, 1, tzinfo=UTC),
            )
        family.collect_events()
    return families


def replay(events: list[Any]) -> Family:
    """The family as a command loads it: its events applied one by one."""
    family = None
    for event in events:
        family = event.mutate(family)
    assert isinstance(family, Family)
    return family
