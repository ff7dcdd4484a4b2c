"""Shared by every read field: freshness waits, page sizes, cursors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Generic, TypeVar

import strawberry

from schema.context import Info
from schema.errors import PublicError
from schema.limits import demand_of
from schema.scoping import needs_clients, rescope
from schema.types import Beyond, decode_cursor

R = TypeVar("R")

MinPosition = Annotated[
    int | None,
    strawberry.argument(
        description="Wait (bounded) until the read models include this global position."
    ),
]


async def fresh(info: Info, min_position: int | None) -> None:
    """Read-your-writes: wait until the projections have applied min_position (and a read
    replica has replayed that far), then take the caller's reach as they now have it (a
    representation just recorded counts)."""
    if min_position is None:
        return
    container = info.context.container
    within = container.settings.freshness_timeout
    try:
        # Bounded whatever the database does: a frozen server must not hold the reader.
        async with asyncio.timeout(within):
            # Subscribed before the first look: no batch announced in between is missed.
            async with container.notifications.subscribe() as woken:
                wake = partial(container.notifications.woken, woken)
                reached = await container.runner.wait_for(min_position, within, wake)
            # Read models answer from the replica when there is one: it must have
            # replayed the batches the primary just said hold the position.
            if reached:
                reached = await container.database.replica_reached()
    except TimeoutError:
        reached = False
    if not reached:
        raise PublicError(
            f"read models have not reached position {min_position} yet; retry shortly",
            "NOT_FRESH",
        )
    if needs_clients(info.context.identity):
        await rescope(info)


def page_size(info: Info, first: int, name: str = "first") -> int:
    """The requested page size, refused above the caller's role's cap."""
    identity = info.context.identity
    role_cap = demand_of(identity.role if identity else None).max_page
    cap = min(info.context.container.settings.max_page_size, role_cap)
    if not 1 <= first <= cap:
        raise PublicError(f"{name} must be between 1 and {cap} for this role", "BAD_PAGE_SIZE")
    return first


Last = Annotated[
    int | None,
    strawberry.argument(
        description="Page backwards: the last rows of the list, or those before `before`, "
        "in the list's order (`first` then does not apply)."
    ),
]
Before = Annotated[
    str | None,
    strawberry.argument(description="With `last`: the rows before this cursor (startCursor)."),
]


@dataclass(frozen=True)
class Window:
    """Which rows a page asks for: `size` from the cursor on, forwards or backwards."""

    size: int
    cursor: str | None
    backward: bool


def window(
    info: Info, first: int, after: str | None, last: int | None, before: str | None
) -> Window:
    """The page the arguments ask for: `first` after `after`, or `last` before `before`."""
    if last is None and before is None:
        return Window(page_size(info, first), after, backward=False)
    if after is not None:
        raise PublicError(
            "page forwards (first, after) or backwards (last, before), not both ways at once",
            "BAD_ARGUMENT",
        )
    if last is None:
        raise PublicError("before pages backwards: give last, the rows wanted", "BAD_ARGUMENT")
    return Window(page_size(info, last, "last"), before, backward=True)


# One keyset query of a list: (cursor, backward, limit) -> the rows after the cursor in the
# list's order, or (backward) the rows before it, nearest first; from an end when None.
Fetch = Callable[[str | None, bool, int], Awaitable[Sequence[R]]]


@dataclass(frozen=True)
class Page(Generic[R]):
    """A page's rows and their cursors, in the list's order, and what lies beyond it (of
    a page whose edges' cursors are not asked for, only its first and last row's)."""

    rows: list[R]
    cursors: list[str]
    has_next: Beyond
    has_previous: Beyond


async def keyset_page(
    asked: Window, fetch: Fetch[R], cursor_of: Callable[[R], str], every_cursor: bool = True
) -> Page[R]:
    """One page of a keyset-ordered list. Towards where it pages, one row more than asked
    says whether more follow; behind its cursor, whether a row lies beyond its first edge
    (or the cursor, when empty) is one more query of one row, run only when asked.
    Without `every_cursor`, only the ends' cursors are encoded (pageInfo's, and the
    edges a page is followed from)."""
    found = list(await fetch(asked.cursor, asked.backward, asked.size + 1))
    more = len(found) > asked.size
    rows = found[: asked.size]
    if asked.backward:
        rows.reverse()
    ends = rows if every_cursor or len(rows) < 3 else [rows[0], rows[-1]]
    cursors = [cursor_of(r) for r in ends]

    def beyond(backward: bool) -> Beyond:
        if asked.cursor is None:
            return False  # the page starts at that end of the list
        edge = (cursors[0] if backward else cursors[-1]) if cursors else asked.cursor

        async def any_row() -> bool:
            return bool(await fetch(edge, backward, 1))

        return any_row

    if asked.backward:
        return Page(rows, cursors, has_next=beyond(False), has_previous=more)
    return Page(rows, cursors, has_next=more, has_previous=beyond(True))


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
