"""The peer bench.graphql measures beside Reunite: PostGraphile 4.14 (pinned in
bench/postgraphile/package-lock.json) serving the same read-model tables from the same
database, one Node process, no auth, no audit, no per-role rule.

Query (c) asks it for what Reunite's asks: the first 100 children by id with their status,
age band and facility (child_case's own columns) and their linked parents (a computed
column over parent_case, as Child.parents reads them).
"""

from __future__ import annotations

import getpass
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

HERE = Path(__file__).parent / "postgraphile"
CLI = HERE / "node_modules" / "postgraphile" / "cli.js"

# Child.parents as PostGraphile sees a relation it cannot infer (parent_ids is an array):
# a computed column, `parents` on ChildCase.
PARENTS = """
CREATE OR REPLACE FUNCTION child_case_parents(c child_case) RETURNS SETOF parent_case AS $$
  SELECT p.* FROM parent_case p
   WHERE p.family_id = c.family_id AND p.parent_id = ANY (c.parent_ids)
   ORDER BY p.parent_id
$$ LANGUAGE sql STABLE
"""
PAGE = """{ allChildCases(first: 100, orderBy: CHILD_ID_ASC) { nodes { childId status ageBand
  parents { nodes { parentId name situation } } facilityId facilityName } } }"""


def available() -> str | None:
    """Why the peer cannot run here, or None once its pinned packages are installed."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "Node and npm are not installed"
    if not CLI.exists():
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, capture_output=True, check=False
        )
        if done.returncode != 0:
            return f"npm ci failed: {done.stderr.decode(errors='replace')[-300:]}"
    return None


async def prepare(url: str) -> None:
    """The computed column the peer's query (c) needs, in the benchmark's database."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(PARENTS)
    finally:
        await conn.close()


def node_url(url: str) -> str:
    """The URL as node-postgres reads it: an embedded server's socket directory (a URL
    with no host, `?host=/dir`) given to a host node-postgres then replaces by it."""
    parts = urlsplit(url)
    if parts.hostname:
        return url
    user = parts.username or getpass.getuser()
    return urlunsplit(("postgres", f"{user}@localhost", parts.path, parts.query, ""))


def start(url: str, port: int) -> subprocess.Popen[bytes]:
    """One PostGraphile process on this port (its pid is the Node process's own)."""
    return subprocess.Popen(
        [
            "node",
            str(CLI),
            "--connection",
            node_url(url),
            "--schema",
            "public",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--disable-graphiql",
            "--disable-query-log",
            "--disable-default-mutations",
            "--no-setof-functions-contain-nulls",
        ],
        cwd=HERE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
