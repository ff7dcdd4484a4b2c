"""The checked-in SDL and possible types are the schema the code builds."""

from __future__ import annotations

import json

from schema.export import POSSIBLE_TYPES_PATH, SDL_PATH, possible_types_json, sdl


def test_schema_graphql_matches_the_code() -> None:
    assert SDL_PATH.read_text() == sdl(), "run `make schema` and commit schema/schema.graphql"


def test_possible_types_json_matches_the_code() -> None:
    assert POSSIBLE_TYPES_PATH.read_text() == possible_types_json(), (
        "run `make schema` and commit schema/possible-types.json"
    )
    # Apollo Client reads `... on Error { code }` on each member only with this map.
    assert json.loads(possible_types_json())["Error"] == [
        "InvariantViolation",
        "NotFound",
        "ValidationError",
        "VersionConflict",
    ]
