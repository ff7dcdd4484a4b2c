"""Analysts' figures: cell-key random rounding, its bounds, and its consistency (ADR 0013).

The adversarial suite that plays the analyst against the ORR list is
tests/integration/test_analyst_disclosure_attacks.py.
"""

from __future__ import annotations

import stat
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projections.case_queries import COURT_REPORT_COUNTS
from schema.disclosure import (
    BASE,
    DISTRIBUTION_MIN_STAYS,
    FINGERPRINTS,
    MAX_COUNT_DEVIATION,
    NAMED_MIN_STAYS,
    POOLED_ID,
    WEEK,
    CellKeys,
    Purpose,
    child_hash,
    fingerprint,
    month_end,
    on_calendar,
    on_vintage,
    random_round,
)
from schema.report import build_report, facility_figures
from service.access.auth import SecretRefused
from service.access.cell_key_secret import cell_key_secret
from service.settings import Settings

KEYS = CellKeys(b"a-secret-the-operator-chose-of-40-bytes!")
counts = st.integers(min_value=0, max_value=5000)
fingerprints = st.integers(min_value=0, max_value=FINGERPRINTS - 1)
children = st.lists(st.uuids(), min_size=0, max_size=30, unique=True)


def set_fingerprint(ids: list[UUID]) -> int:
    return sum(map(child_hash, ids)) % FINGERPRINTS


@given(counts, fingerprints)
def test_a_count_is_shown_as_a_multiple_of_5_at_most_4_away(count: int, key: int) -> None:
    shown = KEYS.count(count, key)
    assert shown % BASE == 0 and shown >= 0
    assert abs(shown - count) <= MAX_COUNT_DEVIATION


@given(counts, fingerprints)
def test_zero_and_multiples_of_5_are_shown_as_they_are(count: int, key: int) -> None:
    assert KEYS.count(count * BASE, key) == count * BASE
    assert KEYS.count(0, key) == 0


@given(st.integers(min_value=1, max_value=BASE - 1), fingerprints)
def test_a_count_from_1_to_4_is_never_shown_as_itself(count: int, key: int) -> None:
    assert KEYS.count(count, key) in (0, BASE)


@given(children, st.randoms(use_true_random=False), counts)
def test_the_same_children_give_the_same_figure_in_any_order_and_query(
    ids: list[UUID], shuffle: Any, count: int
) -> None:
    again = list(ids)
    shuffle.shuffle(again)
    assert set_fingerprint(again) == set_fingerprint(ids)
    first = KEYS.count(count, set_fingerprint(ids))
    assert all(KEYS.count(count, set_fingerprint(again)) == first for _ in range(3))


@given(children, st.uuids())
def test_one_child_more_draws_an_unrelated_key(ids: list[UUID], extra: UUID) -> None:
    if extra in ids:
        return
    assert KEYS.key(set_fingerprint(ids)) != KEYS.key(set_fingerprint([*ids, extra]))


def test_the_rounding_is_unbiased_over_keys() -> None:
    for count in range(1, 3 * BASE):
        shown = [KEYS.count(count, key) for key in range(4000)]
        mean = sum(shown) / len(shown)
        assert abs(mean - count) < 0.15, (count, mean)  # about 2.5 standard errors


def test_keys_depend_on_the_secret_and_what_they_round() -> None:
    other = CellKeys(b"another-secret-the-operator-chose-40-b!")
    assert KEYS.key(12345) != other.key(12345)
    assert KEYS.key(12345 + FINGERPRINTS) == KEYS.key(12345)
    days = {KEYS.days_key(f, p) for f in ("casa-padre", "cayuga") for p in Purpose}
    assert len(days) == 2 * len(Purpose) and KEYS.key(12345) not in days


@given(st.floats(min_value=0, max_value=1000), fingerprints)
def test_days_are_shown_in_whole_weeks_less_than_a_week_away(days: float, key: int) -> None:
    shown = KEYS.days(days, DISTRIBUTION_MIN_STAYS, str(key), Purpose.MEDIAN)
    assert shown is not None and shown % WEEK == 0 and abs(shown - days) < WEEK


@given(st.integers(min_value=0, max_value=DISTRIBUTION_MIN_STAYS - 1), st.text())
def test_no_distribution_over_fewer_than_the_minimum_of_stays(stays: int, name: str) -> None:
    assert KEYS.days(30.0, stays, name, Purpose.MEDIAN) is None
    assert KEYS.days(30.0, stays, name, Purpose.P90) is None


@given(st.floats(min_value=-50, max_value=50), st.integers(min_value=1, max_value=9), fingerprints)
def test_random_rounding_never_moves_a_multiple_nor_goes_a_base_away(
    value: float, base: int, key: int
) -> None:
    shown = random_round(value, base, key)
    low = value // base * base
    assert shown in (low, low + base) and low <= value < low + base
    assert random_round(float(base * 3), base, key) == base * 3


def test_the_calendar_is_the_last_day_of_each_month() -> None:
    days = [date(2020, 1, 1) + timedelta(days=n) for n in range(366)]
    ends = [d for d in days if on_calendar(d)]
    assert len(ends) == 12 and date(2020, 2, 29) in ends and date(2020, 12, 31) in ends
    assert all(month_end(d) in ends and month_end(d).month == d.month for d in days)


def test_the_vintages_are_the_starts_of_months_in_utc() -> None:
    assert on_vintage(datetime(2018, 8, 1, tzinfo=UTC))
    assert on_vintage(datetime(2018, 7, 31, 20, tzinfo=timezone(timedelta(hours=-4))))
    assert not on_vintage(datetime(2018, 8, 1, 0, 0, 1, tzinfo=UTC))
    assert not on_vintage(datetime(2018, 8, 2, tzinfo=UTC))
    assert not on_vintage(datetime(2018, 8, 1, tzinfo=timezone(timedelta(hours=2))))


def test_read_models_sums_of_fingerprints_are_taken_modulo_2_to_the_64() -> None:
    assert fingerprint(None) == 0
    assert fingerprint(-1) == FINGERPRINTS - 1
    assert child_hash(UUID(int=1)) < FINGERPRINTS


def court_rows(**counts: tuple[int, int]) -> list[dict[str, Any]]:
    """One age band's row with the named columns; every other column zero."""
    columns = list(COURT_REPORT_COUNTS)
    rows = []
    for band in ("0-4", "5-17"):
        row: dict[str, Any] = {"age_band": band}
        for column in columns:
            count, key = counts.get(column, (0, 0))
            row[column], row[f"{column}_key"] = count, (key if count else None)
        rows.append(row)
    return rows


def test_a_total_is_rounded_on_its_own_from_its_own_children() -> None:
    rows = court_rows(total=(3, 1000), in_care=(3, 1000), location_unknown=(3, 1000))
    shown = build_report(date(2018, 7, 31), rows, KEYS)
    exact = build_report(date(2018, 7, 31), rows)
    assert exact.children.total == 6 and exact.children.under_5 == 3
    # Two bands of the same count and fingerprint; the total is the set of both.
    assert shown.children.total == KEYS.count(6, 2000)
    assert shown.children.under_5 == shown.children.from_5_to_17 == KEYS.count(3, 1000)
    # The same children reached through another cell are shown the same.
    assert shown.in_care.location_unknown == shown.in_care.total == shown.children
    assert shown.discharged.total.total == 0


def facility(name: str, census: int, stays: int, key: int, days: float) -> dict[str, Any]:
    return {
        "facility_id": name,
        "facility_name": name.title(),
        "census": census,
        "census_key": key + 1 if census else None,
        "stays": stays,
        "stays_key": key,
        "median_days": days,
        "p90_days": days * 2,
    }


def test_facilities_too_small_to_name_are_pooled_without_a_distribution() -> None:
    rows = [
        facility("big", 30, 40, 7, 30.5),
        facility("middling", 12, NAMED_MIN_STAYS, 11, 20.0),
        facility("tiny", 1, 1, 13, 3.0),
        facility("small", 2, NAMED_MIN_STAYS - 1, 17, 9.0),
    ]
    shown = facility_figures(rows, KEYS)
    assert [f.facility_id for f in shown] == ["big", "middling", POOLED_ID]
    pooled = shown[-1]
    assert pooled.census == KEYS.count(3, 14 + 18) and pooled.stays == KEYS.count(10, 30)
    assert pooled.median_days is None and pooled.p90_days is None
    assert shown[1].median_days is None  # 10 stays: too few for a distribution
    assert shown[0].median_days == KEYS.days(30.5, 40, "big", Purpose.MEDIAN)
    assert shown[0].p90_days == KEYS.days(61.0, 40, "big", Purpose.P90)
    assert [f.facility_id for f in facility_figures(rows)] == ["big", "middling", "tiny", "small"]


def test_named_facilities_are_ordered_by_the_census_shown_not_the_exact_one() -> None:
    # Exact censuses 6 and 9 may both be shown as 5 or 10: the order must not tell which.
    rows = [facility("a", 9, 20, 1, 1.0), facility("b", 6, 20, 2, 1.0)]
    shown = facility_figures(rows, KEYS)
    assert [(-f.census, f.facility_id) for f in shown] == sorted(
        (-f.census, f.facility_id) for f in shown
    )


def test_the_secret_is_generated_private_and_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "reunite")
    secret = cell_key_secret(settings)
    path = tmp_path / "reunite" / "disclosure-secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(secret) >= 32
    cell_key_secret.cache_clear()
    assert cell_key_secret(settings) == secret  # kept across restarts


def test_a_configured_secret_is_used_and_a_short_one_refused(tmp_path: Path) -> None:
    chosen = "an-operator-chosen-secret-of-forty-bytes"
    settings = Settings(data_dir=tmp_path, disclosure_secret=chosen)
    assert cell_key_secret(settings) == chosen.encode()
    assert not (tmp_path / "disclosure-secret").exists()
    with pytest.raises(SecretRefused):
        cell_key_secret(Settings(data_dir=tmp_path, disclosure_secret="short"))


def test_a_secret_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "disclosure-secret"
    path.write_text("x" * 40)
    path.chmod(0o644)
    with pytest.raises(SecretRefused):
        cell_key_secret(Settings(data_dir=tmp_path))
