"""``shardcheck ci``: run the repository's suite and its corpus, as CI does."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
from shardcheck.checker.cli.console import Output
from shardcheck.checker.cli.documents import document, violation_json
from shardcheck.checker.cli.options import force_option, format_option, quiet_option
from shardcheck.checker.cli.replay import VERDICTS as REPLAY_VERDICTS
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
              help="Write a JUnit XML report here (an existing file only with --force).")
@click.option("--only", multiple=True, metavar="NAME",
              help="Run only this check (repeatable); the corpus is still replayed.")
@click.option("--jobs", "-j", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Run this many checks at once, each in its own process.")
@click.option("--trace-dir", type=click.Path(file_okay=False), default=DEFAULT_TRACE_DIR,
              show_default=True,
              help="Where new counterexamples are written, one file per check, named after "
                   "it. A file there that holds the same run is kept; one that holds another "
                   "run is replaced only with --force, else the new one takes the next free "
                   "name (NAME-2.trace.json).")
@force_option("--junit (and a different counterexample of the same check in --trace-dir)")
@quiet_option
@format_option("json: one result object on stdout, every check and trace with its expected "
               "and actual verdict (traces/ci-result.schema.json).")
def ci_command(suite_file: str | None, junit: str | None, only: tuple[str, ...], jobs: int,
               trace_dir: str, force: bool, quiet: bool, output_format: str) -> None:
    """Run the suite's checks, then replay every trace in its corpus.

    Each check must give the verdict it expects: a pass, or a violation of the
    property it names (so known-buggy variants stay known-buggy). Each corpus trace
    must still reproduce its recorded verdict. A check whose budget runs out is
    inconclusive, which fails the suite unless it says allow_inconclusive = true.
    A counterexample that is not already in the corpus is written to --trace-dir.

    Exit code 0: everything matched. 1: a check or a trace did not (a trace that
    diverged or passes now included). 2: bad input (a malformed suite: one line names
    the file, the check and the field). 3: nothing mismatched, but a check was
    inconclusive.
    """
    out = Output.of(output_format, quiet)
    suite = load_suite(suite_file).only(only)
    junit_path = Path(junit) if junit is not None else None
    if junit_path is not None:
        check_junit_path(junit_path, force)
    check_trace_dir(Path(trace_dir))
    traces = corpus_traces(suite)
    _header(out.report, suite, len(traces), jobs)
    with _live(out.progress, quiet, len(suite.checks) + len(traces)) as live:
        outcome = run_suite(suite, jobs=jobs, trace_dir=Path(trace_dir), on_check=live.check,
                            on_trace=live.trace, progress=live.search(), overwrite=force)
    print_outcome(out.verdict, outcome, report=out.report)
    if junit_path is not None:
        write_junit(outcome, junit_path, force)
        out.verdict.print(f"JUnit report written to {junit_path}")
    if outcome.mismatched:
        code, verdict = EXIT_VIOLATION, "fail"
    elif outcome.failed:
        code, verdict = EXIT_INCONCLUSIVE, "inconclusive"
    else:
        code, verdict = EXIT_OK, "pass"
    out.document(document(
        "ci-result", verdict=verdict, exit_code=code, suite=str(suite.path),
        corpus=str(suite.corpus), only=list(only), jobs=jobs, junit=junit,
        trace_dir=trace_dir, seconds=outcome.seconds,
        checks=[_check_json(c) for c in outcome.checks],
        traces=[_trace_json(t) for t in outcome.traces]))
    sys.exit(code)


RESULTS = {"ok": "pass", "allowed-inconclusive": "skipped", "mismatch": "fail",
           "inconclusive": "fail", "error": "fail"}
"""What a status means for the suite, as JUnit says it: pass, fail, or skipped."""


def _check_json(outcome: CheckOutcome) -> dict[str, Any]:
    check, budget = outcome.check, outcome.check.budget
    return {
        "name": check.name, "strategy": check.strategy, "design": check.design,
        "workload": check.workload, "workload_strategy": check.workload_strategy,
        "workers": check.workers,
        "budget": {"max_states": budget.max_states, "max_depth": budget.max_depth,
                   "time_limit": budget.time_limit, "examples": budget.examples,
                   "seed": budget.seed},
        "step_bound": check.step_bound,
        "criteria": None if check.criteria is None else list(check.criteria),
        "allow_inconclusive": check.allow_inconclusive,
        "expected": {"verdict": check.expect, "property": check.property},
        "actual": {"verdict": outcome.verdict, "violation": violation_json(outcome.violation)},
        "status": outcome.status, "result": RESULTS[outcome.status],
        "message": outcome.message, "detail": outcome.detail, "seconds": outcome.seconds,
        "trace": outcome.trace_path, "in_corpus": outcome.in_corpus,
    }


def _trace_json(outcome: TraceOutcome) -> dict[str, Any]:
    return {
        "path": outcome.path, "steps": outcome.steps, "recorded": outcome.recorded,
        "expected": "reproduced", "actual": REPLAY_VERDICTS.get(outcome.replayed, "error"),
        "status": outcome.status, "result": RESULTS[outcome.status],
        "message": outcome.message, "seconds": outcome.seconds,
    }
