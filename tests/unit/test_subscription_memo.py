"""A subscription's per-event executors must not share graphql-core's subfield memo."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from graphql import Executor as CoreExecutor
from graphql import build_schema, parse
from graphql.execution import map_source_to_response_event

from schema.build import create_schema
from schema.execution import Executor

SCHEMA = build_schema(
    """
    type Query { noop: String }
    type Event { version: Int! who: Who! }
    type Who { name: String }
    type Subscription { events: Event! }
    """
)
DOCUMENT = parse("subscription { events { version who { name } } }")


async def _memo_after(kind: type[CoreExecutor[Any]], events: int) -> int:
    """How many entries the subscription's shared memo holds after `events` events."""
    executor = kind.build(SCHEMA, DOCUMENT)
    assert isinstance(executor, CoreExecutor)  # not a list of errors: the document is valid

    async def source() -> AsyncIterator[dict[str, Any]]:
        for n in range(events):
            yield {"events": {"version": n, "who": {"name": "x"}}}

    results = [r async for r in map_source_to_response_event(executor, source())]
    assert [r.data["events"]["version"] for r in results if r.data] == list(range(events))
    return len(executor._relevant_sub_fields)


async def test_events_leave_nothing_in_the_subscriptions_memo() -> None:
    assert await _memo_after(Executor, 200) == 0


async def test_graphql_core_alone_still_keeps_an_entry_per_event() -> None:
    # When this fails, graphql-core stopped sharing the memo: drop schema/execution.py.
    assert await _memo_after(CoreExecutor, 200) >= 200


def test_the_schema_executes_on_it() -> None:
    assert create_schema().execution_context_class is Executor
