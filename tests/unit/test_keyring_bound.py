"""The keyring's bound never drops a key a reader may have prepared and not yet used."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import pytest

from service.application.personal_data import keyring_for
from service.eventstore.keyring import HELD_SECONDS, KeyMissing, Keyring
from service.eventstore.sealed_payloads import SEALED
from service.eventstore.sealing import FileKek, generate_kek_file
from service.settings import Settings

FAMILY = UUID(int=1)


def sealed_payload(person: UUID) -> bytes:
    """The first bytes of a payload sealed for a person: all `prepare` reads of it."""
    return SEALED + str(person).encode() + b'","name":"..."}'


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_keys_loaded_within_the_hold_outlast_the_bound_then_the_oldest_go() -> None:
    clock = Clock()
    keyring = Keyring([FileKek(os.urandom(32))], size=2, clock=clock)
    people = [UUID(int=n + 10) for n in range(4)]
    for person in people[:3]:
        keyring.make(person, FAMILY)
    assert len(keyring) == 3  # beyond the bound: all three may be about to be read
    assert all(keyring.cipher(p) is not None for p in people[:3])

    clock.now = HELD_SECONDS + 1
    keyring.make(people[3], FAMILY)
    assert len(keyring) == 2
    for person in people[:2]:
        with pytest.raises(KeyMissing):
            keyring.cipher(person)
    assert keyring.cipher(people[2]) is not None and keyring.cipher(people[3]) is not None


async def test_a_key_a_reader_prepares_is_kept_as_if_just_loaded() -> None:
    clock = Clock()
    keyring = Keyring([FileKek(os.urandom(32))], size=1, clock=clock)
    old, new = UUID(int=20), UUID(int=21)
    keyring.make(old, FAMILY)
    clock.now = HELD_SECONDS + 1
    # A reader prepares a row sealed for `old` (loaded long ago): nothing to load...
    sealed = (None, None, None, None, "domain.family:Family.MemberAdded", sealed_payload(old))
    await keyring.prepare(cast(Any, None), [sealed])
    # ...and a key loaded before it decodes must not drop `old`.
    keyring.make(new, FAMILY)
    assert keyring.cipher(old) is not None


def test_the_bound_is_configured_by_reunite_person_keys(tmp_path: Path) -> None:
    generate_kek_file(tmp_path / "kek")
    env = {"REUNITE_KEK_FILE": str(tmp_path / "kek"), "REUNITE_PERSON_KEYS": "10"}
    assert keyring_for(Settings.from_env(env)).size == 10
    assert Settings.from_env({}).person_keys == 65_536


def test_keys_beyond_the_bound_are_only_those_used_within_the_hold() -> None:
    clock = Clock()
    keyring = Keyring([FileKek(os.urandom(32))], size=100, clock=clock)
    per_second = 200  # a soak's refolds use every member's key of the families they fold
    for second in range(int(HELD_SECONDS) * 6):
        clock.now = float(second)
        for n in range(per_second):
            keyring.make(UUID(int=second * per_second + n + 10), FAMILY)
        assert len(keyring) <= 100 + per_second * (HELD_SECONDS + 1)
