"""The benchmarks' HTTP/1.1 load: keep-alive clients driven by one asyncio process, with
httptools parsing the responses (a general-purpose client spends more CPU per request than
a server's cheapest answer on the same cores, so it would measure itself), and the CPU a
server process spends, read from /proc."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import httptools

CLIENTS = 50


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process (and its waited-for children) has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def server_pids(url: str) -> list[int]:
    """The processes of the PostgreSQL server whose socket directory (its data directory,
    for an embedded server) the URL names: the postmaster and its children; none for a
    server reached over TCP, whose processes may serve others too."""
    found = parse_qs(urlsplit(url).query).get("host")
    if not found or not found[0].startswith("/"):
        return []
    parents: dict[int, int] = {}
    postmasters = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            parents[int(proc.name)] = int(stat[1])
            if found[0].encode() in (proc / "cmdline").read_bytes():
                postmasters.append(int(proc.name))
        except (OSError, IndexError, ValueError):
            continue
    return [pid for pid, ppid in parents.items() if pid in postmasters or ppid in postmasters]


def database_cpu(url: str) -> float:
    """CPU the server's processes have used (with those of its backends that ended)."""
    total = 0.0
    for pid in server_pids(url):
        try:
            total += cpu_seconds(pid)
        except OSError:
            continue
    return total


class KeepAlive(asyncio.Protocol):
    """One client's connection: send a request, await its whole response, repeat."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.body: list[bytes] = []
        self.answer: asyncio.Future[tuple[int, bytes]] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        assert self.answer is not None
        self.answer.set_result((self.parser.get_status_code(), b"".join(self.body)))
        self.body = []

    def connection_lost(self, exc: Exception | None) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(ConnectionError(f"server closed the connection: {exc}"))

    async def send(self, request: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self.answer = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.answer


def post(port: int, token: str, body: dict[str, Any], path: str = "/graphql") -> bytes:
    """The raw HTTP/1.1 request every client sends."""
    data = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


async def hammer(
    port: int, token: str, body: dict[str, Any], each: int, path: str = "/graphql"
) -> tuple[float, list[float]]:
    """CLIENTS clients, each sending `each` requests back to back; req/s and latencies."""
    loop = asyncio.get_running_loop()
    request = post(port, token, body, path)
    latencies: list[float] = []
    clients = [
        (await loop.create_connection(KeepAlive, "127.0.0.1", port))[1] for _ in range(CLIENTS)
    ]

    async def one_client(client: KeepAlive) -> None:
        for _ in range(each):
            started = time.perf_counter()
            status, answer = await client.send(request)
            latencies.append(time.perf_counter() - started)
            if status != 200 or b'"errors"' in answer:
                raise SystemExit(f"request failed: {answer[:300]!r}")

    try:
        await asyncio.gather(*(one_client(c) for c in clients[:2]))  # warm-up
        latencies.clear()
        started = time.perf_counter()
        await asyncio.gather(*(one_client(c) for c in clients))
        elapsed = time.perf_counter() - started
    finally:
        for client in clients:
            assert client.transport is not None
            client.transport.close()
    return CLIENTS * each / elapsed, latencies


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]
