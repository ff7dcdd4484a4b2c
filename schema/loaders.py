"""DataLoaders built per request, so a page costs a constant number of queries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

import asyncpg
from strawberry.dataloader import DataLoader

from projections import case_queries, family_queries, parking

Row = asyncpg.Record
K = TypeVar("K", bound=Hashable)


def grouped(
    fetch: Callable[[list[K]], Awaitable[list[Row]]], key: str
) -> Callable[[Sequence[K]], Awaitable[list[list[Row]]]]:
    """A batch function returning, for each key, the rows whose column `key` equals it."""

    async def load(keys: Sequence[K]) -> list[list[Row]]:
        groups: dict[K, list[Row]] = {k: [] for k in keys}
        for row in await fetch(list(keys)):
            groups[row[key]].append(row)
        return [groups[k] for k in keys]

    return load


@dataclass
class Loaders:
    """One instance per request: caches never outlive it."""

    members: DataLoader[UUID, list[Row]]
    parents: DataLoader[UUID, list[Row]]
    flags: DataLoader[UUID, list[Row]]
    # A family's parked events, at most one row: since when, and for which read models.
    parked: DataLoader[UUID, list[Row]]
    # Counsel of record, past and present.
    representations: DataLoader[UUID, list[Row]]

    @classmethod
    def create(cls, pool: asyncpg.Pool) -> Loaders:
        async def members(ids: list[UUID]) -> list[Row]:
            return await family_queries.members_of(pool, ids)

        async def parents(ids: list[UUID]) -> list[Row]:
            return await pool.fetch(case_queries.PARENTS_OF_FAMILIES, ids)

        async def flags(ids: list[UUID]) -> list[Row]:
            return await pool.fetch(case_queries.FLAGS_OF_FAMILIES, ids)

        async def parked(ids: list[UUID]) -> list[Row]:
            return await pool.fetch(parking.STALE_FAMILIES, ids)

        async def representations(ids: list[UUID]) -> list[Row]:
            return await family_queries.representations_of(pool, ids)

        return cls(
            flags=DataLoader(grouped(flags, "family_id")),
            parked=DataLoader(grouped(parked, "family_id")),
            members=DataLoader(grouped(members, "family_id")),
            parents=DataLoader(grouped(parents, "family_id")),
            representations=DataLoader(grouped(representations, "family_id")),
        )
