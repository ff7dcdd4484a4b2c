"""The executor every operation runs on: strawberry's, with a subscription's memo per event."""

from __future__ import annotations

from typing import Any

from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


class Executor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, each subscription event with a memo of its own.

    graphql-core 3.3 runs each event on a shallow copy of the subscription's executor, so all
    events share one memo of collected subfields, keyed by the identity of field lists each
    event builds anew: it never hits and never forgets, and held about 1 KB per delivered
    event for as long as the subscription lived (the steady growth `bench.sustained` saw).
    """

    def build_per_event_executor(self, payload: Any) -> Executor:
        executor = super().build_per_event_executor(payload)
        assert isinstance(executor, Executor)
        executor._relevant_sub_fields = {}  # the event's own: it still serves its lists
        return executor
