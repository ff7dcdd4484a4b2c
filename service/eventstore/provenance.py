"""Who recorded an event, on what authority, and as part of what."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from uuid import UUID

# The request being served (its X-Request-Id): log records carry it, and a command's events
# take it as their correlation id unless the caller gave one (schema/mutations.py).
REQUEST_ID: ContextVar[UUID | None] = ContextVar("reunite_request_id", default=None)


@dataclass(frozen=True)
class Provenance:
    """Who recorded an event, on what authority, and as part of what."""

    actor: str
    role: str
    source: str
    reason: str | None = None
    correlation_id: UUID | None = None
    causation_id: UUID | None = None
