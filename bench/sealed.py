"""Stores for measuring personal data encryption on against off in the same run."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import asyncpg

from domain.personal import subjects
from service.eventstore.codec import create_mapper
from service.eventstore.keyring import Keyring
from service.eventstore.records import NewEvent
from service.eventstore.sealing import FileKek
from service.eventstore.store import EventStore


def sealing_store(pool: asyncpg.Pool) -> EventStore:
    """A store that seals personal fields under per-person keys (a fresh random KEK)."""
    keyring = Keyring([FileKek(os.urandom(32))])
    return EventStore(pool, create_mapper(keys=keyring), keyring)


def sealing_encoder(store: EventStore) -> Callable[[Any], NewEvent]:
    """store.encode, making each new person's key in memory first (bench.common's workload
    encodes before anything is written); `await store.keyring.store_made(pool)` after."""
    keyring = store.keyring
    assert keyring is not None

    def encode(event: Any) -> NewEvent:
        for person in subjects(event):
            keyring.make(person, event.originator_id)
        return store.encode(event)

    return encode
