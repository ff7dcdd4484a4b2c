"""A subscriber that never reads holds back neither the others nor the one who announces."""

from __future__ import annotations

from typing import cast

import asyncpg

from service.application.notifications import Notifications


async def test_a_slow_subscriber_holds_back_no_one() -> None:
    notifications = Notifications(cast(asyncpg.Pool, None))  # never connects
    async with notifications.subscribe() as slow, notifications.subscribe() as quick:
        for _ in range(1000):  # announcing never waits for the slow one
            notifications._heard()
            assert quick.get_nowait() == "changed"
        assert slow.qsize() == 1  # all it missed is one 'something changed'
