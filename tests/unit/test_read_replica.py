"""REUNITE_REPLICA_URL: read-model queries go to the replica's pool when there is one."""

from __future__ import annotations

from typing import cast

import asyncpg

from service.postgres.database import Database
from service.settings import Settings


def test_the_replica_url_is_read_from_the_environment() -> None:
    url = "postgresql://reunite@replica:5432/reunite"
    assert Settings.from_env({"REUNITE_REPLICA_URL": url}).replica_url == url
    assert Settings.from_env({}).replica_url is None
    assert Settings.from_env({"REUNITE_REPLICA_URL": ""}).replica_url is None


def _pool(name: str) -> asyncpg.Pool:
    return cast(asyncpg.Pool, name)  # never used as a pool here


async def test_reads_go_to_the_replica_only_when_there_is_one() -> None:
    primary, replica = _pool("primary"), _pool("replica")
    alone = Database(primary, "postgresql://primary")
    assert alone.read_pool is primary
    assert await alone.replica_reached()  # nothing to wait for
    both = Database(primary, "postgresql://primary", replica=replica)
    assert both.read_pool is replica
    assert both.pool is primary  # writes, the log and the read audit
