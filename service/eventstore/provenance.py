"""Who recorded an event, on what authority, and as part of what."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class Provenance:
    """Who recorded an event, on what authority, and as part of what."""

    actor: str
    role: str
    source: str
    reason: str | None = None
    correlation_id: UUID | None = None
    causation_id: UUID | None = None
