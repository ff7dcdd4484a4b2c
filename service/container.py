"""The composition root: one place that wires store, commands and projections together."""

from __future__ import annotations

from dataclasses import dataclass, field

from projections.cases import CasesProjection
from projections.projection import Projection, effective_envelopes
from projections.runner import ProjectionRunner
from projections.timeline import TimelineProjection
from service.access_log import AccessLog
from service.codec import create_mapper
from service.commands import FamilyCommands
from service.database import Database
from service.notifications import Notifications
from service.settings import Settings
from service.store import EventStore
from service.verify import SignedTrees


def all_projections(store: EventStore) -> list[Projection]:
    """Every read model the runner feeds (side by side)."""
    return [
        TimelineProjection(),
        CasesProjection(store.decode, effective_envelopes),
    ]


@dataclass
class Container:
    """Everything a request or a CLI command needs, built once per process."""

    settings: Settings
    database: Database
    store: EventStore
    commands: FamilyCommands
    runner: ProjectionRunner
    notifications: Notifications
    access_log: AccessLog
    signed_trees: SignedTrees = field(default_factory=SignedTrees)

    @classmethod
    async def build(cls, settings: Settings, database: Database) -> Container:
        """Wire the parts over an open database and make sure read-model tables exist."""
        store = EventStore(database.pool, create_mapper())
        runner = ProjectionRunner(database.pool, store, all_projections(store))
        await runner.setup()
        pool = database.pool
        return cls(
            settings,
            database,
            store,
            FamilyCommands(store),
            runner,
            Notifications(pool),
            AccessLog(pool),
        )
