"""A keyed command runs at most once, even when its retry races the first attempt."""

from __future__ import annotations

import pytest

from domain.errors import DomainError
from domain.family import Family
from domain.values import ProgramType
from service.application.commands import CommandContext, FamilyCommands
from service.application.container import Container
from service.eventstore.records import AppendResult
from service.eventstore.store import VersionConflict
from tests.scenarios.family import CASA_PADRE, SAN_YSIDRO, at, ctx, open_separated_family

pytestmark = pytest.mark.integration


class LateRetry(FamilyCommands):
    """A retry whose check for an earlier result ran before the first attempt committed."""

    def __init__(self, commands: FamilyCommands) -> None:
        super().__init__(commands.store)
        self.checks = 0

    async def _earlier(self, ctx: CommandContext) -> AppendResult | None:
        self.checks += 1
        return None if self.checks == 1 else await super()._earlier(ctx)


async def test_a_retry_refused_by_the_state_its_first_attempt_made_answers_the_first_result(
    container: Container,
) -> None:
    commands = container.commands
    family, mother, son, placed = await open_separated_family(commands)

    def reunify(f: Family) -> None:
        f.reunify(son, mother, SAN_YSIDRO, at(40))

    first = await commands.execute(family, reunify, ctx("reunify-1", placed.version))
    # Loaded after the first attempt: the version moved on and the child's path has ended.
    for expected in (placed.version, None):
        retry = await LateRetry(commands).execute(family, reunify, ctx("reunify-1", expected))
        assert retry == AppendResult(
            family, first.version, first.first_position, first.last_position, True
        )
    assert len(await container.store.read_stream(family)) == first.version


async def test_without_a_key_the_same_refusals_stand(container: Container) -> None:
    commands = container.commands
    family, mother, son, _ = await open_separated_family(commands)
    await commands.execute(family, lambda f: f.reunify(son, mother, SAN_YSIDRO, at(40)), ctx())

    def place(f: Family) -> None:
        f.place_child(son, CASA_PADRE, ProgramType.SHELTER, at(41))

    with pytest.raises(VersionConflict):
        await LateRetry(commands).execute(family, place, ctx(None, 5))
    with pytest.raises(DomainError):
        await LateRetry(commands).execute(
            family, lambda f: f.reunify(son, mother, SAN_YSIDRO, at(41)), ctx()
        )
