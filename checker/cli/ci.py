"""``shardcheck ci``: run the repository's suite and its corpus, as CI does.

Registered on the ``main`` group in ``checker/cli.py``, whose error handling turns every
``ShardcheckError`` into one line and its exit code.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs
import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from shardcheck.checker.ci import (
    DEFAULT_TRACE_DIR,
    CheckOutcome,
    Suite,
    TraceOutcome,
    check_junit_path,
    check_trace_dir,
    corpus_traces,
    load_suite,
    print_outcome,
    run_suite,
    write_junit,
)
from shardcheck.checker.cli.console import make_console
from shardcheck.checker.errors import EXIT_INCONCLUSIVE, EXIT_OK, EXIT_VIOLATION
from shardcheck.checker.search import Progress as SearchProgress
from shardcheck.checker.search import Stats


@attrs.define(eq=False)
class _Live:
    """The live bar's state: mutable, redrawn as checks finish and searches progress."""

    progress: Progress | None
    task: TaskID | None = None
    current: str = ""

    def done(self, name: str) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, advance=1, description=name)

    def check(self, outcome: CheckOutcome) -> None:
        self.done(f"check {outcome.check.name}: {outcome.status}")

    def trace(self, outcome: TraceOutcome) -> None:
        self.done(f"replayed {outcome.path}")

    def search(self) -> SearchProgress | None:
        if self.progress is None:
            return None

        def show(stats: Stats) -> None:
            if self.progress is not None and self.task is not None:
                self.progress.update(self.task, description=(
                    f"{stats.states:,} states, {stats.states_per_second:,.0f} states/s, "
                    f"{stats.seconds:.0f}s"))
        return show


@contextmanager
def _live(console: Console, quiet: bool, total: int) -> Iterator[_Live]:
    """A live bar on a terminal; nothing when output is not a terminal or with --quiet."""
    if quiet or not console.is_terminal:
        yield _Live(None)
        return
    progress = Progress(TextColumn("[bold]ci[/bold]"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), TextColumn("{task.description}"),
                        console=console, transient=True)
    with progress:
        live = _Live(progress)
        live.task = progress.add_task("running checks", total=total)
        yield live


def _header(console: Console, suite: Suite, traces: int, jobs: int) -> None:
    console.print(f"[bold]shardcheck ci[/bold] {suite.path}")
    try:
        corpus = suite.corpus.relative_to(suite.path.parent).as_posix()
    except ValueError:
        corpus = suite.corpus.as_posix()
    console.print(f"  checks    {len(suite.checks)}")
    console.print(f"  corpus    {corpus}/ ({traces} trace(s))")
    console.print(f"  jobs      {jobs}")


@click.command(name="ci")
@click.option("--suite", "suite_file", type=click.Path(dir_okay=False), default=None,
              help="The suite file: a shardcheck.toml, or a pyproject.toml with "
                   "[tool.shardcheck] (default: whichever the current directory has).")
@click.option("--junit", type=click.Path(dir_okay=False), default=None,
              help="Write a JUnit XML report here (replaced if it exists).")
@click.option("--only", multiple=True, metavar="NAME",
              help="Run only this check (repeatable); the corpus is still replayed.")
@click.option("--jobs", "-j", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Run this many checks at once, each in its own process.")
@click.option("--trace-dir", type=click.Path(file_okay=False), default=DEFAULT_TRACE_DIR,
              show_default=True,
              help="Where new counterexamples are written, one file per check, named after "
                   "it (a file of the same check from an earlier run is replaced).")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
def ci_command(suite_file: str | None, junit: str | None, only: tuple[str, ...], jobs: int,
               trace_dir: str, quiet: bool) -> None:
    """Run the suite's checks, then replay every trace in its corpus.

    Each check must give the verdict it expects: a pass, or a violation of the
    property it names (so known-buggy variants stay known-buggy). Each corpus trace
    must still reproduce its recorded verdict. A check whose budget runs out is
    inconclusive, which fails the suite unless it says allow_inconclusive = true.
    A counterexample that is not already in the corpus is written to --trace-dir.

    Exit code 0: everything matched. 1: a check or a trace did not. 2: bad input
    (a malformed suite: one line names the file, the check and the field).
    3: nothing mismatched, but a check was inconclusive.
    """
    console = make_console()
    suite = load_suite(suite_file).only(only)
    junit_path = Path(junit) if junit is not None else None
    if junit_path is not None:
        check_junit_path(junit_path)
    check_trace_dir(Path(trace_dir))
    traces = corpus_traces(suite)
    _header(console, suite, len(traces), jobs)
    with _live(console, quiet, len(suite.checks) + len(traces)) as live:
        outcome = run_suite(suite, jobs=jobs, trace_dir=Path(trace_dir), on_check=live.check,
                            on_trace=live.trace, progress=live.search())
    print_outcome(console, outcome)
    if junit_path is not None:
        write_junit(outcome, junit_path)
        console.print(f"JUnit report written to {junit_path}")
    if outcome.mismatched:
        sys.exit(EXIT_VIOLATION)
    sys.exit(EXIT_INCONCLUSIVE if outcome.failed else EXIT_OK)
