"""Each person's data key: made on first use, wrapped in person_keys, kept unwrapped in a
bounded cache, destroyed on erasure (the row stays, as a tombstone, so erasure is known).

Decoding is synchronous, so a reader calls `prepare` with the rows it is about to decode:
their first bytes name the keys they need (service.eventstore.sealed_payloads), and an
erasure among them is taken in before anything else is decoded.
"""

from __future__ import annotations

import logging
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.utils import get_topic

from domain.family import Family
from service.eventstore.records import Connection
from service.eventstore.sealed_changes import subject_of
from service.eventstore.sealed_payloads import SEALED, sealed_for
from service.eventstore.sealing import DATA_KEY_BYTES, KeyWrapper, SealError

log = logging.getLogger(__name__)

ERASURE_TOPIC = get_topic(Family.PersonalDataErased)
CORRECTION_TOPIC = get_topic(Family.EntryCorrected)
# Unwrapped keys kept, as bytes (about 400 B each with their id and entry: 26 MB); a
# miss costs one query for the batch that needs it. Not as cipher objects: one holds about
# 2.5 KB outside Python's heap, and a process that kept them grew by hundreds of MB.
DEFAULT_KEYS = 65_536
# A key used this recently is kept even beyond the bound: a reader that prepared its rows
# may not have decoded them yet (readers prepare and decode concurrently, within a batch or
# a command, well under a second apart). Short, because every key a refold touches is held:
# at 60 s, a soak's refolds held 27,141 keys over a bound of 4,096 (bench.sustained).
HELD_SECONDS = 5.0
ERASURE_CHANNEL = "reunite_erasures"

LOAD = "SELECT person_id, kek_id, wrapped FROM person_keys WHERE person_id = ANY($1::uuid[])"
CREATE = """
INSERT INTO person_keys (person_id, family_id, kek_id, wrapped) VALUES ($1, $2, $3, $4)
ON CONFLICT (person_id) DO NOTHING
"""
# Erasure leaves the row, keyless: a person erased before any key was made gets one so.
DESTROY = """
INSERT INTO person_keys (person_id, family_id, kek_id, wrapped, destroyed_at)
VALUES ($1, $2, NULL, NULL, now())
ON CONFLICT (person_id) DO UPDATE SET kek_id = NULL, wrapped = NULL, destroyed_at = now()
 WHERE person_keys.wrapped IS NOT NULL
"""
TOMBSTONES = "SELECT person_id FROM person_keys WHERE wrapped IS NULL"
ERASURES_IN_LOG = "SELECT stream_id, payload FROM events WHERE topic = $1"
KEPT_FOR_ERASED = """
SELECT person_id, family_id FROM person_keys
 WHERE wrapped IS NOT NULL AND person_id = ANY($1::uuid[])
"""
TO_REWRAP = """
SELECT person_id, kek_id, wrapped FROM person_keys
 WHERE wrapped IS NOT NULL AND kek_id <> $1 ORDER BY person_id LIMIT $2
"""
REWRAP = "UPDATE person_keys SET kek_id = $2, wrapped = $3 WHERE person_id = $1 AND kek_id = $4"


class KeyMissing(Exception):
    """Sealed data whose person has no key row: the key table lost a row (not an erasure)."""


class PersonErased(Exception):
    """Personal data of a person whose data key was destroyed cannot be recorded."""


def erased_person(payload: bytes) -> UUID:
    """The person an erasure event names (it holds nothing sealed; typed, or tagged as the
    library writes a UUID: {"_type_": "uuid_hex", "_data_": ...})."""
    value = msgspec.json.decode(payload)["person_id"]
    return UUID(value["_data_"] if isinstance(value, dict) else value)


class Keyring:
    """Data keys by person, unwrapped by the first KEK whose id their row names."""

    def __init__(
        self,
        keks: Sequence[KeyWrapper],
        size: int = DEFAULT_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not keks:
            raise ValueError("a keyring needs a key-encryption key")
        self.primary = keks[0]  # wraps new keys; the others only unwrap (during a rotation)
        self.keks = {k.key_id: k for k in keks}
        self.size = size
        self.clock = clock
        # Each key with when it was loaded, oldest first.
        self._keys: OrderedDict[UUID, tuple[bytes, float]] = OrderedDict()
        self.erased: set[UUID] = set()  # every erasure this process knows of: a few ids
        self._made: list[tuple[UUID, UUID, str, bytes]] = []
        self._spelled: dict[bytes, UUID] | None = None  # _known, made on first use

    def cipher(self, person_id: UUID) -> AESGCM | None:
        """The person's key, None once erased; KeyMissing when never loaded here."""
        found = self._keys.get(person_id)
        if found is not None:
            return AESGCM(found[0])  # about 1 us: cheaper than keeping it (DEFAULT_KEYS)
        if person_id in self.erased:
            return None
        raise KeyMissing(f"no data key of person {person_id} is loaded (prepare the rows first)")

    def forget(self, person_id: UUID) -> None:
        """The person is erased: drop the key from memory, and read their data as erased."""
        self.erased.add(person_id)
        self._keys.pop(person_id, None)
        if self._spelled is not None:
            self._spelled[str(person_id).encode()] = person_id

    @property
    def _known(self) -> dict[bytes, UUID]:
        """The ids whose keys are loaded or erased here, by how sealed payloads spell them."""
        if self._spelled is None:
            self._spelled = {str(p).encode(): p for p in (*self._keys, *self.erased)}
        return self._spelled

    def _touch(self, people: Iterable[UUID]) -> None:
        """Mark these loaded keys as just needed: the bound keeps them for HELD_SECONDS."""
        now = self.clock()
        for person in people:
            if (kept := self._keys.get(person)) is not None:
                self._keys[person] = (kept[0], now)
                self._keys.move_to_end(person)

    def _keep(self, person_id: UUID, key: bytes) -> None:
        if person_id in self.erased:
            return  # an erasure seen here wins over a key row read a moment before
        now = self.clock()
        self._keys[person_id] = (key, now)
        self._keys.move_to_end(person_id)
        if self._spelled is not None:
            self._spelled[str(person_id).encode()] = person_id
        while len(self._keys) > self.size:
            dropped, (_, loaded) = next(iter(self._keys.items()))
            if now - loaded < HELD_SECONDS:
                break  # all the rest were loaded since: perhaps prepared, not yet decoded
            del self._keys[dropped]
            if self._spelled is not None:
                self._spelled.pop(str(dropped).encode(), None)

    async def prepare(self, db: Connection | asyncpg.Pool, rows: Iterable[Any]) -> None:
        """Load what decoding these rows needs: their keys, and their erasures first. A row
        is a RecordedEvent or a record selected with COLUMNS (topic and payload at 4, 5)."""
        needed: set[UUID] = set()
        used: set[UUID] = set()  # loaded already: kept from the bound until decoded
        known, at = self._known, len(SEALED)
        for row in rows:
            topic, payload = row[4], row[5]
            if topic == ERASURE_TOPIC:
                self.forget(erased_person(payload))
            elif topic == CORRECTION_TOPIC and (subject := subject_of(payload)):
                person = UUID(subject)
                (used if person in self._keys else needed).add(person)
            elif payload.startswith(SEALED):
                # By the id's text in the payload: parsing it is most of the cost, so once.
                sealer = known.get(payload[at : at + 36]) or sealed_for(payload)
                if sealer is not None:
                    (used if sealer in self._keys else needed).add(sealer)
        self._touch(used)
        needed -= self.erased
        if needed:
            await self.load(db, needed)

    async def load(self, db: Connection | asyncpg.Pool, people: Iterable[UUID]) -> None:
        """Read and unwrap these people's keys (their tombstones, for those erased)."""
        for row in await db.fetch(LOAD, list(people)):
            person, wrapped = row["person_id"], row["wrapped"]
            if wrapped is None:
                self.forget(person)
            else:
                self._keep(person, self._unwrap(person, row["kek_id"], wrapped))

    def _unwrap(self, person: UUID, kek_id: str, wrapped: bytes) -> bytes:
        kek = self.keks.get(kek_id)
        if kek is None:
            raise SealError(
                f"person {person}'s data key is wrapped by KEK {kek_id}, which is not configured"
            )
        return kek.unwrap(wrapped, person)

    async def ensure(self, db: Connection | asyncpg.Pool, people: Mapping[UUID, UUID]) -> None:
        """Make sure each person (to their family) has a key here: loaded, else created.
        PersonErased for one whose key was destroyed."""
        missing = [p for p in people if p not in self._keys]
        if missing:
            await self.load(db, missing)
        made = []
        for person in missing:
            if person in self.erased:
                raise PersonErased(f"the personal data of person {person} is erased")
            if person not in self._keys:
                wrapped = self.primary.wrap(os.urandom(DATA_KEY_BYTES), person)
                made.append((person, people[person], self.primary.key_id, wrapped))
        if made:
            # A key made at the same moment elsewhere wins; the reload takes the stored one.
            await db.executemany(CREATE, made)
        if unmade := [p for p in missing if p not in self._keys]:
            await self.load(db, unmade)

    def make(self, person_id: UUID, family_id: UUID) -> None:
        """Make a person's key now, in memory, for a tool that encodes a whole workload
        before writing any of it (the benchmarks); `store_made` writes the keys made."""
        if person_id in self._keys or person_id in self.erased:
            return
        key = os.urandom(DATA_KEY_BYTES)
        self._made.append(
            (person_id, family_id, self.primary.key_id, self.primary.wrap(key, person_id))
        )
        self._keep(person_id, key)

    async def store_made(self, db: Connection | asyncpg.Pool) -> None:
        """Write the keys `make` made (they must be written before what they seal is read)."""
        made, self._made = self._made, []
        await db.executemany(CREATE, made)

    async def destroy(self, db: Connection, person_id: UUID, family_id: UUID) -> None:
        """Destroy a person's data key in the database (the caller's transaction)."""
        await db.execute(DESTROY, person_id, family_id)

    async def load_erasures(self, db: Connection | asyncpg.Pool) -> int:
        """Take in every erasure: tombstones, and erasures in the log whose key a restored
        backup brought back, which are destroyed again; how many keys that destroyed."""
        for row in await db.fetch(TOMBSTONES):
            self.forget(row["person_id"])
        in_log = {
            erased_person(r["payload"]): r["stream_id"]
            for r in await db.fetch(ERASURES_IN_LOG, ERASURE_TOPIC)
        }
        for person in in_log:
            self.forget(person)
        revived = await db.fetch(KEPT_FOR_ERASED, list(in_log))
        for row in revived:
            log.warning("destroying again the data key of erased person %s", row["person_id"])
            await db.execute(DESTROY, row["person_id"], row["family_id"])
        return len(revived)

    async def rotate(self, db: Connection | asyncpg.Pool, batch: int = 500) -> int:
        """Re-wrap every data key under the primary KEK (the log is not touched); how many."""
        done = 0
        while rows := await db.fetch(TO_REWRAP, self.primary.key_id, batch):
            for row in rows:
                person = row["person_id"]
                key = self._unwrap(person, row["kek_id"], row["wrapped"])
                wrapped = self.primary.wrap(key, person)
                await db.execute(REWRAP, person, self.primary.key_id, wrapped, row["kek_id"])
                done += 1
        return done

    def __len__(self) -> int:
        return len(self._keys)
