"""What clients generate from, written by `python -m schema.export` (`make schema`):
schema/schema.graphql, the SDL, and schema/possible-types.json, each interface's and
union's member types, as Apollo Client's `possibleTypes` takes them. It also writes the
access policy's table into the README (schema/policy.py)."""

from __future__ import annotations

import json
from pathlib import Path

from graphql import GraphQLInterfaceType, GraphQLUnionType

from schema.build import create_schema
from schema.policy import with_policy

SDL_PATH = Path(__file__).with_name("schema.graphql")
POSSIBLE_TYPES_PATH = Path(__file__).with_name("possible-types.json")
README_PATH = Path(__file__).parents[1] / "README.md"


def sdl() -> str:
    """The schema as GraphQL SDL, as the checked-in file holds it."""
    return str(create_schema()) + "\n"


def possible_types_json() -> str:
    """Each interface and union with the object types that may stand for it, by name."""
    schema = create_schema()._schema
    found = {
        name: sorted(t.name for t in schema.get_possible_types(kind))
        for name, kind in schema.type_map.items()
        if isinstance(kind, GraphQLInterfaceType | GraphQLUnionType) and not name.startswith("__")
    }
    return json.dumps(dict(sorted(found.items())), indent=2) + "\n"


if __name__ == "__main__":
    SDL_PATH.write_text(sdl())
    print(f"wrote {SDL_PATH}")
    POSSIBLE_TYPES_PATH.write_text(possible_types_json())
    print(f"wrote {POSSIBLE_TYPES_PATH}")
    README_PATH.write_text(with_policy(README_PATH.read_text()))
    print(f"wrote the access policy into {README_PATH}")
