"""``shardcheck explore``: every schedule of a design on a small configuration."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from shardcheck import model
from shardcheck.checker.cli.console import F, make_console
from shardcheck.checker.cli.progress import search_progress
from shardcheck.checker.cli.report import print_header, print_result, timeline
from shardcheck.checker.design import DesignRef, load_workload, resolve_design
from shardcheck.checker.errors import EXIT_INCONCLUSIVE, EXIT_OK, EXIT_VIOLATION, ShardcheckError
from shardcheck.checker.search import SearchResult, SearchSettings, explore
from shardcheck.checker.trace import Trace, check_writable, load_trace, write_trace

DEFAULT_WORKLOAD = "counter:txs=3,keys=1"


def search_options(func: F) -> F:
    options = [
        click.option("--workload", "-w", default=DEFAULT_WORKLOAD, show_default=True,
                     help="Workload spec, e.g. transfers:txs=4,accounts=2 "
                          "(see `shardcheck workloads`)."),
        click.option("--workers", "-k", type=click.IntRange(1, 16), default=2,
                     show_default=True, help="Workers (threads) the design runs with."),
        click.option("--strategy", type=click.Choice(["bfs", "dfs"]), default="bfs",
                     show_default=True,
                     help="bfs finds the shortest counterexample; dfs goes deep first."),
        click.option("--max-states", type=click.IntRange(min=1), default=None,
                     help="Stop after this many distinct states (the result is inconclusive)."),
        click.option("--max-depth", type=click.IntRange(min=1), default=None,
                     help="Do not expand states deeper than this (inconclusive if it cuts)."),
        click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None,
                     help="Stop after this many seconds (inconclusive)."),
        click.option("--step-bound", type=click.IntRange(min=1), default=10_000,
                     show_default=True,
                     help="A state further than this from the start violates termination."),
        click.option("--symmetry/--no-symmetry", default=True, show_default=True,
                     help="Visit one state per renaming of interchangeable actors, for "
                          "designs that declare them (model.Symmetric)."),
        click.option("--por/--no-por", default=True, show_default=True,
                     help="Partial-order reduction by sleep sets: interleavings of "
                          "independent actions are walked once; every state is still "
                          "visited (see docs/performance.md)."),
        click.option("--compact/--no-compact", default=True, show_default=True,
                     help="Use a design's compact fast path (states packed into ints) when "
                          "it offers one."),
        click.option("--persistent/--no-persistent", default=True, show_default=True,
                     help="On the compact path, take one action alone where the design "
                          "names a persistent set (model.Persistent): states are skipped, "
                          "every terminal outcome and violation is kept."),
        click.option("--criterion", "criteria", multiple=True,
                     type=click.Choice(list(model.CRITERIA)),
                     help="Judge terminal states by this criterion instead of the design's "
                          "own (repeatable): serial-equivalence compares with serial "
                          "execution; the others check the outcome's history (see "
                          "`shardcheck check-history --help`)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.command(name="explore")
@click.argument("design")
@search_options
@click.option("--trace-out", type=click.Path(dir_okay=False), default=None,
              help="Where to write the counterexample trace (default: a file named after "
                   "the design in the current directory).")
@click.option("--force", is_flag=True, help="Overwrite --trace-out if it exists.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
@click.option("--timeline/--no-timeline", default=True, show_default=True,
              help="Print a counterexample's per-actor timeline.")
@click.option("--every-input", is_flag=True,
              help="Explore once per class of initial stores that z3 finds (every store of "
                   "a class drives every execution down the same branches), instead of only "
                   "the workload's own values.")
@click.option("--assume", metavar="EXPR", default=None,
              help='With --every-input: only initial stores where EXPR holds, e.g. '
                   '"acct0 >= 0 and acct1 >= 0".')
@click.option("--max-classes", type=click.IntRange(min=1), default=64, show_default=True,
              help="With --every-input: give up (inconclusive) past this many classes.")
@click.option("--audit", is_flag=True,
              help="Instead of one search: search without reductions, then with each "
                   "reduction alone, and compare verdicts, terminal outcomes and state "
                   "counts (exit 1 if any differs).")
@click.option("--jobs", "-j", type=int, default=1, show_default=True,
              help="Search breadth-first with this many local processes; the result is the "
                   "serial --no-por one, byte for byte: on the design's compact path "
                   "(symmetry, persistent sets) when its packing is portable across "
                   "processes, otherwise --no-compact (docs/parallel.md).")
@click.option("--scheduler", metavar="ADDRESS", default=None,
              help="Search on a Dask cluster (tcp://host:8786), one partition per worker, "
                   "or --jobs partitions; needs pip install 'shardcheck[cluster]'.")
def explore_command(design: str, workload: str, workers: int, strategy: str,
                    max_states: int | None, max_depth: int | None, time_limit: float | None,
                    step_bound: int, symmetry: bool, por: bool, compact: bool, persistent: bool,
                    criteria: tuple[str, ...], trace_out: str | None, force: bool,
                    quiet: bool, timeline: bool, every_input: bool, assume: str | None,
                    max_classes: int, audit: bool, jobs: int, scheduler: str | None) -> None:
    """Explore every schedule of DESIGN on a small configuration.

    DESIGN is a built-in name (`block-stm`), a mutant (`block-stm:scan-keys-only`), or
    your own design: `path/to/design.py:ClassName[:mutant]`.

    With --every-input, z3 first splits the initial stores into classes on which every
    transaction execution takes the same branches, and every schedule is explored once
    per class (see docs/prove.md).

    Exit code 0: every schedule explored, nothing violated. 1: a violation (its trace is
    written). 2: bad input. 3: a bound stopped the search first (not a pass).
    """
    console = make_console()
    found, ref = resolve_design(design)
    config = model.Config(load_workload(workload), workers)
    settings = SearchSettings(strategy=strategy, max_states=max_states,  # type: ignore[arg-type]
                              max_depth=max_depth, time_limit=time_limit,
                              step_bound=step_bound, symmetry=symmetry,
                              criteria=criteria or None, por=por, compact=compact,
                              persistent=persistent)
    parallel = _parallel(jobs, scheduler, settings, audit or every_input)
    if audit:
        from shardcheck.checker.cli.audit import run_audit

        sys.exit(run_audit(console, found, ref.spec(), config, settings))
    if trace_out is not None:
        check_writable(trace_out, force)
    if assume is not None and not every_input:
        raise click.UsageError("--assume narrows --every-input; add --every-input")
    if every_input:
        from shardcheck.checker.cli.every_input import explore_classes

        result, config = explore_classes(console, found, ref, config, settings, quiet, assume,
                                         max_classes)
    else:
        result = run_search(console, found, ref, config, settings, quiet, parallel)
    if result.verdict == "violation":
        path = record(console, result, ref, config, settings, trace_out, force)
        if timeline and result.path:
            console.print(timeline_for(result))
        command = trace_of(result, ref, config, settings).replay_command(path)
        console.print(f"trace written to {path}")
        console.print(f"replay with: [bold]{command}[/bold]")
        sys.exit(EXIT_VIOLATION)
    sys.exit(EXIT_OK if result.verdict == "pass" else EXIT_INCONCLUSIVE)


def _parallel(jobs: int, scheduler: str | None, settings: SearchSettings,
              other_mode: bool) -> tuple[int, str | None] | None:
    """Where a search runs: None for this process, else (jobs, scheduler address)."""
    from shardcheck.checker.errors import BadInput
    from shardcheck.checker.search import check_jobs, check_settings

    check_jobs(jobs)
    if jobs == 1 and scheduler is None:
        return None
    if other_mode:
        raise BadInput("--jobs and --scheduler run one plain search; drop --audit or "
                       "--every-input, or run them without --jobs")
    check_settings(settings)
    return jobs, scheduler


def run_search(console: Console, design: model.Design, ref: DesignRef, config: model.Config,
                settings: SearchSettings, quiet: bool,
                parallel: tuple[int, str | None] | None = None) -> SearchResult:
    print_header(console, design, ref, config, settings, parallel)
    with search_progress(console, quiet) as progress:
        if parallel is None:
            result = explore(design, config, settings, progress)
        else:
            from shardcheck.checker.search import explore_parallel

            result = explore_parallel(ref, config, settings, jobs=parallel[0],
                                      scheduler=parallel[1], progress=progress)
    print_result(console, result)
    return result


def trace_of(result: SearchResult, ref: DesignRef, config: model.Config,
              settings: SearchSettings) -> Trace:
    return Trace(ref, config.workload.spec, config.workers, result.initial_fingerprint,
                 result.path, result.violation, settings.step_bound,
                 (("command", "explore"), ("strategy", settings.strategy),
                  ("symmetry", settings.symmetry)), settings.criteria)


def default_trace_path(ref: DesignRef, result: SearchResult) -> str:
    stem = Path(ref.file).stem if ref.file else ref.name
    mutant = f"-{ref.mutant}" if ref.mutant else ""
    tail = result.path[-1].fingerprint[:8] if result.path else result.initial_fingerprint[:8]
    return f"shardcheck-{stem}{mutant}-{tail}.trace.json"


def record(console: Console, result: SearchResult, ref: DesignRef, config: model.Config,
            settings: SearchSettings, trace_out: str | None, force: bool) -> str:
    trace = trace_of(result, ref, config, settings)
    if trace_out is not None:
        write_trace(trace, trace_out, overwrite=force)
        return trace_out
    path = default_trace_path(ref, result)
    if Path(path).exists():
        try:
            same = load_trace(path) == trace
        except ShardcheckError:
            same = False
        if same:
            return path
        raise ShardcheckError(f"{path} exists with a different run in it; pass --trace-out to "
                              "choose another file, or --force with --trace-out to replace it")
    write_trace(trace, path)
    return path


def timeline_for(result: SearchResult) -> Any:
    return timeline(result.path, result.violation,
                    result.violation.step if result.violation else None)
