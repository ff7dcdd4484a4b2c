"""node(id:) and nodes(ids:): any object by its global id (schema/node.py).

Each id is answered through the root field that answers that object directly, its gates
(permission classes) included: `family`, `child`, `parent`, `family` for a member (then
its `members`), `timeline` for an entry (the one page of one entry from its version), and
the gate of a status read for a facility. So node() holds the same rules as those fields,
whatever they come to hold: the same refusals (FORBIDDEN), the same nulls for what the
caller may not read (schema/policy.py), the same reads noted in the access log
(schema/audit.py); an object that does not exist, or that the direct field would not
answer, is null. An id that is not one is refused: BAD_NODE_ID.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, cast
from uuid import UUID

import strawberry
from strawberry.permission import BasePermission
from strawberry.types.field import StrawberryField

from projections import case_queries as sql
from schema.case_queries import CaseQueries
from schema.context import Info
from schema.node import Node, bad_node_id, parse_global_id
from schema.paging import page_size
from schema.permissions import CASE_READERS
from schema.queries import LAST_VERSION, FamilyQueries
from schema.read_types import Facility
from schema.types import Member, TimelineEntry, encode_cursor


def _root(cls: type[Any], name: str) -> StrawberryField:
    """The root field of that name, as declared (its permission classes and resolver)."""
    fields: list[StrawberryField] = cls.__strawberry_definition__.fields
    return next(f for f in fields if f.python_name == name)


async def _admit(gates: Sequence[type[BasePermission]], info: Info) -> None:
    """Refuse as a field with these gates would, with their error."""
    for permission_class in gates:
        permission = permission_class()
        allowed = permission.has_permission(None, info)
        if inspect.isawaitable(allowed):
            allowed = await allowed
        if not allowed:
            permission.on_unauthorized()


async def _direct(cls: type[Any], name: str, info: Info, **arguments: Any) -> Any:
    """The root field's answer to these arguments, gates first."""
    field = _root(cls, name)
    await _admit(field.permission_classes, info)
    assert field.base_resolver is not None
    resolver = cast(Callable[..., Awaitable[Any]], field.base_resolver.wrapped_func)
    return await resolver(None, info, **arguments)


# The types a root field answers by their own id, and that field.
BY_ID: dict[str, tuple[type[Any], str]] = {
    "Family": (FamilyQueries, "family"),
    "Child": (CaseQueries, "child"),
    "Parent": (CaseQueries, "parent"),
}


def _uuid(value: str, node_id: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise bad_node_id(node_id, "its key is not a UUID") from None


async def resolve_node(info: Info, node_id: str) -> Node | None:
    """The object the id names, as the direct field answers this caller."""
    type_name, key = parse_global_id(node_id)
    if type_name in BY_ID:
        root, name = BY_ID[type_name]
        return cast(Node | None, await _direct(root, name, info, id=_uuid(key[0], node_id)))
    if type_name == "Member":
        person_id = _uuid(key[1], node_id)
        family = await _direct(FamilyQueries, "family", info, id=_uuid(key[0], node_id))
        if family is None:
            return None
        members: list[Member] = await family.members(info)
        return next((m for m in members if m.person_id == person_id), None)
    if type_name == "TimelineEntry":
        family_id = _uuid(key[0], node_id)
        # ASCII digits only, and few: int() refuses "²" and texts of thousands of digits.
        digits = key[1]
        if not (digits.isascii() and digits.isdigit() and len(digits) <= 10):
            raise bad_node_id(node_id, "its version is not a stream version")
        if not 1 <= int(digits) <= LAST_VERSION:
            raise bad_node_id(node_id, "its version is not a stream version")
        version = int(key[1])
        # The page of one entry from that version: the access log notes what it notes.
        page = await _direct(
            FamilyQueries,
            "timeline",
            info,
            family_id=family_id,
            first=1,
            after=encode_cursor(version - 1),
        )
        entries: list[TimelineEntry] = [e.node for e in page.edges if e.node.version == version]
        return entries[0] if entries else None
    # A facility: no one's personal data, a status fact, read as a child's facility is.
    await _admit([CASE_READERS], info)
    row = await info.context.container.database.read_pool.fetchrow(sql.FACILITY_BY_ID, key[0])
    return Facility(**dict(row)) if row is not None else None


@strawberry.type
class NodeQueries:
    """Global object identification: refetch any object a client holds by its id."""

    @strawberry.field(
        permission_classes=[CASE_READERS],
        description="The object with this id (Node.id), answered as the query that answers "
        "it directly would answer the caller; null when there is none or that query would "
        "answer none. BAD_NODE_ID when the id is not one.",
    )
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await resolve_node(info, id)

    @strawberry.field(
        permission_classes=[CASE_READERS],
        description="The objects with these ids, in their order, each as node(id:) answers "
        "it (an error at its own path); as many ids as a page has rows at most.",
    )
    async def nodes(
        self,
        info: Info,
        ids: Annotated[list[strawberry.ID], strawberry.argument(description="Node ids.")],
    ) -> list[Node | None]:
        if ids:
            page_size(info, len(ids), "the number of ids")
        found = await asyncio.gather(*(resolve_node(info, i) for i in ids), return_exceptions=True)
        for outcome in found:
            if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
                raise outcome
        # GraphQL answers an exception in a list as that item's error, at its path.
        return cast(list[Node | None], found)
