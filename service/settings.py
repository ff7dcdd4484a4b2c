"""The one settings object, read from the environment."""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_data_dir


@dataclass(frozen=True)
class Settings:
    """Configuration of one Reunite process."""

    database_url: str | None = None
    # A streaming replica of that server (a hot standby): read-model queries go there.
    replica_url: str | None = None
    data_dir: Path = Path(user_data_dir("reunite"))
    host: str = "127.0.0.1"
    port: int = 8000
    dev: bool = False
    run_projections: bool = True
    freshness_timeout: float = 5.0
    max_page_size: int = 500
    response_cache_size: int = 256
    # Covered read-model queries answered by compiled plans (schema/read_plans.py).
    read_plans: bool = True
    # Request sizes refused before GraphQL parses anything.
    max_body_bytes: int = 256 * 1024
    max_query_chars: int = 20_000
    max_variables_bytes: int = 64 * 1024
    max_operation_name_chars: int = 100
    # Browser apps on other origins (service/entrypoints/cors.py): the origins allowed to
    # call /graphql and open its websocket (development adds any localhost origin), whether
    # they may send cookies, and request headers allowed beyond the defaults.
    cors_origins: tuple[str, ...] = ()
    cors_credentials: bool = False
    cors_headers: tuple[str, ...] = ()
    # Trusted documents (schema/persisted.py): a manifest of the operations
    # clients were built with, and whether only those are served (recommended in production).
    persisted_documents: Path | None = None
    persisted_only: bool = False
    # The auditor console at /console (service/entrypoints/console.py); always on with dev.
    console: bool = False
    checkpoint_interval: float = 300.0
    # Every wait on the database is bounded (seconds; 0 turns a limit off).
    statement_timeout: float = 30.0
    acquire_timeout: float = 10.0
    database_wait: float = 60.0  # how long `reunite serve` waits for the database to come up
    # The role the server's pool acts as (migration 0009); None runs it as the owner.
    database_role: str | None = "reunite_app"
    jwt_secret: str | None = None
    # The secret behind analysts' cell keys (service.access.cell_key_secret); None: one
    # generated into the data directory. Never change it once analysts have figures.
    disclosure_secret: str | None = None
    jwt_public_key_file: Path | None = None
    jwks_url: str | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    # Websocket sessions, per server process: each ends when its token expires.
    max_connections_per_subject: int = 8
    max_subscriptions_per_connection: int = 16
    # Cost limits (schema.cost): budgets per request by role, overriding the defaults, e.g.
    # (("analyst", 1500),); and per subject, expensive requests at once and a minute.
    cost_budgets: tuple[tuple[str, int], ...] = ()
    expensive_concurrency: int = 4
    expensive_per_minute: int = 30
    report_cache_size: int = 256  # sealed court reports kept (service.history.kept_reports)
    # Months of the access log kept in the hot database (this one included); older ones are
    # what `reunite access-log archive` moves out (ADR 0015).
    access_log_hot_months: int = 13
    # MiB held in memory, at most, as estimated from what they hold: loaded families kept for
    # the next command, and the cases projection's kept folds.
    family_cache_mib: int = 32
    fold_cache_mib: int = 32
    # Personal data keys held unwrapped (service.eventstore.keyring): about 400 B each.
    person_keys: int = 65_536
    # A fleet (service/entrypoints/fleet.py): whether this process takes signed checkpoints,
    # and how often one that runs projections tries to take those no process owns.
    run_checkpoints: bool = True
    claim_poll: float = 1.0
    # Prometheus metrics (service/entrypoints/metrics.py): a scrape token accepted besides an
    # admin's, and a port of their own (unset: /metrics on the API port).
    metrics_token: str | None = None
    metrics_port: int | None = None
    # Log records as JSON lines (with the request id) rather than plain text.
    log_json: bool = False
    # OpenTelemetry exporters ("otlp", "console"); none: tracing off, no provider installed
    # (service/entrypoints/tracing.py).
    tracing: tuple[str, ...] = ()
    # Personal data (service.eventstore.keyring): the key-encryption key's file (unset: one
    # made on first use in the data directory), the previous KEK files still read during a
    # rotation, and whether new personal data is sealed (off: written clear, as before).
    kek_file: Path | None = None
    previous_kek_files: tuple[Path, ...] = ()
    seal_personal_data: bool = True

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read REUNITE_* variables and DATABASE_URL; unset ones keep their defaults."""
        env = dict(os.environ if env is None else env)
        for old, new in RENAMED.items():
            if old in env:  # else the old name would be ignored without a word
                raise ValueError(f"{old} is now {new}: set that instead")
        defaults = cls()
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            replica_url=env.get("REUNITE_REPLICA_URL") or None,
            data_dir=Path(env.get("REUNITE_DATA_DIR", defaults.data_dir)),
            host=env.get("REUNITE_HOST", defaults.host),
            port=int(env.get("REUNITE_PORT", defaults.port)),
            dev=env.get("REUNITE_DEV", "") in ("1", "true", "yes"),
            run_projections=env.get("REUNITE_RUN_PROJECTIONS", "1") not in ("0", "false", "no"),
            freshness_timeout=float(
                env.get("REUNITE_FRESHNESS_TIMEOUT", defaults.freshness_timeout)
            ),
            max_page_size=int(env.get("REUNITE_MAX_PAGE_SIZE", defaults.max_page_size)),
            response_cache_size=int(
                env.get("REUNITE_RESPONSE_CACHE_SIZE", defaults.response_cache_size)
            ),
            read_plans=_flag(env.get("REUNITE_READ_PLANS", "1")),
            max_body_bytes=int(env.get("REUNITE_MAX_BODY_BYTES", defaults.max_body_bytes)),
            max_query_chars=int(env.get("REUNITE_MAX_QUERY_CHARS", defaults.max_query_chars)),
            max_variables_bytes=int(
                env.get("REUNITE_MAX_VARIABLES_BYTES", defaults.max_variables_bytes)
            ),
            max_operation_name_chars=int(
                env.get("REUNITE_MAX_OPERATION_NAME_CHARS", defaults.max_operation_name_chars)
            ),
            cors_origins=_names(env.get("REUNITE_CORS_ORIGINS", "")),
            cors_credentials=_flag(env.get("REUNITE_CORS_CREDENTIALS", "")),
            cors_headers=_names(env.get("REUNITE_CORS_HEADERS", "")),
            persisted_documents=_path(env.get("REUNITE_PERSISTED_DOCUMENTS")),
            persisted_only=_flag(env.get("REUNITE_PERSISTED_ONLY", "")),
            console=_flag(env.get("REUNITE_CONSOLE", "")),
            checkpoint_interval=float(
                env.get("REUNITE_CHECKPOINT_INTERVAL", defaults.checkpoint_interval)
            ),
            statement_timeout=float(
                env.get("REUNITE_STATEMENT_TIMEOUT", defaults.statement_timeout)
            ),
            acquire_timeout=float(env.get("REUNITE_ACQUIRE_TIMEOUT", defaults.acquire_timeout)),
            database_wait=float(env.get("REUNITE_DATABASE_WAIT", defaults.database_wait)),
            database_role=env.get("REUNITE_DATABASE_ROLE", defaults.database_role) or None,
            jwt_secret=env.get("REUNITE_JWT_SECRET") or None,
            disclosure_secret=env.get("REUNITE_DISCLOSURE_SECRET") or None,
            jwt_public_key_file=_path(env.get("REUNITE_JWT_PUBLIC_KEY_FILE")),
            jwks_url=env.get("REUNITE_JWKS_URL") or None,
            jwt_audience=env.get("REUNITE_JWT_AUDIENCE") or None,
            jwt_issuer=env.get("REUNITE_JWT_ISSUER") or None,
            max_connections_per_subject=int(
                env.get("REUNITE_MAX_CONNECTIONS_PER_SUBJECT", defaults.max_connections_per_subject)
            ),
            max_subscriptions_per_connection=int(
                env.get(
                    "REUNITE_MAX_SUBSCRIPTIONS_PER_CONNECTION",
                    defaults.max_subscriptions_per_connection,
                )
            ),
            cost_budgets=_budgets(env.get("REUNITE_COST_BUDGETS", "")),
            expensive_concurrency=int(
                env.get("REUNITE_EXPENSIVE_CONCURRENCY", defaults.expensive_concurrency)
            ),
            expensive_per_minute=int(
                env.get("REUNITE_EXPENSIVE_PER_MINUTE", defaults.expensive_per_minute)
            ),
            report_cache_size=int(env.get("REUNITE_REPORT_CACHE_SIZE", defaults.report_cache_size)),
            access_log_hot_months=int(
                env.get("REUNITE_ACCESS_LOG_HOT_MONTHS", defaults.access_log_hot_months)
            ),
            family_cache_mib=int(env.get("REUNITE_FAMILY_CACHE_MIB", defaults.family_cache_mib)),
            fold_cache_mib=int(env.get("REUNITE_FOLD_CACHE_MIB", defaults.fold_cache_mib)),
            person_keys=int(env.get("REUNITE_PERSON_KEYS", defaults.person_keys)),
            run_checkpoints=env.get("REUNITE_RUN_CHECKPOINTS", "1") not in ("0", "false", "no"),
            claim_poll=float(env.get("REUNITE_CLAIM_POLL", defaults.claim_poll)),
            metrics_token=env.get("REUNITE_METRICS_TOKEN") or None,
            metrics_port=int(port) if (port := env.get("REUNITE_METRICS_PORT")) else None,
            log_json=_flag(env.get("REUNITE_LOG_JSON", "")),
            tracing=_tracing(env),
            kek_file=_path(env.get("REUNITE_KEK_FILE")),
            previous_kek_files=tuple(map(Path, _names(env.get("REUNITE_PREVIOUS_KEK_FILES", "")))),
            seal_personal_data=_flag(env.get("REUNITE_SEAL_PERSONAL_DATA", "1")),
        )

    def private_data_dir(self) -> Path:
        """The data directory (secrets, the embedded database, reports), its owner's alone."""
        return private_directory(self.data_dir)


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


RENAMED = {  # old setting: its successor
    "REUNITE_FAMILY_CACHE_EVENTS": "REUNITE_FAMILY_CACHE_MIB",
    "REUNITE_FOLD_CACHE_EVENTS": "REUNITE_FOLD_CACHE_MIB",
}

TRACE_EXPORTERS = ("otlp", "console")


def _tracing(env: dict[str, str]) -> tuple[str, ...]:
    """The span exporters to run: REUNITE_TRACING (otlp, console, both comma-separated, 1 for
    OTEL_TRACES_EXPORTER's or otlp, 0 for none); unset, OpenTelemetry's own variables:
    OTEL_TRACES_EXPORTER, or otlp when an OTLP endpoint is set. OTEL_SDK_DISABLED turns off."""
    if _flag(env.get("OTEL_SDK_DISABLED", "")):
        return ()
    said = env.get("REUNITE_TRACING", "").strip().lower()
    standard = _names(env.get("OTEL_TRACES_EXPORTER", "").lower())
    if said in ("0", "false", "no", "off", "none"):
        return ()
    if said in ("1", "true", "yes", "on"):
        chosen = standard or ("otlp",)
    elif said:
        chosen = _names(said)
    elif standard:
        chosen = standard
    elif env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        chosen = ("otlp",)
    else:
        return ()
    chosen = tuple(name for name in chosen if name != "none")
    unknown = [name for name in chosen if name not in TRACE_EXPORTERS]
    if unknown:
        raise ValueError(f"tracing: unknown span exporter(s) {unknown}; known: otlp, console")
    return chosen


def _names(value: str) -> tuple[str, ...]:
    """'a, b c' as ('a', 'b', 'c'): items separated by commas or spaces."""
    return tuple(item for item in value.replace(",", " ").split() if item)


def _budgets(value: str) -> tuple[tuple[str, int], ...]:
    """'analyst=1500,caseworker=3000' as (role, budget) pairs."""
    pairs = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        role, sep, budget = item.partition("=")
        if not sep or not budget.strip().isdigit():
            raise ValueError(f"REUNITE_COST_BUDGETS: expected role=budget, got {item!r}")
        pairs.append((role.strip(), int(budget)))
    return tuple(pairs)


def private_directory(path: Path) -> Path:
    """A directory only its owner may list or write (made 0700), narrowed if it was made
    wider. Others keep the right to pass through if they had it (0711): run as root, the
    embedded server's own user must reach its data inside, and opens that way."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777
    if mode & 0o066:
        path.chmod(mode & ~0o066)  # made by an older version, by hand, or opened to list
    return path


def write_private(path: Path, text: str, *, replace: bool = True) -> bool:
    """Write a file only its owner may read, atomically: never partial, never readable by
    others, not even for a moment. With replace=False an existing file is kept (False)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if replace:
            os.replace(temp, path)
            return True
        try:
            os.link(temp, path)  # fails if another process made the file first
        except FileExistsError:
            return False
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
