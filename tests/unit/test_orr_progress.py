"""The import's progress bar: drawn on a terminal, silent anywhere else."""

from __future__ import annotations

import io

from service.orr_import.progress import Bar, Silent, for_stream


class Terminal(io.StringIO):
    """Text written to what claims to be a terminal."""

    def isatty(self) -> bool:
        return True


def test_a_terminal_sees_the_bar_fill_and_end_on_its_own_line() -> None:
    screen = Terminal()
    bar = for_stream(screen)
    assert isinstance(bar, Bar)
    bar.start(4, "importing orr.csv")
    bar.advance(3)
    bar.advance(3)  # never more than the total
    bar.finish()
    last = screen.getvalue().split("\r")[-1]
    assert last.startswith("importing orr.csv [" + "#" * 30 + "] 4/4 rows 100%")
    assert last.endswith(" s\n")


def test_a_log_or_a_pipe_gets_no_bar() -> None:
    assert isinstance(for_stream(io.StringIO()), Silent)
