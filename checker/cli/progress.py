"""A live progress line for long searches, only when a person is watching a terminal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.live import Live
from rich.text import Text

from shardcheck.checker.search import Progress, Stats


@contextmanager
def search_progress(console: Console, quiet: bool) -> Iterator[Progress | None]:
    """Yield a progress callback that redraws one line, or None when nobody would see it."""
    if quiet or not console.is_terminal:
        yield None
        return
    with Live(Text("exploring…"), console=console, transient=True,
              refresh_per_second=4) as live:
        def show(stats: Stats) -> None:
            live.update(Text(
                f"exploring: {stats.states:,} states, {stats.transitions:,} transitions, "
                f"depth {stats.max_depth}, {stats.states_per_second:,.0f} states/s, "
                f"{stats.seconds:.0f}s elapsed"))
        yield show
