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
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import UUID

import asyncpg

from service.application.personal_data import personal_store
from service.entrypoints import personal_cli, replay_cli
from service.history.time_travel import TimeTravel
from service.ledger.archive import (
    ArchiveError,
    RecordedArchive,
    archive_fault,
    archive_month,
    hot_months,
    is_archive,
    parse_month,
    reads_of,
    recorded_archives,
    verify_archive,
)
from service.ledger.bundle import (
    BundleRejected,
    bundle_from_json,
    bundle_to_json,
    kept_from_json,
    kept_to_json,
    verify_bundle,
)
from service.ledger.checkpoints import (
    BATCH_SIZE,
    CheckpointRefused,
    CheckpointTaker,
    all_checkpoints,
)
from service.ledger.export import ExportError, export_bundle
from service.ledger.keys import KeyFileError, KeySettings, generate_keys, load_public_keys
from service.ledger.reads import last_family_read
from service.ledger.verify import verify_log
from service.postgres.database import open_database
from service.settings import Settings

COMMANDS = frozenset(
    {
        "keys",
        "checkpoint",
        "checkpoints",
        "verify",
        "export",
        "verify-bundle",
        "replay",
        "access-log",
    }
)

Action = Callable[[asyncpg.Pool, argparse.Namespace, KeySettings], Awaitable[int]]


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the audit subcommands on the `reunite` parser."""
    keys = subparsers.add_parser("keys", help="manage the checkpoint signing key")
    key_actions = keys.add_subparsers(dest="keys_action", required=True)
    generate = key_actions.add_parser(
        "generate", help="write signing-key.pem (0600) and verify-key.pem into a directory"
    )
    generate.add_argument("--out", type=Path, required=True, metavar="DIR")
    personal_cli.add_key_commands(key_actions)
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
    verify.add_argument(
        "--archive",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="an archived access-log month's file, checked against the digest recorded",
    )
    _add_access_log(subparsers)
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
        if args.command == "keys" and args.keys_action != "generate":
            return personal_cli.run_keys(args, settings)
        if args.command == "keys":
            return _generate(args.out)
        if args.command == "verify-bundle":
            return _verify_bundle(args.bundle, args.public_key)
        if args.command == "access-log" and args.access_action == "search":
            return _search_archive(args.file, args.family, args.public_key)
        if args.command == "access-log":
            return asyncio.run(_with_pool(settings, lambda pool: _archive(pool, args, settings)))
        if args.command == "replay":
            return asyncio.run(_with_pool(settings, lambda pool: _replay(pool, args, settings)))
        action = ACTIONS[args.command]
        return asyncio.run(_with_pool(settings, lambda pool: action(pool, args, keys)))
    except (
        KeyFileError,
        ExportError,
        OSError,
        BundleRejected,
        ArchiveError,
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
    archives_hold = _check_archives(await recorded_archives(pool), args.archive, trusted)
    return 0 if report.ok and archives_hold else 1


def _check_archives(
    recorded: Mapping[str, RecordedArchive], files: Sequence[Path], trusted: frozenset[bytes] | None
) -> bool:
    """Each archive file verified offline and held against what the database recorded of its
    month (its digest, its reads' hashes); the archived months no file was given for named."""
    unchecked = set(recorded)
    holds = True
    for path in files:
        try:
            archived = verify_archive(path.read_bytes(), _one_key(trusted))
        except (OSError, BundleRejected) as e:
            print(f"BROKEN: archive {path}: {e}")
            holds = False
            continue
        month = archived.month.strftime("%Y-%m")
        if (fault := archive_fault(archived, recorded.get(month))) is not None:
            print(f"BROKEN: archive {path}: {fault}")
            holds = False
        else:
            unchecked.discard(month)
            print(f"OK: archive {path}: {archived}")
    for month in sorted(unchecked) if files else ():
        print(f"note: access-log month {month} is archived; its file was not given")
    return holds


def _one_key(trusted: frozenset[bytes] | None) -> bytes | None:
    return next(iter(trusted)) if trusted is not None and len(trusted) == 1 else None


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


async def _replay(pool: asyncpg.Pool, args: argparse.Namespace, settings: Settings) -> int:
    # Personal data opens with the configured KEK; an erased person's reads as erased.
    travel = TimeTravel.from_store(await personal_store(pool, settings))
    code, lines = await replay_cli.run_replay(travel, args)
    print("\n".join(lines), file=sys.stdout if code == 0 else sys.stderr)
    return code


ACTIONS: dict[str, Action] = {
    "checkpoint": _checkpoint,
    "checkpoints": _keep,
    "verify": _verify,
    "export": _export,
}


def _verify_bundle(path: Path, key_file: Path) -> int:
    keys = load_public_keys(key_file)
    if len(keys) != 1:
        raise KeyFileError(f"{key_file} must hold exactly one public key")
    if path.exists() and is_archive(path.read_bytes()[:2]):
        try:
            archived = verify_archive(path.read_bytes(), next(iter(keys)))
        except BundleRejected as e:
            print(f"REJECTED: {e}")
            return 1
        print(f"OK: {archived}")
        return 0
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


def _add_access_log(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    access = subparsers.add_parser("access-log", help="archive and search access-log months")
    actions = access.add_subparsers(dest="access_action", required=True)
    archive = actions.add_parser(
        "archive", help="archive months to files, verify them, then drop them from the database"
    )
    archive.add_argument(
        "--before",
        type=parse_month,
        metavar="YYYY-MM",
        help="archive the months before this one (default: those older than "
        "REUNITE_ACCESS_LOG_HOT_MONTHS)",
    )
    archive.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="the file to write; with several months, a path holding {month}",
    )
    search = actions.add_parser("search", help="who read a family in an archive file (offline)")
    search.add_argument("file", type=Path, metavar="FILE")
    search.add_argument("--family", type=UUID, required=True, metavar="FAMILY")
    search.add_argument("--public-key", type=Path, required=True, metavar="KEY.pem")


async def _archive(pool: asyncpg.Pool, args: argparse.Namespace, settings: Settings) -> int:
    before = args.before or _first_hot_month(settings.access_log_hot_months)
    months = [m for m in await hot_months(pool) if m < before]
    if len(months) > 1 and "{month}" not in args.out:
        raise ArchiveError(f"{len(months)} months to archive: --out must hold {{month}}")
    trusted = KeySettings.from_env().trusted_keys()
    for month in months:
        out = Path(args.out.replace("{month}", month.strftime("%Y-%m")))
        archived = await archive_month(pool, month, out, trusted)
        print(f"wrote {out}: {archived}; its partition was dropped")
    if not months:
        print(f"no access-log month before {before:%Y-%m} is in the database")
    return 0


def _first_hot_month(hot_months: int) -> date:
    today = datetime.now(UTC)
    index = today.year * 12 + today.month - 1 - max(hot_months - 1, 0)
    return date(index // 12, index % 12 + 1, 1)


def _search_archive(path: Path, family: UUID, key_file: Path) -> int:
    keys = load_public_keys(key_file)
    if len(keys) != 1:
        raise KeyFileError(f"{key_file} must hold exactly one public key")
    try:
        archived = verify_archive(path.read_bytes(), next(iter(keys)))
    except BundleRejected as e:
        print(f"REJECTED: {e}")
        return 1
    print(f"OK: {archived}")
    for r in reads_of(archived, family):
        print(f"read {r.id} at {r.read_at.isoformat()} by {r.subject} ({r.role}): {r.operation}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the audit commands on their own, as `python -m service.entrypoints.audit_cli`."""
    parser = argparse.ArgumentParser(prog="reunite", description=__doc__)
    add_commands(parser.add_subparsers(dest="command", required=True))
    return run(parser.parse_args(argv), Settings.from_env())


if __name__ == "__main__":
    sys.exit(main())
