"""The checked-in SDL is the schema the code builds."""

from __future__ import annotations

from schema.export import SDL_PATH, sdl


def test_schema_graphql_matches_the_code() -> None:
    assert SDL_PATH.read_text() == sdl(), "run `make schema` and commit schema/schema.graphql"
