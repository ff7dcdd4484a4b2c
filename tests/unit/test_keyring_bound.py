"""The keyring's bound never drops a key a reader may have prepared and not yet used."""

from __future__ import annotations

import os
from uuid import UUID

import pytest

from service.eventstore.keyring import HELD_SECONDS, KeyMissing, Keyring
from service.eventstore.sealing import FileKek

FAMILY = UUID(int=1)


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
