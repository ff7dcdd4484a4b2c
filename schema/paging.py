"""Shared by every read field: freshness waits, page sizes, cursors."""

from __future__ import annotations

import asyncio
from typing import Annotated

import strawberry

from schema.context import Info
from schema.errors import PublicError
from schema.limits import demand_of
from schema.types import decode_cursor

MinPosition = Annotated[
    int | None,
    strawberry.argument(
        description="Wait (bounded) until the read models include this global position."
    ),
]


async def fresh(info: Info, min_position: int | None) -> None:
    """Read-your-writes: wait until the projections have applied min_position."""
    if min_position is None:
        return
    container = info.context.container
    within = container.settings.freshness_timeout
    try:
        # Bounded whatever the database does: a frozen server must not hold the reader.
        async with asyncio.timeout(within):
            reached = await container.runner.wait_for(min_position, within)
    except TimeoutError:
        reached = False
    if not reached:
        raise PublicError(
            f"read models have not reached position {min_position} yet; retry shortly",
            "NOT_FRESH",
        )


def page_size(info: Info, first: int) -> int:
    """The requested page size, refused above the caller's role's cap."""
    identity = info.context.identity
    role_cap = demand_of(identity.role if identity else None).max_page
    cap = min(info.context.container.settings.max_page_size, role_cap)
    if not 1 <= first <= cap:
        raise PublicError(f"first must be between 1 and {cap} for this role", "BAD_PAGE_SIZE")
    return first


def cursor_parts(cursor: str | None, count: int) -> list[str] | None:
    """Decode a cursor into its keyset values, or refuse it clearly."""
    if cursor is None:
        return None
    try:
        parts = decode_cursor(cursor)
    except ValueError as e:
        raise PublicError(str(e), "BAD_CURSOR") from None
    if len(parts) != count:
        raise PublicError(f"invalid cursor {cursor!r}", "BAD_CURSOR")
    return parts
