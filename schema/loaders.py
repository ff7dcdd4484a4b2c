"""DataLoaders built per request, so a page costs a constant number of queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

import asyncpg
from strawberry.dataloader import DataLoader

from projections import family_summary

Row = asyncpg.Record


@dataclass
class Loaders:
    """One instance per request: caches never outlive it."""

    members: DataLoader[UUID, list[Row]]

    @classmethod
    def create(cls, pool: asyncpg.Pool) -> Loaders:
        async def load_members(ids: Sequence[UUID]) -> list[list[Row]]:
            rows = await family_summary.members_of(pool, list(ids))
            grouped: dict[UUID, list[Row]] = {i: [] for i in ids}
            for row in rows:
                grouped[row["family_id"]].append(row)
            return [grouped[i] for i in ids]

        return cls(members=DataLoader(load_members))
