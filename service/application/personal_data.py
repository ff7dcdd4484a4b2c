"""Personal data keys for a process: the KEK from settings, the keyring, the store over it."""

from __future__ import annotations

import logging
from pathlib import Path

import asyncpg

from service.eventstore.codec import create_mapper
from service.eventstore.keyring import Keyring
from service.eventstore.sealing import FileKek, KeyWrapper, generate_kek_file
from service.eventstore.store import EventStore
from service.settings import Settings

log = logging.getLogger(__name__)

KEK_FILE = "person-kek"  # in the private data directory when REUNITE_KEK_FILE is unset


def kek_path(settings: Settings) -> Path:
    """Where the key-encryption key is: REUNITE_KEK_FILE, else the data directory's."""
    if settings.kek_file is not None:
        return settings.kek_file
    return settings.private_data_dir() / KEK_FILE


def keks(settings: Settings) -> list[KeyWrapper]:
    """The KEK that wraps new keys, then the previous ones still read during a rotation.
    A configured file must exist; the data directory's is made on first use."""
    path = kek_path(settings)
    if settings.kek_file is None and not settings.dev:
        log.warning(
            "the personal data KEK is kept in the data directory (%s): set REUNITE_KEK_FILE"
            " to keep it off the database's disks and backups",
            path,
        )
    if settings.kek_file is None and not path.exists():
        generate_kek_file(path)
    return [FileKek.load(path), *(FileKek.load(p) for p in settings.previous_kek_files)]


def keyring_for(settings: Settings) -> Keyring:
    """A keyring over the configured KEKs."""
    return Keyring(keks(settings), settings.person_keys)


async def personal_store(
    pool: asyncpg.Pool, settings: Settings, keyring: Keyring | None = None
) -> EventStore:
    """An event store that seals and opens personal data, its erasures loaded (and any key
    a restored backup brought back for an erased person destroyed again)."""
    keyring = keyring if keyring is not None else keyring_for(settings)
    # A database not yet migrated to 0012 (an upgrade under test) has erased no one.
    if await pool.fetchval("SELECT to_regclass('person_keys') IS NOT NULL"):
        await keyring.load_erasures(pool)
    mapper = create_mapper(keys=keyring, seal=settings.seal_personal_data)
    return EventStore(pool, mapper, keyring)
