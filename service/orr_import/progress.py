"""A progress bar for long imports, drawn only on a terminal (hand-written: one line of text)."""

from __future__ import annotations

import sys
import time
from typing import Protocol, TextIO

WIDTH = 30
REDRAW_EVERY = 0.1  # seconds; a redraw per batch would flood a slow terminal


class Progress(Protocol):
    """Told how much there is to do, then how much is done."""

    def start(self, total: int, label: str) -> None:
        """Begin counting towards total."""

    def advance(self, done: int) -> None:
        """Count done more."""

    def finish(self) -> None:
        """End the display."""


class Silent:
    """No display: output is not a terminal (a log, a pipe, a test)."""

    def start(self, total: int, label: str) -> None:
        pass

    def advance(self, done: int) -> None:
        pass

    def finish(self) -> None:
        pass


class Bar:
    """`label [#####.....] 1,200/3,108 rows  38%  2.1 s`, redrawn in place."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.total = self.done = 0
        self.label = ""
        self.began = self.drawn = 0.0

    def start(self, total: int, label: str) -> None:
        self.total, self.done, self.label = total, 0, label
        self.began = time.perf_counter()
        self._draw()

    def advance(self, done: int) -> None:
        self.done = min(self.total, self.done + done)
        if time.perf_counter() - self.drawn >= REDRAW_EVERY or self.done == self.total:
            self._draw()

    def finish(self) -> None:
        self._draw()
        self.stream.write("\n")
        self.stream.flush()

    def _draw(self) -> None:
        self.drawn = time.perf_counter()
        share = self.done / self.total if self.total else 1.0
        filled = round(WIDTH * share)
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (WIDTH - filled)}] "
            f"{self.done:,}/{self.total:,} rows {share:4.0%} {self.drawn - self.began:5.1f} s"
        )
        self.stream.flush()


def for_stream(stream: TextIO | None = None) -> Progress:
    """A bar when the stream (stderr by default) is a terminal, else nothing."""
    stream = stream or sys.stderr
    return Bar(stream) if stream.isatty() else Silent()
