"""The `reunite` command line: serve, migrate, projections, tokens."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
from collections.abc import Awaitable, Callable, Sequence
from uuid import UUID

import asyncpg
import uvicorn

from projections import parking
from projections.rebuild import Rebuilder
from projections.retry import retry as retry_parked
from service.access.auth import MAX_TTL, PRIVILEGED_TTL, Authenticator, Role, SecretRefused
from service.application.container import Container
from service.entrypoints import audit_cli, fleet, personal_cli
from service.entrypoints.app import create_app
from service.entrypoints.logs import configure_logging
from service.orr_import import command as orr_command
from service.postgres.database import open_database, resolve_url
from service.postgres.migrate import migrate
from service.settings import Settings

GRACE = 30  # seconds in-flight requests may take to finish after SIGTERM


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reunite", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the GraphQL service")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument(
        "--dev", action="store_true", help="enable introspection and the GraphiQL IDE"
    )
    serve.add_argument(
        "--no-projections",
        action="store_true",
        help="do not run projection workers in this process",
    )
    serve.add_argument(
        "--demo", action="store_true", help="first import the ORR 2018 list, unless already done"
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="N API processes on the port that neither project nor checkpoint"
        " (run `reunite project` beside them); default: one process doing everything",
    )
    commands.add_parser(
        "project",
        help="only run projections and signed checkpoints (one owner per projection; a"
        " standby takes over)",
    )
    commands.add_parser("migrate", help="apply pending database migrations")
    projections = commands.add_parser("projections", help="inspect and rebuild read models")
    sub = projections.add_subparsers(dest="action", required=True)
    sub.add_parser("status", help="each read model's checkpoint, lag and parked events")
    sub.add_parser("parked", help="the families each read model parked, and why")
    retry = sub.add_parser("retry", help="apply parked events again (after a fix); unpark")
    retry.add_argument("family", nargs="?", type=UUID, help="one family (default: every one)")
    rebuild = sub.add_parser("rebuild", help="rebuild a read model from the log")
    rebuild.add_argument("name")
    token = commands.add_parser("token", help="mint a development token (HS256)")
    token.add_argument("--sub", required=True)
    token.add_argument("--role", required=True, choices=[r.value for r in Role])
    token.add_argument(
        "--ttl",
        type=int,
        help=f"lifetime in seconds (default 8 h; at most {MAX_TTL // 3600} h, admin and"
        f" auditor {PRIVILEGED_TTL[Role.ADMIN] // 3600} h)",
    )
    audit_cli.add_commands(commands)
    orr_command.add_commands(commands)
    personal_cli.add_erase_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    configure_logging()  # every command's background work (checkpoints, runner) logs
    try:
        return run(args, Settings.from_env())
    except SecretRefused as e:
        print(f"reunite: {e}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace, settings: Settings) -> int:
    """The command the arguments name."""
    if args.command in audit_cli.COMMANDS:
        return audit_cli.run(args, settings)
    if args.command == "serve":
        return serve(settings, args)
    if args.command == "project":
        return asyncio.run(fleet.project(settings))
    if args.command in orr_command.COMMANDS:
        return asyncio.run(with_container(settings, lambda c: orr_command.import_command(c, args)))
    if args.command == "token":
        return mint(settings, args)
    if args.command == "erase":
        return personal_cli.run_erase(args, settings)
    if args.command == "migrate":
        return asyncio.run(run_migrate(settings))
    if args.action == "status":
        return asyncio.run(with_container(settings, print_status))
    if args.action == "parked":
        return asyncio.run(with_container(settings, print_parked))
    if args.action == "retry":
        return asyncio.run(with_container(settings, lambda c: retry(c, args.family)))
    return asyncio.run(with_container(settings, lambda c: rebuild(c, args.name)))


def serve(settings: Settings, args: argparse.Namespace) -> int:
    """Run uvicorn in this process until interrupted."""
    settings = dataclasses.replace(
        settings,
        host=args.host or settings.host,
        port=args.port or settings.port,
        dev=args.dev or settings.dev,
        run_projections=settings.run_projections and not args.no_projections,
    )
    if args.demo:
        # Conflicts are reported and the service still starts: the rest of the data is in.
        asyncio.run(with_container(settings, orr_command.import_demo))
    if settings.dev:
        print_dev_access(settings)
    if args.workers > 1:
        fleet.serve_workers(settings, args.workers)
        return 0
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        # A websocket message over the body limit is refused (1009) as it arrives, not once
        # uvicorn's default 16 MiB is buffered; the app refuses it too, under any server.
        ws_max_size=settings.max_body_bytes,
        # SIGTERM: in-flight requests get this long to finish before they are cancelled.
        timeout_graceful_shutdown=GRACE,
        # JSON lines: uvicorn's records go to the root's handler too, as JSON.
        log_config=None if settings.log_json else uvicorn.config.LOGGING_CONFIG,
    )
    fleet.GoingAwayServer(config, app).run()
    return 0


def mint(settings: Settings, args: argparse.Namespace) -> int:
    """Print a token for --sub and --role, refusing a --ttl beyond the role's cap."""
    try:
        print(Authenticator(settings).mint(args.sub, Role(args.role), args.ttl))
    except ValueError as e:
        print(f"reunite token: {e}", file=sys.stderr)
        return 2
    return 0


def print_dev_access(settings: Settings) -> None:
    """Where the API is, and a development token for each role to call it with."""
    print(f"GraphQL: http://{settings.host}:{settings.port}/graphql")
    print(f"Console: http://{settings.host}:{settings.port}/console/ (sign in with a token)")
    authenticator = Authenticator(settings)
    for role in Role:
        print(f"  {role.value:<10} Bearer {authenticator.mint(f'dev-{role.value}', role)}")
    sys.stdout.flush()


async def run_migrate(settings: Settings) -> int:
    url, embedded = await resolve_url(settings)
    try:
        conn = await asyncpg.connect(url)
        try:
            applied = await migrate(conn)
        finally:
            await conn.close()
    finally:
        if embedded is not None:
            await embedded.stop()
    print("applied: " + ", ".join(applied) if applied else "database is up to date")
    return 0


async def with_container(settings: Settings, action: Callable[[Container], Awaitable[int]]) -> int:
    database = await open_database(settings)
    try:
        container = await Container.build(settings, database)
        try:
            return await action(container)
        finally:
            await container.store.announcements.drain()
    finally:
        await database.close()


async def print_status(container: Container) -> int:
    heading = ("projection", "position", "applied", "lag", "parked")
    print("{:<20} {:>10} {:>10} {:>8} {:>8}  last failure".format(*heading))
    for s in await container.runner.status():
        p = s.parked
        failure = f"{p.last_error_at:%Y-%m-%d %H:%M:%S%z} {p.last_error}" if p.last_error_at else ""
        print(
            f"{s.name:<20} {s.position:>10} {s.events_applied:>10} {s.lag:>8} {p.events:>8}"
            f"  {failure}"
        )
    return 0


async def print_parked(container: Container) -> int:
    parked = await parking.parked_streams(container.database.pool)
    if not parked:
        print("nothing parked")
    for p in parked:
        print(
            f"{p.projection} family {p.family_id}: parked since {p.since:%Y-%m-%d %H:%M:%S%z}"
            f" at version {p.version} (position {p.position}, {p.topic}),"
            f" {p.events} event(s) waiting\n  {p.error}"
        )
    return 0


async def retry(container: Container, family: UUID | None) -> int:
    retried = await retry_parked(container.runner, family)
    if not retried:
        print("nothing parked" + (f" for family {family}" if family else ""))
    for r in retried:
        outcome = "unparked" if not r.still_parked else f"{r.still_parked} still parked: {r.error}"
        print(f"{r.projection} family {r.family_id}: {r.applied} applied, {outcome}")
    return 1 if any(r.still_parked for r in retried) else 0


async def rebuild(container: Container, name: str) -> int:
    if name not in container.runner.projections:
        known = ", ".join(container.runner.projections)
        print(f"unknown projection {name!r}; known: {known}", file=sys.stderr)
        return 2
    applied = await Rebuilder(container.runner, name).run()
    print(f"rebuilt {name} from {applied} events")
    return 0


if __name__ == "__main__":
    sys.exit(main())
