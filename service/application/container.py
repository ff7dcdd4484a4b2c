"""The composition root: one place that wires store, commands and projections together."""

from __future__ import annotations

from dataclasses import dataclass, field

from projections.catalog import all_projections
from projections.runner import ProjectionRunner
from service.access.access_log import AccessLog
from service.application.commands import FamilyCommands
from service.application.erasure import Erasure, ErasureNotices
from service.application.family_cache import FamilyCache
from service.application.notifications import Notifications
from service.application.personal_data import keyring_for, personal_store
from service.eventstore.store import EventStore
from service.ledger.proofs import SignedTrees
from service.postgres.database import Database
from service.settings import Settings


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
    erasure: Erasure
    erasure_notices: ErasureNotices
    signed_trees: SignedTrees = field(default_factory=SignedTrees)

    @classmethod
    async def build(cls, settings: Settings, database: Database) -> Container:
        """Wire the parts over an open database and make sure read-model tables exist."""
        keyring = keyring_for(settings)
        store = await personal_store(database.pool, settings, keyring)
        projections = all_projections(store, settings.fold_cache_mib * 2**20)
        runner = ProjectionRunner(database.pool, store, projections)
        async with database.as_owner() as owner:
            await runner.setup(owner=owner)
        pool = database.pool
        commands = FamilyCommands(store, FamilyCache(budget=settings.family_cache_mib * 2**20))
        erasure = Erasure(commands, keyring)
        return cls(
            settings,
            database,
            store,
            commands,
            runner,
            Notifications(pool),
            AccessLog(pool),
            erasure,
            ErasureNotices(pool, erasure),
        )
