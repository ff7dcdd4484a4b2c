"""Where a cache miss's CPU goes, in one process, without HTTP: queries (b) and (c) of
bench.graphql executed field by field, then answered by their compiled plans
(schema/read_plans.py), rounds alternating, with the collector's share of the CPU
(gc.callbacks) and how many collections each request causes. The read audit is written
as it is for every answer.

    .venv/bin/python -m bench.plans [--runs 3] [--scale 1.0]
"""

from __future__ import annotations

import gc
import time
from typing import Any

import uvloop

from bench.common import median, parse_args, print_table
from bench.graphql import PAGE, TIMELINE, demo_database
from schema.build import create_schema
from schema.context import Context
from schema.loaders import Loaders
from schema.read_plans import PlanCache
from service.access.auth import Identity, Role
from service.application.container import Container

CALLER = Identity("bench", Role.CASEWORKER)


class Collector:
    """The CPU the cyclic garbage collector spends, and its collections, while enabled."""

    def __init__(self) -> None:
        self.spent = 0.0
        self.collections = 0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            self.spent += time.process_time() - self._started
            self.collections += 1


async def one_round(
    container: Container, planned: bool, body: dict[str, Any], requests: int
) -> tuple[float, float, float]:
    """CPU ms per request, the collector's share of it, and collections per request."""
    plans = PlanCache()
    schema = create_schema(plans=plans)

    async def ask() -> None:
        context = Context(
            container,
            None,
            None,
            CALLER,
            Loaders.create(container.database.read_pool),
            read_plans=planned,
        )
        result = await schema.execute(
            body["query"], variable_values=body.get("variables"), context_value=context
        )
        assert not result.errors, result.errors

    for _ in range(10):  # warm: documents, validation, plans compiled
        await ask()
    collector = Collector()
    gc.callbacks.append(collector)
    started = time.process_time()
    try:
        for _ in range(requests):
            await ask()
    finally:
        spent = time.process_time() - started
        gc.callbacks.remove(collector)
    if planned and plans.answered < requests:
        raise SystemExit(f"a plan answered {plans.answered} of {requests} requests")
    return spent / requests * 1000, collector.spent / spent, collector.collections / requests


async def main() -> None:
    args = parse_args(__doc__ or "", None)
    requests = max(20, int(200 * args.scale))
    async with demo_database(args.wipe, args.scale, args.seed) as (_, container, family):
        cases: dict[str, dict[str, Any]] = {
            "(b) timeline, 30 events": {"query": TIMELINE, "variables": {"id": str(family)}},
            "(c) 100 children + parents + facility": {"query": PAGE},
        }
        found: dict[tuple[str, bool], list[tuple[float, float, float]]] = {}
        for run in range(args.runs):
            for name, body in cases.items():
                for planned in (False, True) if run % 2 == 0 else (True, False):
                    sample = await one_round(container, planned, body, requests)
                    found.setdefault((name, planned), []).append(sample)
    rows = []
    for (name, planned), samples in found.items():
        cpu, share, collections = (median(s[i] for s in samples) for i in range(3))
        how = "plan" if planned else "executed"
        rows.append([name, how, f"{cpu:.2f}", f"{share * 100:.0f} %", f"{collections:.2f}"])
    print(f"\n{requests} requests a round, in process, median of {args.runs} rounds")
    print_table(["request", "path", "CPU ms/req", "collector's share", "collections/req"], rows)


if __name__ == "__main__":
    uvloop.run(main())
