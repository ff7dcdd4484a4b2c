"""The one settings object, read from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_data_dir


@dataclass(frozen=True)
class Settings:
    """Configuration of one Reunite process."""

    database_url: str | None = None
    data_dir: Path = Path(user_data_dir("reunite"))
    host: str = "127.0.0.1"
    port: int = 8000
    dev: bool = False
    run_projections: bool = True
    freshness_timeout: float = 5.0
    max_page_size: int = 500
    response_cache_size: int = 256
    checkpoint_interval: float = 300.0
    # Every wait on the database is bounded (seconds; 0 turns a limit off).
    statement_timeout: float = 30.0
    acquire_timeout: float = 10.0
    database_wait: float = 60.0  # how long `reunite serve` waits for the database to come up
    jwt_secret: str | None = None
    jwt_public_key_file: Path | None = None
    jwks_url: str | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read REUNITE_* variables and DATABASE_URL; unset ones keep their defaults."""
        env = dict(os.environ if env is None else env)
        defaults = cls()
        return cls(
            database_url=env.get("DATABASE_URL") or None,
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
            checkpoint_interval=float(
                env.get("REUNITE_CHECKPOINT_INTERVAL", defaults.checkpoint_interval)
            ),
            statement_timeout=float(
                env.get("REUNITE_STATEMENT_TIMEOUT", defaults.statement_timeout)
            ),
            acquire_timeout=float(env.get("REUNITE_ACQUIRE_TIMEOUT", defaults.acquire_timeout)),
            database_wait=float(env.get("REUNITE_DATABASE_WAIT", defaults.database_wait)),
            jwt_secret=env.get("REUNITE_JWT_SECRET") or None,
            jwt_public_key_file=_path(env.get("REUNITE_JWT_PUBLIC_KEY_FILE")),
            jwks_url=env.get("REUNITE_JWKS_URL") or None,
            jwt_audience=env.get("REUNITE_JWT_AUDIENCE") or None,
            jwt_issuer=env.get("REUNITE_JWT_ISSUER") or None,
        )


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None
