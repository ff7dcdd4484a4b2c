"""Shared benchmark pieces: the throwaway database, the command workload, timing, tables.

The workload is built once per benchmark run from a fixed seed: families are written
through the real ``domain.family.Family`` aggregate (so payloads are the real mapped
bytes, via ``EventStore.encode``), their events are cut into commands of 1-3 events, and
the commands of all families are interleaved in time (each family's own commands stay
in order), the way a busy service sees many cases progress side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import asyncpg

from domain.family import Family, Member
from domain.values import (
    Agency,
    ANumber,
    Country,
    CustodyKind,
    Evidence,
    Facility,
    MemberRole,
    Office,
    PersonName,
    Place,
    PlaceKind,
    ProgramType,
    RelationshipKind,
    SeparationReason,
    Sex,
)
from service.eventstore.provenance import Provenance
from service.eventstore.records import Connection, NewEvent
from service.postgres.database import Database, open_database
from service.postgres.embedded import EmbeddedPostgres
from service.settings import Settings

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"

# ---------------------------------------------------------------------------------------
# Command line


def settings_for(url: str) -> Settings:
    """The environment's settings on the bench's database: an in-process container then
    seals with the same key-encryption key (REUNITE_KEK_FILE) as the server it starts."""
    return replace(Settings.from_env(), database_url=url)


def parse_args(
    description: str, argv: Sequence[str] | None = None, runs: int = 3
) -> argparse.Namespace:
    """--runs, --scale, --seed and --wipe, shared by the benchmarks."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--runs", type=int, default=runs, help="timed runs per case (median)")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="shrink (or grow) the workload, e.g. 0.1"
    )
    parser.add_argument("--seed", type=int, default=20180520, help="workload seed")
    parser.add_argument(
        "--wipe",
        action="store_true",
        help="with DATABASE_URL: allow emptying a database whose log is not empty",
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.scale <= 0:
        parser.error("--runs must be >= 1 and --scale > 0")
    return args


# ---------------------------------------------------------------------------------------
# The database


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at another database."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@asynccontextmanager
async def own_server() -> AsyncIterator[str]:
    """DATABASE_URL's server, or an embedded one of the bench's own in a temporary directory:
    the gap-safe horizon is server-wide, so another's transactions would skew a bench."""
    if url := os.environ.get("DATABASE_URL"):
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="reunite-bench-") as root:
        embedded = EmbeddedPostgres(Path(root))
        try:
            yield await embedded.start()
        finally:
            await embedded.stop()


@asynccontextmanager
async def bench_database(wipe: bool, max_size: int = 10) -> AsyncIterator[Database]:
    """DATABASE_URL if set (refused if its log holds events, unless wipe), else a
    throwaway ``reunite_bench_<random>`` database, migrated, and dropped at the end."""
    url = os.environ.get("DATABASE_URL") or None
    created: str | None = None
    if url is None:
        created = f"reunite_bench_{secrets.token_hex(4)}"
        admin = await asyncpg.connect(DEFAULT_SERVER)
        try:
            await admin.execute(f'CREATE DATABASE "{created}"')
        finally:
            await admin.close()
        url = with_database(DEFAULT_SERVER, created)
    try:
        db = await open_database(Settings(database_url=url), min_size=2, max_size=max_size)
        try:
            if (
                created is None
                and not wipe
                and await db.pool.fetchval("SELECT EXISTS (SELECT 1 FROM events)")
            ):
                raise SystemExit(
                    f"{_safe(url)} already holds events and the benchmark empties it; "
                    "pass --wipe or unset DATABASE_URL to use a throwaway database"
                )
            print(f"database: {_safe(url)}" + (" (throwaway)" if created else ""))
            yield db
        finally:
            await db.close()
    finally:
        if created is not None:
            admin = await asyncpg.connect(DEFAULT_SERVER)
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{created}" WITH (FORCE)')
            finally:
                await admin.close()


def _safe(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{host}{port}"))


async def empty_database(pool: asyncpg.Pool) -> None:
    """Empty the log and every read model (append-only triggers bypassed for this session)."""
    async with pool.acquire() as conn:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename NOT IN ('schema_migrations')"
        )
        await conn.execute("SET session_replication_role = replica")
        names = ", ".join(f'"{t["tablename"]}"' for t in tables)
        await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        await conn.execute("SET session_replication_role = origin")
        # Months an archive test dropped: this one and the next, as the service makes them.
        await conn.execute("SELECT reunite_access_log_months(2)")


async def empty_log(conn: Connection) -> None:
    """Empty events and commands; the append-only trigger is bypassed for this session."""
    await conn.execute("SET session_replication_role = replica")
    try:
        await conn.execute("TRUNCATE events, commands RESTART IDENTITY")
    finally:
        await conn.execute("SET session_replication_role = origin")


async def settle(conn: Connection) -> None:
    """Flush dirty pages before a timed run so one run's checkpoint does not hit the next."""
    await conn.execute("CHECKPOINT")


# ---------------------------------------------------------------------------------------
# The workload


@dataclass(frozen=True)
class Command:
    """One accepted command: 1-3 events appended to one family in one transaction."""

    family: int
    stream_id: UUID
    expected_version: int
    events: tuple[NewEvent, ...]
    provenance: Provenance
    idempotency_key: str
    digest: bytes


@dataclass(frozen=True)
class Workload:
    """Every command in the order the service received them."""

    families: int
    commands: tuple[Command, ...]

    @property
    def events(self) -> int:
        return sum(len(c.events) for c in self.commands)

    def split(self, writers: int) -> list[list[Command]]:
        """Families dealt round-robin to writers; each writer keeps the global order."""
        shares: list[list[Command]] = [[] for _ in range(writers)]
        for command in self.commands:
            shares[command.family % writers].append(command)
        return shares

    def describe(self) -> str:
        return (
            f"{self.events:,} events in {len(self.commands):,} commands "
            f"over {self.families:,} families"
        )


GIVEN = [
    "Ana",
    "Beto",
    "Carla",
    "Diego",
    "Elena",
    "Fabio",
    "Gloria",
    "Hugo",
    "Iris",
    "Jose",
    "Karla",
    "Luis",
    "Maria",
    "Nestor",
    "Olga",
    "Pablo",
    "Rosa",
    "Santos",
    "Teresa",
    "Wilmer",
]
FAMILY_NAMES = [
    "Alvarado",
    "Barrios",
    "Castillo",
    "Duarte",
    "Escobar",
    "Flores",
    "Garcia",
    "Hernandez",
    "Izaguirre",
    "Juarez",
    "Lopez",
    "Mejia",
    "Orellana",
    "Perez",
]
COUNTRIES = ["GT", "HN", "SV", "MX", "NI", "EC", "BR"]
PLACES = [
    Place(PlaceKind.PORT_OF_ENTRY, "San Ysidro"),
    Place(PlaceKind.SECTOR, "Rio Grande Valley"),
    Place(PlaceKind.STATION, "McAllen Station"),
    Place(PlaceKind.SECTOR, "El Paso"),
    Place(PlaceKind.STATION, "Yuma Station"),
]
FACILITIES = [
    Facility("casa-padre", "Casa Padre", "TX"),
    Facility("tornillo", "Tornillo", "TX"),
    Facility("cayuga", "Cayuga Centers", "NY"),
    Facility("bethany", "Bethany", "MI"),
    Facility("southwest-key-az", "Southwest Key Campbell", "AZ"),
]
DETENTION = [
    Facility("port-isabel", "Port Isabel Detention Center", "TX"),
    Facility("otay-mesa", "Otay Mesa Detention Center", "CA"),
    Facility("fci-victorville", "FCI Victorville", "CA"),
]
OFFICES = [
    Office("ero-sna", "ICE ERO San Antonio"),
    Office("ero-hou", "ICE ERO Houston"),
    Office("ero-sdc", "ICE ERO San Diego"),
    Office("ero-phx", "ICE ERO Phoenix"),
]
NOTES = [None, None, None, "parent referred for prosecution", "no documents at crossing"]
REASONS = [None, None, "intake interview", "records review", "call from care provider"]
T0 = datetime(2018, 5, 1, 8, 0, tzinfo=UTC)


def _uuid(rng: random.Random) -> UUID:
    return UUID(int=rng.getrandbits(128), version=4)


def case_events(rng: random.Random, family_id: UUID, number: int) -> list[Any]:
    """A case through the aggregate: members, apprehension, separations, referrals,
    placements, some detentions and reunifications (about 10 events on average)."""
    moment = T0 + timedelta(hours=number * 0.5)

    def later() -> datetime:
        nonlocal moment
        moment += timedelta(hours=rng.uniform(1, 72))
        return moment

    family = Family(
        id=family_id, occurred_at=moment, case_number=f"C-{number:06d}", source="cbp-intake"
    )
    surname = rng.choice(FAMILY_NAMES)
    country = Country(rng.choice(COUNTRIES))
    parents = [_uuid(rng) for _ in range(2 if rng.random() < 0.2 else 1)]
    children = [_uuid(rng) for _ in range(rng.choice([1, 1, 1, 2, 2, 3]))]
    for i, parent in enumerate(parents):
        family.add_member(
            Member(
                parent,
                MemberRole.PARENT if i == 0 else MemberRole.OTHER_ADULT,
                PersonName(f"{rng.choice(GIVEN)} {surname}"),
                Sex.FEMALE if rng.random() < 0.7 else Sex.MALE,
                birth_date=date(rng.randint(1970, 1998), rng.randint(1, 12), rng.randint(1, 28)),
                country=country,
                a_number=ANumber(f"A{rng.randint(10**8, 10**9 - 1)}"),
            ),
            later(),
        )
    for child in children:
        named = rng.random() < 0.9
        family.add_member(
            Member(
                child,
                MemberRole.CHILD,
                PersonName(f"{rng.choice(GIVEN)} {surname}") if named else None,
                rng.choice([Sex.FEMALE, Sex.MALE]),
                age=rng.randint(0, 17),
                country=country,
            ),
            later(),
        )
    place = rng.choice(PLACES)
    family.apprehend((*parents, *children), place, rng.choice(list(Agency)), later())
    parent = parents[0]
    if rng.random() < 0.5:
        family.detain_parent(parent, rng.choice(DETENTION), rng.choice(list(CustodyKind)), later())
    for child in children:
        family.record_relationship(
            parent, child, rng.choice(list(RelationshipKind)), rng.choice(list(Evidence)), later()
        )
        if rng.random() < 0.85:
            family.separate(
                parent,
                child,
                place,
                rng.choice(list(SeparationReason)),
                rng.choice(NOTES),
                rng.random() < 0.5,
                later(),
            )
            if rng.random() < 0.6:
                family.refer_child(child, rng.choice(OFFICES), rng.randint(2, 120), later())
            if rng.random() < 0.85:
                family.place_child(
                    child, rng.choice(FACILITIES), rng.choice(list(ProgramType)), later()
                )
                if rng.random() < 0.3:
                    family.reunify(child, parent, rng.choice([None, *PLACES]), later())
    return list(family.collect_events())


def build_workload(
    encode: Callable[[Any], NewEvent],
    seed: int,
    families: int | None = None,
    min_events: int | None = None,
    mean_gap: float = 40.0,
) -> Workload:
    """A fixed number of families, or as many as it takes to reach min_events.

    Family i opens at time i; its next command comes an exponential gap later (mean_gap
    family openings), so about mean_gap * 5 cases are in progress at any moment.
    """
    rng = random.Random(seed)
    timed: list[tuple[float, int, Command]] = []
    total = count = 0
    while (families is not None and count < families) or (
        min_events is not None and total < min_events
    ):
        family_id = _uuid(rng)
        events = [encode(e) for e in case_events(rng, family_id, count)]
        at, version, start = count + rng.random(), 0, 0
        while start < len(events):
            size = rng.randint(1, 3)
            chunk = tuple(events[start : start + size])
            key = f"bench-{count}-{version}"
            command = Command(
                family=count,
                stream_id=family_id,
                expected_version=version,
                events=chunk,
                provenance=Provenance(
                    actor=f"caseworker.{rng.randint(1, 60):02d}",
                    role="caseworker",
                    source="bench",
                    reason=rng.choice(REASONS),
                    correlation_id=_uuid(rng),
                ),
                idempotency_key=key,
                digest=hashlib.sha256(key.encode() + b"".join(e.payload for e in chunk)).digest(),
            )
            timed.append((at, len(timed), command))
            version += len(chunk)
            start += size
            at += rng.expovariate(1 / mean_gap)
        total += len(events)
        count += 1
    timed.sort()
    return Workload(count, tuple(c for _, _, c in timed))


# ---------------------------------------------------------------------------------------
# Timing and reporting


async def timed(work: Awaitable[object]) -> float:
    """Seconds one awaited piece of work took."""
    start = time.perf_counter()
    await work
    return time.perf_counter() - start


async def gather_writers(
    conns: Sequence[Connection],
    shares: Sequence[Sequence[Command]],
    write: Callable[[Connection, Sequence[Command]], Awaitable[None]],
) -> None:
    """Run one writer task per share, each on its own connection."""
    await asyncio.gather(*(write(c, s) for c, s in zip(conns, shares, strict=True)))


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def verdict(ratio: float, target: float) -> str:
    return "PASS" if ratio >= target else "BELOW TARGET"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A plain aligned table: first column left, the others right."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))
    sys.stdout.flush()


def rate(value: float) -> str:
    return f"{value:,.0f}"


def runs_text(values: Sequence[float]) -> str:
    return " ".join(f"{v:,.0f}" for v in values)
