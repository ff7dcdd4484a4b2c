"""Subscribers wake for the batches that concern them; a slow one holds back no one."""

from __future__ import annotations

from typing import cast
from uuid import UUID, uuid4

import asyncpg
from hypothesis import given
from hypothesis import strategies as st

from projections.announced import MAX_NAMED, announcement, heard
from service.application.notifications import Notifications


async def test_a_slow_subscriber_holds_back_no_one() -> None:
    notifications = Notifications(cast(asyncpg.Pool, None))  # never connects
    async with notifications.subscribe() as slow, notifications.subscribe() as quick:
        for _ in range(1000):  # announcing never waits for the slow one
            notifications._heard(None)
            assert quick.get_nowait() == "changed"
        assert slow.qsize() == 1  # all it missed is one 'something changed'


async def test_a_subscriber_wakes_only_for_batches_that_concern_it() -> None:
    notifications = Notifications(cast(asyncpg.Pool, None))
    mine, other = uuid4(), uuid4()
    async with (
        notifications.subscribe("timeline", mine) as family,
        notifications.subscribe("cases") as cases,
    ):
        notifications._heard(announcement("timeline", 7, [other]))
        assert family.empty() and cases.empty()
        notifications._heard(announcement("timeline", 8, [other, mine]))
        assert family.get_nowait() == "changed" and cases.empty()
        notifications._heard(announcement("cases", 8, [other]))
        assert family.empty() and cases.get_nowait() == "changed"
        # Too many families to name, an older server's "name:position", or a lost and
        # regained connection: everyone looks again.
        for said in (
            announcement("timeline", 9, [uuid4() for _ in range(101)]),
            "timeline:9",
            None,
        ):
            notifications._heard(said)
            assert family.get_nowait() == "changed"


@given(st.lists(st.uuids(), max_size=120), st.text())
def test_every_announcement_reads_back_as_sent(families: list[UUID], name: str) -> None:
    said = heard(announcement(name.replace(":", ""), 5, families))
    if 0 < len(families) <= MAX_NAMED:
        assert said.families == frozenset(families)
    else:
        assert said.families is None  # concerns every family


@given(st.text())
def test_any_payload_is_read_without_failing(payload: str) -> None:
    heard(payload)
