"""The kept families are bounded, and each is handed to one command at a time."""

from __future__ import annotations

from uuid import uuid4

import pytest

from service.application.family_cache import FamilyCache, Loaded, weight
from service.settings import RENAMED, Settings
from tests.scenarios.family import opened_family


def test_the_least_recently_kept_family_is_dropped_beyond_the_bound() -> None:
    cache = FamilyCache(families=2)
    ids = [uuid4() for _ in range(3)]
    for family_id in ids:
        cache.keep(family_id, Loaded(opened_family(family_id)[0], b"h"))
    assert len(cache) == 2
    assert cache.take(ids[0]) is None
    assert cache.take(ids[2]) is not None


def test_a_taken_family_is_no_longer_kept_for_anyone_else() -> None:
    cache = FamilyCache()
    family_id = uuid4()
    cache.keep(family_id, Loaded(opened_family(family_id)[0], b"h"))
    assert cache.take(family_id) is not None
    assert cache.take(family_id) is None


def test_a_cache_of_size_zero_keeps_nothing() -> None:
    cache = FamilyCache(families=0)
    family_id = uuid4()
    cache.keep(family_id, Loaded(opened_family(family_id)[0], b"h"))
    assert len(cache) == 0


def test_families_are_dropped_once_the_bytes_they_hold_pass_the_bound() -> None:
    ids = [uuid4() for _ in range(3)]
    families = [opened_family(family_id)[0] for family_id in ids]
    cache = FamilyCache(budget=2 * weight(families[0]))
    for family_id, family in zip(ids, families, strict=True):
        cache.keep(family_id, Loaded(family, b"h"))
    assert [cache.take(family_id) is not None for family_id in ids] == [False, True, True]


def test_a_family_longer_than_the_whole_bound_is_not_kept() -> None:
    family_id = uuid4()
    family = opened_family(family_id)[0]
    cache = FamilyCache(budget=weight(family) - 1)
    cache.keep(family_id, Loaded(family, b"h"))
    assert len(cache) == 0 and cache.held == 0


def test_the_caches_bounds_are_read_in_mib() -> None:
    settings = Settings.from_env({"REUNITE_FAMILY_CACHE_MIB": "8", "REUNITE_FOLD_CACHE_MIB": "0"})
    assert (settings.family_cache_mib, settings.fold_cache_mib) == (8, 0)


@pytest.mark.parametrize("old", sorted(RENAMED))
def test_a_renamed_setting_stops_start_up_and_names_its_successor(old: str) -> None:
    with pytest.raises(ValueError, match=RENAMED[old]):
        Settings.from_env({old: "20000"})
