"""Running the Node clients of clients/ (npm ci there, as `make test` does) against a server."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

CLIENTS = Path(__file__).parents[2] / "clients"
NODE = shutil.which("node")


async def run_client(script: str, needs: str, url: str, token: str) -> dict[str, Any]:
    """Run clients/`script` against `url` with a bearer token; its last line's JSON summary.
    `needs` is the package under node_modules it cannot run without."""
    assert NODE is not None
    assert (CLIENTS / "node_modules" / needs).is_dir(), (
        "run `make test` (or `npm ci` in clients/) to install the clients"
    )
    process = await asyncio.create_subprocess_exec(
        NODE,
        str(CLIENTS / script),
        url,
        env={**os.environ, "REUNITE_TOKEN": token},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    report = output.decode()
    print(report)  # pytest -s shows each step
    assert process.returncode == 0, report
    summary: dict[str, Any] = json.loads(report.strip().splitlines()[-1])
    summary["report"] = report
    return summary
