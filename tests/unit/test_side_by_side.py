"""Projections run side by side: every result, or the first failure with the rest logged."""

from __future__ import annotations

import asyncio
import logging

import pytest

from projections.runner import _side_by_side


async def applied(count: int, pause: float = 0.0) -> int:
    await asyncio.sleep(pause)
    return count


async def failing(why: str) -> int:
    raise RuntimeError(why)


async def test_each_projections_count_comes_back_in_order() -> None:
    assert await _side_by_side([applied(3, 0.02), applied(5)]) == [3, 5]
    assert await _side_by_side([]) == []


async def test_the_first_failure_is_raised_the_others_logged_or_cancelled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    slow = asyncio.Event()

    async def never_done() -> int:
        await slow.wait()
        return 1

    with caplog.at_level(logging.ERROR), pytest.raises(RuntimeError, match="first"):
        await _side_by_side([failing("first"), failing("second"), never_done()])
    logged = [str(r.exc_info[1]) for r in caplog.records if r.exc_info]
    assert logged == ["second"]
    assert not [t for t in asyncio.all_tasks() if "never_done" in repr(t.get_coro())]
