"""Write the schema's SDL to schema/schema.graphql: `python -m schema.export`."""

from __future__ import annotations

from pathlib import Path

from schema.build import create_schema

SDL_PATH = Path(__file__).with_name("schema.graphql")


def sdl() -> str:
    """The schema as GraphQL SDL, as the checked-in file holds it."""
    return str(create_schema()) + "\n"


if __name__ == "__main__":
    SDL_PATH.write_text(sdl())
    print(f"wrote {SDL_PATH}")
