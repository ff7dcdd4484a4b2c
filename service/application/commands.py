"""Command handling: load the family, let it decide, append what it decided."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4, uuid5

from opentelemetry import trace

from domain.errors import DomainError
from domain.family import Family
from service.application.family_cache import FamilyCache, Loaded
from service.application.family_turns import FamilyTurns
from service.eventstore.provenance import Provenance
from service.eventstore.records import AppendResult
from service.eventstore.store import EventStore, VersionConflict


class FamilyNotFound(Exception):
    """No case exists with the given id."""


class DuplicateCase(Exception):
    """A case with this id already exists."""


@dataclass(frozen=True)
class CommandContext:
    """What every command carries besides its input."""

    provenance: Provenance
    idempotency_key: str | None = None
    expected_version: int | None = None
    digest: bytes = b""


def command_digest(
    name: str, actor: str, fields: dict[str, Any], encode: Callable[[Any], bytes]
) -> bytes:
    """A fingerprint of a command and who sent it, to tell a retry from a reused key (keys
    are global: another caller's key is refused, never answered with someone else's result)."""
    return hashlib.sha256(b"\0".join((name.encode(), actor.encode(), encode(fields)))).digest()


# A no-op unless a tracer provider is installed (service/entrypoints/tracing.py).
TRACER = trace.get_tracer(__name__)

# Ids the service creates for a keyed command come from the key, so a retry creates the same.
CREATED_IDS = UUID("0f5c7a2e-3d4b-5c6d-8e9f-a0b1c2d3e4f5")


def new_id(command: str, actor: str, idempotency_key: str | None) -> UUID:
    """A fresh id, or for a keyed command the one its first attempt created (the key as
    stored: trimmed, and blank meaning none)."""
    key = (idempotency_key or "").strip()
    if not key:
        return uuid4()
    try:
        return uuid5(CREATED_IDS, f"{command}\0{actor}\0{key}")
    except UnicodeEncodeError:  # a lone surrogate: the key is refused before any append
        return uuid4()


# How often a command without expectedVersion is decided again before a conflict is answered:
# each round at least one of the racing writers wins, so a burst of this many all succeed.
UNCHECKED_ATTEMPTS = 32


class FamilyCommands:
    """Runs each command through load -> decide -> append."""

    def __init__(self, store: EventStore, cache: FamilyCache | None = None) -> None:
        self.store = store
        self.cache = cache if cache is not None else FamilyCache()
        self.turns = FamilyTurns()

    async def load(self, family_id: UUID, up_to_version: int = 2**31 - 1) -> Family:
        """Rebuild a family from its stream."""
        return (await self._load(family_id, up_to_version))[0]

    async def _load(self, family_id: UUID, up_to_version: int = 2**31 - 1) -> tuple[Family, bytes]:
        """The family and the hash its stream ends in, which new events chain from."""
        family: Family | None = None
        head = b""
        for recorded in await self.store.read_stream(family_id, up_to_version):
            family = self.store.decode(recorded).mutate(family)
            head = recorded.hash
        if family is None:
            raise FamilyNotFound(f"no family case with id {family_id}")
        return family, head

    async def _load_latest(self, family_id: UUID) -> tuple[Family, bytes]:
        """The family now: a kept one brought up to date by its new events, else loaded
        whole. A kept family whose last event's stored hash differs is not trusted. A
        `reunite.load` span when tracing is on: the family's id, version, events read."""
        with TRACER.start_as_current_span("reunite.load") as span:
            family, head, read = await self._latest(family_id)
            if span.is_recording():
                span.set_attribute("reunite.stream_id", str(family_id))
                span.set_attribute("reunite.version", family.version)
                span.set_attribute("reunite.events_read", read)
                span.set_attribute("reunite.kept", read < family.version)
            return family, head

    async def _latest(self, family_id: UUID) -> tuple[Family, bytes, int]:
        """_load_latest's family and head, and how many events were decoded for it."""
        kept = self.cache.take(family_id)
        if kept is not None:
            rows = await self.store.read_stream_from(family_id, kept.family.version)
            if rows and rows[0].version == kept.family.version and rows[0].hash == kept.head:
                family, head = kept.family, kept.head
                for recorded in rows[1:]:
                    family = self.store.decode(recorded).mutate(family)
                    head = recorded.hash
                return family, head, len(rows) - 1
        family, head = await self._load(family_id)
        return family, head, family.version

    async def open_case(self, family_id: UUID, ctx: CommandContext, **fields: Any) -> AppendResult:
        """Start a new family stream."""

        async def attempt() -> AppendResult:
            if ctx.expected_version not in (None, 0):
                raise VersionConflict(
                    f"a new case has no version yet, not {ctx.expected_version}: "
                    "give 0 or leave expectedVersion out"
                )
            if await self.store.read_stream(family_id, 1):
                raise DuplicateCase(f"a family case with id {family_id} already exists")
            return await self._append(Family.open(family_id, **fields), 0, None, ctx)

        return await self._once(ctx, attempt)

    async def execute(
        self, family_id: UUID, decide: Callable[[Family], None], ctx: CommandContext
    ) -> AppendResult:
        """Load the family, apply one command method, append the events it triggered."""

        async def attempt() -> AppendResult:
            async with self.turns.turn(family_id):
                return await decided()

        async def decided() -> AppendResult:
            family, head = await self._load_latest(family_id)
            if ctx.expected_version is not None and ctx.expected_version != family.version:
                self.cache.keep(family_id, Loaded(family, head))  # unchanged: still good
                raise VersionConflict(
                    f"family {family_id} is at version {family.version}, "
                    f"not the expected {ctx.expected_version}; reload and retry"
                )
            loaded_version = family.version
            decide(family)  # a refusal leaves this copy unkept: it may be half-changed
            result = await self._append(family, loaded_version, head, ctx)
            if not result.duplicate and result.head is not None:
                self.cache.keep(family_id, Loaded(family, result.head))
            return result

        async def attempts() -> AppendResult:
            # Asked for no version check, a command that loses a race to another writer is
            # decided again on the state that writer made.
            tries = 1 if ctx.expected_version is not None else UNCHECKED_ATTEMPTS
            for _ in range(tries - 1):
                with contextlib.suppress(VersionConflict):
                    return await attempt()
                # A random pause of a few milliseconds, so the losers do not collide again.
                await asyncio.sleep(random.random() * 0.005)
            return await attempt()

        return await self._once(ctx, attempts)

    async def _once(
        self, ctx: CommandContext, attempt: Callable[[], Awaitable[AppendResult]]
    ) -> AppendResult:
        """Run a keyed command at most once: a retry answers with the first result."""
        if (earlier := await self._earlier(ctx)) is not None:
            return earlier
        try:
            return await attempt()
        except (VersionConflict, DuplicateCase, DomainError):
            # A retry that raced its first attempt loads the state that attempt made, and
            # is refused by it; the first attempt's result is the answer.
            if (earlier := await self._earlier(ctx)) is not None:
                return earlier
            raise

    async def _earlier(self, ctx: CommandContext) -> AppendResult | None:
        if ctx.idempotency_key is None:
            return None
        return await self.store.find_command(ctx.idempotency_key, ctx.digest)

    async def _append(
        self, family: Family, expected: int, head: bytes | None, ctx: CommandContext
    ) -> AppendResult:
        # The store answers a concurrent retry of this same command with the first result.
        events = await self.store.encode_all(family.collect_events())
        return await self.store.append(
            family.id,
            expected,
            events,
            ctx.provenance,
            ctx.idempotency_key,
            ctx.digest,
            head=head,
        )
