"""Per-subject limits on expensive work: how many requests at once, and how many a minute."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

SUBJECTS = 10_000  # idle subjects with a full allowance are forgotten past this many


@dataclass
class Allowance:
    """One subject's token bucket and its requests under way."""

    tokens: float
    updated: float
    running: int = 0


class Throttle:
    """Admits a subject's expensive request, or says in how many seconds to retry."""

    def __init__(
        self,
        concurrency: int,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.concurrency = concurrency
        self.per_minute = per_minute
        self.clock = clock
        self.subjects: dict[str, Allowance] = {}
        self.typical = 1.0  # seconds an expensive request takes, smoothed

    def enter(self, subject: str) -> int | None:
        """None when admitted (then `leave` when done), else seconds to wait before retrying."""
        now = self.clock()
        allowance = self._refilled(subject, now)
        if self.concurrency > 0 and allowance.running >= self.concurrency:
            return max(1, math.ceil(self.typical))
        if self.per_minute > 0:
            if allowance.tokens < 1:
                return max(1, math.ceil((1 - allowance.tokens) * 60 / self.per_minute))
            allowance.tokens -= 1
        allowance.running += 1
        return None

    def leave(self, subject: str, seconds: float) -> None:
        """The admitted request ended after `seconds`."""
        self.subjects[subject].running -= 1
        self.typical = 0.8 * self.typical + 0.2 * seconds

    def _refilled(self, subject: str, now: float) -> Allowance:
        full = float(self.per_minute)
        allowance = self.subjects.get(subject)
        if allowance is None:
            if len(self.subjects) >= SUBJECTS:
                self._forget_idle(now)
            allowance = self.subjects[subject] = Allowance(full, now)
        gained = (now - allowance.updated) * self.per_minute / 60
        allowance.tokens = min(full, allowance.tokens + gained)
        allowance.updated = now
        return allowance

    def _forget_idle(self, now: float) -> None:
        for subject, allowance in list(self.subjects.items()):
            refilled = allowance.tokens + (now - allowance.updated) * self.per_minute / 60
            if allowance.running == 0 and refilled >= self.per_minute:
                del self.subjects[subject]
