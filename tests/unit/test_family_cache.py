"""The kept families are bounded, and each is handed to one command at a time."""

from __future__ import annotations

import pickle
from uuid import UUID, uuid4

import pytest
from hypothesis import given

from domain.family import Family
from domain.paths import Member
from domain.values import MemberRole, PersonName, Sex
from service.application.family_cache import ENTRY_BYTES, FamilyCache, Loaded, weight
from service.settings import RENAMED, Settings
from tests.scenarios.family import T0, opened_family
from tests.scenarios.histories import PROPERTY, family_histories
from tests.scenarios.shapes import grown, replay


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


def test_families_beyond_the_hot_ones_are_kept_pickled_and_taken_back_whole() -> None:
    families = grown(3, 20)
    cache = FamilyCache(hot=1)
    for family in families:
        cache.keep(family.id, Loaded(family, b"h"))
    held_objects = weight(families[-1])
    assert cache.held - held_objects >= 2 * ENTRY_BYTES  # the two older ones pickled
    for family in families:
        taken = cache.take(family.id)
        assert taken is not None and taken.head == b"h"
        assert vars(taken.family) == vars(replay(list(family.history)))
    assert len(cache) == 0 and cache.held == 0


def test_a_pickled_family_goes_on_as_the_family_did() -> None:
    family = grown(1, 5)[0]
    cache = FamilyCache(hot=0)
    cache.keep(family.id, Loaded(replay(list(family.history)), b"h"))
    taken = cache.take(family.id)
    assert taken is not None
    for copy in (family, taken.family):
        copy.add_member(
            Member(UUID(int=7), MemberRole.OTHER_ADULT, PersonName("Tía Ana"), Sex.FEMALE), T0
        )
    went_on, did = vars(taken.family), vars(family)
    for stamped in ("history", "_pending_events"):  # the new event is stamped now
        assert went_on.pop(stamped)[:-1] == did.pop(stamped)[:-1]
    assert went_on.pop("_modified_on") and did.pop("_modified_on")
    assert went_on == did


@PROPERTY
@given(family_histories())
def test_any_family_comes_back_from_its_pickle_as_it_was(family: Family) -> None:
    cache = FamilyCache(hot=0)
    cache.keep(family.id, Loaded(replay(list(family.history)), b"h"))
    taken = cache.take(family.id)
    assert taken is not None and vars(taken.family) == vars(replay(list(family.history)))


def test_clear_forgets_the_hot_and_the_pickled_families() -> None:
    cache = FamilyCache(hot=1)
    for family in grown(3, 2):
        cache.keep(family.id, Loaded(family, b"h"))
    cache.clear()
    assert len(cache) == 0 and cache.held == 0


def test_pickled_families_are_dropped_first_beyond_the_bound() -> None:
    families = grown(3, 20)
    cache = FamilyCache(hot=1, families=2)
    for family in families:
        cache.keep(family.id, Loaded(family, b"h"))
    assert [cache.take(f.id) is not None for f in families] == [False, True, True]


def test_a_family_that_cannot_be_pickled_is_not_kept_and_the_command_goes_on() -> None:
    family = grown(1, 2)[0]
    family.unpicklable = lambda: None  # type: ignore[attr-defined]
    cache = FamilyCache(hot=0)
    cache.keep(family.id, Loaded(family, b"h"))
    assert len(cache) == 0 and cache.held == 0


def test_a_family_forgotten_is_dropped_from_either_tier_without_being_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    families = grown(2, 3)
    cache = FamilyCache(hot=1)
    for family in families:
        cache.keep(family.id, Loaded(family, b"h"))
    monkeypatch.setattr(pickle, "loads", lambda _: pytest.fail("unpickled"))
    for family in families:  # the first pickled, the second an object
        cache.forget(family.id)
    assert len(cache) == 0 and cache.held == 0
