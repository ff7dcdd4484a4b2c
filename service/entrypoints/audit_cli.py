"""The auditor's commands: keys, checkpoint, verify, export, verify-bundle and replay.

The `reunite` command line mounts them with add_commands and hands them to run;
`python -m service.entrypoints.audit_cli` runs them alone. Exit status: 0 when everything
holds, 1 when the log or a bundle does not (so `checkpoint` refuses to sign it), 2 when the
command cannot run (no key, unknown family, unreadable file, a database that cannot be
reached or fails).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from uuid import UUID

import asyncpg

from service.entrypoints import replay_cli
from service.eventstore.chain import verify_stream
from service.eventstore.codec import create_mapper
from service.eventstore.records import LogPosition
from service.eventstore.store import EventStore
from service.history.time_travel import TimeTravel
from service.ledger.bundle import (
    Bundle,
    BundleRejected,
    bundle_from_json,
    bundle_to_json,
    kept_from_json,
    kept_to_json,
    verify_bundle,
)
from service.ledger.checkpoints import (
    BATCH_SIZE,
    Checkpoint,
    CheckpointRefused,
    CheckpointTaker,
    all_checkpoints,
    latest_checkpoint,
)
from service.ledger.keys import KeyFileError, KeySettings, generate_keys, load_public_keys
from service.ledger.proofs import ProofError, prove_events, prove_reads
from service.ledger.reads import last_family_read
from service.ledger.verify import place, read_family, verify_log
from service.postgres.database import open_database
from service.settings import Settings

COMMANDS = frozenset(
    {"keys", "checkpoint", "checkpoints", "verify", "export", "verify-bundle", "replay"}
)

Action = Callable[[asyncpg.Pool, argparse.Namespace, KeySettings], Awaitable[int]]


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the audit subcommands on the `reunite` parser."""
    keys = subparsers.add_parser("keys", help="manage the checkpoint signing key")
    generate = keys.add_subparsers(dest="keys_action", required=True).add_parser(
        "generate", help="write signing-key.pem (0600) and verify-key.pem into a directory"
    )
    generate.add_argument("--out", type=Path, required=True, metavar="DIR")
    subparsers.add_parser("checkpoint", help="sign a checkpoint of the log now")
    kept = subparsers.add_parser(
        "checkpoints", help="write every signed checkpoint to a file kept outside the database"
    )
    kept.add_argument("--out", type=Path, required=True, metavar="CHECKPOINTS.json")
    verify = subparsers.add_parser("verify", help="check every hash chain and checkpoint")
    verify.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="events per read")
    verify.add_argument(
        "--checkpoints",
        type=Path,
        metavar="CHECKPOINTS.json",
        help="also check against checkpoints kept outside the database (`reunite checkpoints`)",
    )
    export = subparsers.add_parser("export", help="write a family's evidence bundle")
    export.add_argument("family", type=UUID, metavar="FAMILY")
    export.add_argument("--out", type=Path, required=True, metavar="BUNDLE.json")
    offline = subparsers.add_parser("verify-bundle", help="check a bundle offline, no database")
    offline.add_argument("bundle", type=Path, metavar="BUNDLE.json")
    offline.add_argument("--public-key", type=Path, required=True, metavar="KEY.pem")
    replay_cli.add_command(subparsers)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the audit subcommand args.command (one of COMMANDS); return the exit status."""
    keys = KeySettings.from_env()
    try:
        if args.command == "keys":
            return _generate(args.out)
        if args.command == "verify-bundle":
            return _verify_bundle(args.bundle, args.public_key)
        action = ACTIONS[args.command]
        return asyncio.run(_with_pool(settings, lambda pool: action(pool, args, keys)))
    except (
        KeyFileError,
        ExportError,
        OSError,
        BundleRejected,
        json.JSONDecodeError,
        UnicodeDecodeError,
    ) as e:
        # OSError: a file that cannot be written, or a database that cannot be reached;
        # BundleRejected, bad JSON or bad UTF-8: a checkpoints file that cannot be read.
        print(f"reunite {args.command}: {e}", file=sys.stderr)
        return 2
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as e:
        # The command could not run, which says nothing about whether the log holds.
        print(f"reunite {args.command}: database error: {e}", file=sys.stderr)
        return 2


async def _with_pool(settings: Settings, action: Callable[[asyncpg.Pool], Awaitable[int]]) -> int:
    database = await open_database(settings, min_size=1, max_size=2)
    try:
        return await action(database.pool)
    finally:
        await database.close()


def _generate(out: Path) -> int:
    signing, verifying = generate_keys(out)
    print(f"wrote {signing} (private, keep it secret) and {verifying} (public)")
    print(f"set REUNITE_SIGNING_KEY_FILE={signing} to sign checkpoints")
    return 0


def _taker(pool: asyncpg.Pool, keys: KeySettings) -> CheckpointTaker:
    return CheckpointTaker(pool, keys.signer(), trusted=keys.trusted_keys())


async def _checkpoint(pool: asyncpg.Pool, args: argparse.Namespace, keys: KeySettings) -> int:
    try:
        checkpoint = await _taker(pool, keys).take()
    except CheckpointRefused as e:
        print(f"reunite checkpoint: {e}", file=sys.stderr)
        return 1
    if checkpoint is None:
        print("the log holds no final events yet; nothing to sign")
        return 0
    print(f"{checkpoint}: root {checkpoint.root.hex()}, signed by key {checkpoint.key_id}")
    return 0


async def _verify(pool: asyncpg.Pool, args: argparse.Namespace, keys: KeySettings) -> int:
    trusted = keys.trusted_keys()
    if trusted is None:
        print(
            "note: no REUNITE_VERIFY_KEY_FILE or REUNITE_SIGNING_KEY_FILE; each checkpoint is "
            "checked against the public key stored with it, which proves integrity, not signer",
            file=sys.stderr,
        )
    kept = kept_from_json(json.loads(args.checkpoints.read_text())) if args.checkpoints else []
    report = await verify_log(pool, trusted, args.batch_size, kept)
    print("\n".join(report.lines()))
    return 0 if report.ok else 1


async def _keep(pool: asyncpg.Pool, args: argparse.Namespace, keys: KeySettings) -> int:
    checkpoints = await all_checkpoints(pool)
    args.out.write_text(json.dumps(kept_to_json(checkpoints), indent=2) + "\n")
    print(
        f"wrote {args.out}: {len(checkpoints)} signed checkpoints; keep it apart from the database"
    )
    return 0


async def _export(pool: asyncpg.Pool, args: argparse.Namespace, keys: KeySettings) -> int:
    taker = _taker(pool, keys) if keys.signing_key_file is not None else None
    bundle = await export_bundle(pool, args.family, taker)
    args.out.write_text(json.dumps(bundle_to_json(bundle), indent=2) + "\n")
    checkpoint = bundle.checkpoint
    if not checkpoint.covers_reads:
        reads = "; its reads are left out: the checkpoint does not sign the access log"
    else:
        reads = f"; {len(bundle.reads)} reads of it"
        if not checkpoint.covers_read(await last_family_read(pool, args.family)):
            reads += " (later ones are left out until a checkpoint covers them)"
    print(f"wrote {args.out}: {len(bundle.events)} events, proven against {checkpoint}{reads}")
    return 0


async def _replay(pool: asyncpg.Pool, args: argparse.Namespace, keys: KeySettings) -> int:
    travel = TimeTravel.from_store(EventStore(pool, create_mapper()))
    code, lines = await replay_cli.run_replay(travel, args)
    print("\n".join(lines), file=sys.stdout if code == 0 else sys.stderr)
    return code


ACTIONS: dict[str, Action] = {
    "checkpoint": _checkpoint,
    "checkpoints": _keep,
    "verify": _verify,
    "export": _export,
    "replay": _replay,
}


def _verify_bundle(path: Path, key_file: Path) -> int:
    keys = load_public_keys(key_file)
    if len(keys) != 1:
        raise KeyFileError(f"{key_file} must hold exactly one public key")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        print(f"REJECTED: cannot read {path}: {e}")
        return 1
    try:
        bundle = bundle_from_json(data)
        summary = verify_bundle(bundle, next(iter(keys)))
    except BundleRejected as e:
        print(f"REJECTED: {e}")
        return 1
    print(f"OK: {summary}")
    # Who read the family, each read as proven.
    for proven in bundle.reads:
        r = proven.record
        print(f"read {r.id} at {r.read_at.isoformat()} by {r.subject} ({r.role}): {r.operation}")
    return 0


class ExportError(Exception):
    """The family cannot be exported: unknown, not final yet, or its record does not hold."""


async def export_bundle(
    pool: asyncpg.Pool, family_id: UUID, taker: CheckpointTaker | None
) -> Bundle:
    """The family's bundle, proven against the latest checkpoint; when none covers it, the
    taker (if any) takes one."""
    events = await read_family(pool, family_id)
    if not events:
        raise ExportError(f"no family {family_id} in the log")
    if (broken := verify_stream(events)) is not None:
        raise ExportError(
            f"version {broken.version} (position {broken.position}): {broken.what}; "
            "run `reunite verify`"
        )
    last_read = await last_family_read(pool, family_id)
    checkpoint = await _covering_checkpoint(pool, max(map(place, events)), last_read, taker)
    try:
        proven = await prove_events(pool, family_id, events, checkpoint)
        reads = await prove_reads(pool, family_id, checkpoint)
    except ProofError as e:
        raise ExportError(f"{checkpoint}: {e}; run `reunite verify`") from None
    return Bundle(family_id, tuple(proven), checkpoint, tuple(reads))


async def _covering_checkpoint(
    pool: asyncpg.Pool, last: LogPosition, last_read: int, taker: CheckpointTaker | None
) -> Checkpoint:
    checkpoint = await latest_checkpoint(pool)
    # Reads the latest one does not cover are left out unless a key can take one that does.
    reads_uncovered = checkpoint is not None and not checkpoint.covers_read(last_read)
    if checkpoint is None or not checkpoint.covers(last) or (reads_uncovered and taker is not None):
        if taker is None:
            raise ExportError(
                "no checkpoint covers the family's last event, and no key to take one: "
                "set REUNITE_SIGNING_KEY_FILE"
            )
        try:
            checkpoint = await taker.take()
        except CheckpointRefused as e:
            raise ExportError(str(e)) from None
    if checkpoint is None or not checkpoint.covers(last):
        raise ExportError(
            "the family's last event is not final yet (an older transaction is still "
            "running); retry shortly"
        )
    return checkpoint


def main(argv: Sequence[str] | None = None) -> int:
    """Run the audit commands on their own, as `python -m service.entrypoints.audit_cli`."""
    parser = argparse.ArgumentParser(prog="reunite", description=__doc__)
    add_commands(parser.add_subparsers(dest="command", required=True))
    return run(parser.parse_args(argv), Settings.from_env())


if __name__ == "__main__":
    sys.exit(main())
