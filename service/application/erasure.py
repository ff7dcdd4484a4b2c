"""Erasing a person's personal data: the order recorded, the key destroyed, every cache told.

One transaction appends PersonalDataErased (who ordered it, on what authority: no personal
data), destroys the person's data key and NOTIFYs reunite_erasures, delivered on commit;
each process then forgets the key and drops what it kept of the family decoded. The read
models re-fold the family from the erasure event, as they do for a correction.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from domain.erasure_commands import checked_order
from domain.family import Family
from service.application.commands import FamilyCommands, FamilyNotFound
from service.eventstore.keyring import ERASURE_CHANNEL, Keyring
from service.eventstore.provenance import Provenance
from service.eventstore.records import AppendResult
from service.eventstore.store import VersionConflict
from service.postgres.listener import Listener

log = logging.getLogger(__name__)

ATTEMPTS = 8  # a family written to meanwhile is loaded and decided again
FIND_FAMILY = """
SELECT family_id FROM family_members WHERE person_id = $1
UNION SELECT family_id FROM person_keys WHERE person_id = $1
"""
NOTIFY = f"SELECT pg_notify('{ERASURE_CHANNEL}', $1)"


class UnknownPerson(Exception):
    """No family case records this person; nothing was erased."""

    code = "NOT_FOUND"


def notice(person_id: UUID, family_id: UUID) -> str:
    return f"{person_id} {family_id}"


def parse_notice(payload: str) -> tuple[UUID, UUID]:
    """The person and family an erasure notice names."""
    person, family = payload.split()
    return UUID(person), UUID(family)


class Erasure:
    """Runs erasures, and takes in those other processes ran."""

    def __init__(self, commands: FamilyCommands, keyring: Keyring) -> None:
        self.commands = commands
        self.keyring = keyring

    async def family_of(self, person_id: UUID) -> UUID:
        """The family a person is a member of, or UnknownPerson."""
        family_id = await self.commands.store.pool.fetchval(FIND_FAMILY, person_id)
        if family_id is None:
            raise UnknownPerson(f"no family case records person {person_id}")
        return UUID(str(family_id))

    async def erase(
        self, person_id: UUID, authority: str, ordered_by: str, provenance: Provenance
    ) -> AppendResult:
        """Erase a person's personal data; the domain's refusal (a bad authority, already
        erased) or UnknownPerson writes nothing."""
        checked_order(authority, ordered_by)  # a bad order is refused before any look-up
        family_id = await self.family_of(person_id)
        for attempt in range(ATTEMPTS):
            try:
                result = await self._attempt(
                    person_id, family_id, authority, ordered_by, provenance
                )
            except VersionConflict:
                if attempt == ATTEMPTS - 1:
                    raise
                continue
            self.heard(notice(person_id, family_id))
            self.commands.store.announcements.soon()
            return result
        raise AssertionError("unreachable")

    async def _attempt(
        self,
        person_id: UUID,
        family_id: UUID,
        authority: str,
        ordered_by: str,
        provenance: Provenance,
    ) -> AppendResult:
        store = self.commands.store
        try:
            family: Family = await self.commands.load(family_id)
        except FamilyNotFound:
            raise UnknownPerson(f"no family case records person {person_id}") from None
        version = family.version
        family.erase_personal_data(person_id, authority, ordered_by, datetime.now(UTC))
        events = await store.encode_all(family.collect_events())
        async with store.pool.acquire() as conn, conn.transaction():
            result = await store.append(family_id, version, events, provenance, conn=conn)
            await self.keyring.destroy(conn, person_id, family_id)
            await conn.execute(NOTIFY, notice(person_id, family_id))
        return result

    async def reload(self) -> int:
        """Take in every erasure again (after NOTIFY could not be heard): what is new is
        forgotten, with every family kept decoded; how many erasures were new."""
        known = set(self.keyring.erased)
        await self.keyring.load_erasures(self.commands.store.pool)
        new = self.keyring.erased - known
        if new:  # which families they were in is not known here: forget every one kept
            self.commands.cache.clear()
        return len(new)

    def heard(self, payload: str) -> None:
        """An erasure (ours or another process's): forget the key and what was decoded."""
        try:
            person_id, family_id = parse_notice(payload)
        except ValueError:
            log.warning("an erasure notice that names no person: %r", payload)
            return
        # Replays' memo of decoded rows notices the new erasure itself (time_travel.py).
        self.keyring.forget(person_id)
        self.commands.cache.forget(family_id)


class ErasureNotices:
    """Hears reunite_erasures in this process (another process's erasures), kept listening."""

    def __init__(self, pool: asyncpg.Pool, erasure: Erasure) -> None:
        self.erasure = erasure
        self.listener = Listener(pool, ERASURE_CHANNEL, self._heard)
        self._reloads: set[asyncio.Task[int]] = set()
        self._started = False

    async def start(self) -> None:
        """Listen, and keep listening (service/postgres/listener.py)."""
        await self.listener.start()
        self._started = True  # the first listen is no catching up; any later one is

    async def stop(self) -> None:
        await self.listener.stop()

    def _heard(self, payload: str | None) -> None:
        if payload is not None:
            self.erasure.heard(payload)
        elif self._started:
            # Listening again after a loss: erasures made meanwhile were not heard.
            task = asyncio.ensure_future(self.erasure.reload())
            self._reloads.add(task)
            task.add_done_callback(self._reloads.discard)
