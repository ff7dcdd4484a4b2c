"""Commands read only what is new since a family was last loaded, and never trust a stale copy."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

import pytest

from domain.errors import DomainError
from domain.family import Family, Member
from domain.values import MemberRole, PersonName, Sex
from service.application.commands import FamilyCommands
from service.application.container import Container
from service.application.family_cache import Loaded
from tests.scenarios.family import T0, ctx, open_separated_family

pytestmark = pytest.mark.integration


def adding(person: UUID, name: str = "Tía Carmen") -> Member:
    return Member(person, MemberRole.OTHER_ADULT, PersonName(name), Sex.FEMALE)


async def test_simultaneous_writers_without_a_version_check_are_all_recorded_in_turn(
    container: Container,
) -> None:
    family, *_, placed = await open_separated_family(container.commands)
    writers = [FamilyCommands(container.store) for _ in range(20)]
    results = await asyncio.gather(
        *(w.execute(family, lambda f: f.add_member(adding(uuid4()), T0), ctx()) for w in writers)
    )
    assert sorted(r.version for r in results) == list(
        range(placed.version + 1, placed.version + 21)
    )
    assert len(await container.store.read_stream(family)) == placed.version + 20


async def test_a_version_check_still_refuses_a_writer_that_lost_the_race(
    container: Container,
) -> None:
    family, *_, placed = await open_separated_family(container.commands)
    writers = [FamilyCommands(container.store) for _ in range(2)]
    results = await asyncio.gather(
        *(
            w.execute(
                family, lambda f: f.add_member(adding(uuid4()), T0), ctx(None, placed.version)
            )
            for w in writers
        ),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Exception) for r in results) == 1


async def test_a_kept_family_learns_what_another_process_wrote_since(container: Container) -> None:
    family, *_ = await open_separated_family(container.commands)
    here, elsewhere = FamilyCommands(container.store), FamilyCommands(container.store)
    await here.execute(family, lambda f: f.add_member(adding(uuid4()), T0), ctx())
    assert len(here.cache) == 1
    aunt = uuid4()
    await elsewhere.execute(family, lambda f: f.add_member(adding(aunt), T0), ctx())
    with pytest.raises(DomainError):  # the kept copy was brought up to date: she is known
        await here.execute(family, lambda f: f.add_member(adding(aunt), T0), ctx())


async def test_a_kept_family_whose_last_hash_differs_is_ignored_and_loaded_whole(
    container: Container,
) -> None:
    family, mother, *_ = await open_separated_family(container.commands)
    commands = FamilyCommands(container.store)
    stale = await commands.load(family, up_to_version=1)  # before the mother was added
    latest = await commands.load(family)
    commands.cache.keep(family, Loaded(stale, b"not the stored hash"))
    with pytest.raises(DomainError):  # the whole stream was read: the mother is known
        await commands.execute(family, lambda f: f.add_member(adding(mother, "Ana"), T0), ctx())
    result = await commands.execute(family, lambda f: f.add_member(adding(uuid4()), T0), ctx())
    assert result.version == latest.version + 1


async def test_a_refused_command_leaves_no_half_changed_family_behind(
    container: Container,
) -> None:
    family, *_ = await open_separated_family(container.commands)
    commands = FamilyCommands(container.store)
    await commands.execute(family, lambda f: f.add_member(adding(uuid4()), T0), ctx())
    twin = uuid4()

    def half(f: Family) -> None:
        f.add_member(adding(twin), T0)
        f.add_member(adding(twin), T0)  # refused: she was just added

    with pytest.raises(DomainError):
        await commands.execute(family, half, ctx())
    result = await commands.execute(family, lambda f: f.add_member(adding(twin), T0), ctx())
    assert len(await container.store.read_stream(family)) == result.version


async def test_simultaneous_commands_in_one_process_take_turns_on_the_kept_family(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    family, *_, placed = await open_separated_family(container.commands)
    commands = FamilyCommands(container.store)
    await commands.execute(family, lambda f: f.add_member(adding(uuid4()), T0), ctx())
    whole = 0
    read_stream = container.store.read_stream

    async def counted(*args: object, **kwargs: object) -> object:
        nonlocal whole
        whole += 1
        return await read_stream(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(container.store, "read_stream", counted)
    results = await asyncio.gather(
        *(
            commands.execute(family, lambda f: f.add_member(adding(uuid4()), T0), ctx())
            for _ in range(20)
        )
    )
    assert sorted(r.version for r in results) == list(
        range(placed.version + 2, placed.version + 22)
    )
    assert whole == 0  # each found the family its predecessor kept: none loaded it whole
    assert len(commands.turns) == 0
