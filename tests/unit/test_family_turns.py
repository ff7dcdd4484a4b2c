"""Commands on one family take turns, first come first served, and leave nothing behind."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest

from service.application.family_turns import FamilyTurns


async def test_turns_on_one_family_run_one_at_a_time_in_arrival_order() -> None:
    turns, family, order, inside = FamilyTurns(), uuid4(), [], []

    async def command(n: int) -> None:
        async with turns.turn(family) as had:
            assert had
            inside.append(n)
            assert len(inside) == 1  # nobody else holds the turn
            await asyncio.sleep(0.001)
            order.append(n)
            inside.remove(n)

    await asyncio.gather(*(command(n) for n in range(10)))
    assert order == list(range(10))
    assert len(turns) == 0  # bounded: no entry outlives the commands


async def test_different_families_do_not_wait_for_each_other() -> None:
    turns, first, second = FamilyTurns(), uuid4(), uuid4()
    async with turns.turn(first):
        async with asyncio.timeout(0.5), turns.turn(second) as had:
            assert had
        assert len(turns) == 1


async def test_a_turn_not_given_in_time_goes_ahead_without_it() -> None:
    turns, family = FamilyTurns(wait=0.01), uuid4()
    async with turns.turn(family):
        async with turns.turn(family) as had:
            assert not had  # the store's version check orders these two
        assert len(turns) == 1
    assert len(turns) == 0
    async with turns.turn(family) as had:  # the holder released: the lock is free again
        assert had


async def test_a_cancelled_waiter_leaves_the_turn_to_the_others() -> None:
    turns, family = FamilyTurns(), uuid4()
    held, waiter_in = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with turns.turn(family):
            held.set()
            await waiter_in.wait()

    async def waiter() -> None:
        async with turns.turn(family):
            pytest.fail("a cancelled waiter never gets the turn")

    first = asyncio.create_task(holder())
    await held.wait()
    second = asyncio.create_task(waiter())
    await asyncio.sleep(0.01)
    second.cancel()
    waiter_in.set()
    await first
    with pytest.raises(asyncio.CancelledError):
        await second
    assert len(turns) == 0
    async with asyncio.timeout(0.5), turns.turn(family) as had:
        assert had
