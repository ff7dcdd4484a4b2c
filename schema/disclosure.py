"""The figures analysts are shown: statistical disclosure control (ADR 0013). No I/O.

Counts are published by cell-key random rounding to base 5 (the fixed random rounding of
Statistics New Zealand, keyed the way the Australian Bureau of Statistics keys its
TableBuilder perturbation). Each count comes from the read models with a fingerprint of
what it counts: the sum, modulo 2**64, of a 64-bit hash of each child's id
(projections.case_queries.CHILD_HASH). The cell key is HMAC-SHA256 of that fingerprint under
the server's secret, so

- the same children give the same key, hence the same figure, whatever the query, the day,
  the cell or the slicing that reaches them: repeating or re-slicing averages nothing out;
- any other set of children gets a key independent of it, which nobody without the secret
  can compute (ids are guessable, the secret is not);
- a count v = 5q + r is shown as 5q + 5 when the key falls below r / 5, else as 5q:
  unbiased, at most 4 away, a multiple of 5; 0 stays 0, and 1 to 4 are shown as 0 or 5,
  never as themselves.

Days in care (a median, a 90th percentile) are shown only over at least
DISTRIBUTION_MIN_STAYS stays, randomly rounded the same way to whole weeks, by a key of the
facility and the figure (CellKeys.days_key) that does not change from month to month.
Facilities with fewer than NAMED_MIN_STAYS stays are not named: their counts are pooled in
one row (POOLED_ID). Figures are published only for the last day of a month (on_calendar),
and as known at the start of a month only (on_vintage).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from uuid import UUID

BASE = 5  # every count is shown as a multiple of BASE
MAX_COUNT_DEVIATION = BASE - 1  # ...at most this far from the exact count
WEEK = 7  # days in care are shown in whole weeks
MAX_DAYS_DEVIATION = WEEK  # ...less than a week away from the exact figure
NAMED_MIN_STAYS = 10  # a facility with fewer stays is not named: pooled in one row
DISTRIBUTION_MIN_STAYS = 20  # no median or percentile over fewer stays
FINGERPRINTS = 2**64  # fingerprints and keys are integers modulo this
# The row analysts are shown for the facilities too small to name.
POOLED_ID = "OTHER"
POOLED_NAME = f"Other facilities (each fewer than {NAMED_MIN_STAYS} stays)"


class Purpose(Enum):
    """Which figure of days in care a key rounds: each has keys of its own."""

    MEDIAN = b"median-days"
    P90 = b"p90-days"


def fingerprint(summed: int | Decimal | None) -> int:
    """A fingerprint as the read models sum it (numeric, null over no rows), modulo 2**64."""
    return 0 if summed is None else int(summed) % FINGERPRINTS


def child_hash(child_id: UUID) -> int:
    """One child's fingerprint, as CHILD_HASH computes it in SQL (there as a signed bigint)."""
    return int(hashlib.md5(str(child_id).encode()).hexdigest()[:16], 16)


def exact(count: int, fingerprint: int) -> int:
    """The figure everyone but analysts is shown: the count itself."""
    return count


def random_round(value: float, base: int, key: int) -> float:
    """value rounded to a multiple of base: up with probability (value mod base) / base,
    where the key, uniform over [0, 2**64), decides which. Unbiased; never moves a multiple
    of base; less than base away."""
    low = value // base * base
    return low + base if key * base < (value - low) * FINGERPRINTS else low


def on_calendar(day: date) -> bool:
    """Whether analysts may have figures for this day: the last day of its month."""
    return (day + timedelta(days=1)).day == 1


def on_vintage(moment: datetime) -> bool:
    """Whether analysts may have figures as known at this moment (knownAt): the start of a
    month, 00:00 UTC on its first day."""
    at = moment.astimezone(UTC)
    return at.day == 1 and at.time() == datetime.min.time()


def month_end(day: date) -> date:
    """The last day of the day's month."""
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)


@dataclass(frozen=True)
class CellKeys:
    """The cell keys under one server secret, and the figures they round."""

    secret: bytes

    def key(self, fingerprint: int) -> int:
        """A uniform 64-bit key for a set of children (or stays): the key of every count of
        exactly that set."""
        return self._key(b"count", (fingerprint % FINGERPRINTS).to_bytes(8, "big"))

    def days_key(self, facility_id: str, purpose: Purpose) -> int:
        """The key of one facility's figure of days in care, the same on every day: its
        rounding is on a grid offset at random, the same offset each month, so a figure that
        grows by the days between two month ends (an open stay's) narrows only figure plus
        offset, never the figure."""
        return self._key(purpose.value, facility_id.encode())

    def _key(self, purpose: bytes, message: bytes) -> int:
        digest = hmac.new(self.secret, purpose + b":" + message, hashlib.sha256).digest()
        return int.from_bytes(digest[:8], "big")

    def count(self, count: int, fingerprint: int) -> int:
        """A count as analysts see it: randomly rounded to base 5 by its cell key."""
        return int(random_round(count, BASE, self.key(fingerprint)))

    def days(
        self, days: float | None, stays: int, facility_id: str, purpose: Purpose
    ) -> float | None:
        """A figure of days in care over `stays` stays: null over too few, else randomly
        rounded to whole weeks by the facility's key for it."""
        if days is None or stays < DISTRIBUTION_MIN_STAYS:
            return None
        return float(random_round(float(days), WEEK, self.days_key(facility_id, purpose)))
