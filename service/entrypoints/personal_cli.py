"""`reunite erase` and `reunite keys kek|rotate`: personal data erasure and its keys."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path
from uuid import UUID

from domain.errors import DomainError
from service.application.container import Container
from service.application.erasure import UnknownPerson
from service.application.personal_data import kek_path, keks
from service.eventstore.keyring import Keyring
from service.eventstore.provenance import Provenance
from service.eventstore.sealing import FileKek, KekFileError, SealError, generate_kek_file
from service.postgres.database import open_database
from service.settings import Settings


def add_key_commands(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`keys kek` and `keys rotate`, beside `keys generate`."""
    kek = actions.add_parser("kek", help="write a new key-encryption key file (0600)")
    kek.add_argument("--out", type=Path, required=True, metavar="FILE")
    rotate = actions.add_parser(
        "rotate", help="re-wrap every personal data key under a new KEK (the log is untouched)"
    )
    rotate.add_argument("--to", type=Path, required=True, metavar="NEW_KEK_FILE")


def add_erase_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    erase = subparsers.add_parser(
        "erase", help="erase a person's personal data (crypto-shredding), by order"
    )
    erase.add_argument("person", type=UUID, metavar="PERSON")
    erase.add_argument("--authority", required=True, help="the order or schedule it rests on")
    erase.add_argument("--ordered-by", help="who ordered it (default: the operator)")


def run_keys(args: argparse.Namespace, settings: Settings) -> int:
    """`keys kek` or `keys rotate`."""
    try:
        if args.keys_action == "kek":
            made = generate_kek_file(args.out)
            print(f"wrote {args.out} (KEK {made.key_id}; keep it off the database's disks)")
            print(f"set REUNITE_KEK_FILE={args.out}")
            return 0
        return asyncio.run(_rotate(settings, args.to))
    except (KekFileError, SealError, OSError) as e:
        print(f"reunite keys {args.keys_action}: {e}", file=sys.stderr)
        return 2


async def _rotate(settings: Settings, new: Path) -> int:
    fresh = FileKek.load(new)
    keyring = Keyring([fresh, *keks(settings)])
    database = await open_database(settings, min_size=1, max_size=2)
    try:
        done = await keyring.rotate(database.pool)
    finally:
        await database.close()
    print(f"re-wrapped {done} data keys under KEK {fresh.key_id}")
    print(
        f"now set REUNITE_KEK_FILE={new} in every process, then destroy {kek_path(settings)}"
        " and every backup of it"
    )
    return 0


def run_erase(args: argparse.Namespace, settings: Settings) -> int:
    """`reunite erase PERSON --authority TEXT`."""
    return asyncio.run(_erase(settings, args))


async def _erase(settings: Settings, args: argparse.Namespace) -> int:
    operator = getpass.getuser()
    ordered_by = args.ordered_by if args.ordered_by is not None else operator
    provenance = Provenance(
        actor=operator, role="admin", source="cli: reunite erase", reason=args.authority
    )
    database = await open_database(settings)
    try:
        container = await Container.build(settings, database)
        try:
            result = await container.erasure.erase(
                args.person, args.authority, ordered_by, provenance
            )
        except (UnknownPerson, DomainError) as e:
            print(f"reunite erase: {e}", file=sys.stderr)
            return 2
        finally:
            await container.store.announcements.drain()
    finally:
        await database.close()
    print(
        f"erased the personal data of {args.person} (family {result.stream_id},"
        f" version {result.version}); its data key is destroyed"
    )
    return 0
