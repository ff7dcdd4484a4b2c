"""Global object identification: the Node interface and the opaque ids of its types.

Every type a client caches (Family, Child, Parent, Member, Facility, TimelineEntry)
implements Node, so Apollo's and Relay's normalised caches hold one entity per object and a
later answer updates it wherever it is shown. An id is the url-safe base64 of the type's
name and its key, "Child:<uuid>", "Member:<family>:<person>", "TimelineEntry:<family>:<version>":
opaque to clients, stable, and the same at every version of the object (a family read at
version 9 and at version 24 is one entity). `node(id:)` and `nodes(ids:)` (schema/node_queries.py)
answer them through the queries that answer the objects themselves.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import strawberry

from schema.errors import PublicError

# How many parts each type's key has (after the type's name): the last part may hold ':'.
KEY_PARTS = {
    "Family": 1,
    "Child": 1,
    "Parent": 1,
    "Member": 2,
    "TimelineEntry": 2,
    "Facility": 1,
}


@strawberry.interface(
    description="An object with a global id: node(id:) and nodes(ids:) fetch it again, "
    "answered as the query that answers it directly would answer the caller."
)
class Node:
    """An object a client's cache keeps by its id."""

    @strawberry.field(
        description="Opaque and stable: the same object has the same id in every answer, at "
        "every version (a family's does not change as it is written to). The domain's own "
        "ids (familyId, childId, ...) are fields of their own."
    )
    def id(self) -> strawberry.ID:
        definition = getattr(self, "__strawberry_definition__")  # noqa: B009
        return strawberry.ID(global_id(definition.name, *self.node_key()))

    def node_key(self) -> tuple[Any, ...]:
        """The values that name this object among those of its type."""
        raise NotImplementedError


def global_id(type_name: str, *key: Any) -> str:
    """The opaque id of an object of this type with this key."""
    text = ":".join([type_name, *(str(part) for part in key)])
    return base64.urlsafe_b64encode(text.encode()).decode()


def bad_node_id(value: str, why: str) -> PublicError:
    return PublicError(f"not a node id: {value!r} ({why})", "BAD_NODE_ID")


def parse_global_id(value: str) -> tuple[str, list[str]]:
    """The type name and key parts inside an id; BAD_NODE_ID when it is not one of ours."""
    try:
        raw = base64.b64decode(value.encode("ascii"), altchars=b"-_", validate=True)
        text = raw.decode()
    except (ValueError, binascii.Error, UnicodeError):
        raise bad_node_id(value, "not base64 of a type and a key") from None
    if base64.urlsafe_b64encode(raw).decode() != value:
        raise bad_node_id(value, "not base64 of a type and a key")
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text):
        # Postgres holds no NUL in text: such a key would fail in the database, not here.
        raise bad_node_id(value, "it holds a control character")
    type_name, _, key = text.partition(":")
    parts = KEY_PARTS.get(type_name)
    if parts is None:
        raise bad_node_id(value, "no type of that name has ids")
    found = key.split(":", parts - 1)
    if len(found) != parts or not all(found):
        raise bad_node_id(value, f"a {type_name} id has {parts} part(s)")
    return type_name, found
