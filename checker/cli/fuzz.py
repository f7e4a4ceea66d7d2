"""``shardcheck fuzz``: hypothesis-driven campaigns from the command line.

Registered on the ``main`` group in ``checker/cli.py``, whose error handling turns every
``ShardcheckError`` into one line and its exit code.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.live import Live
from rich.text import Text

from shardcheck import model
from shardcheck.checker.cli.console import make_console
from shardcheck.checker.cli.report import timeline
from shardcheck.checker.design import DesignRef, load_workload, resolve_design
from shardcheck.checker.errors import EXIT_INCONCLUSIVE, EXIT_OK, EXIT_VIOLATION, BadInput
from shardcheck.checker.fuzz import (
    DEFAULT_DATABASE,
    DEFAULT_EXAMPLES,
    DEFAULT_SHRINK_RUNS,
    SCHEDULES,
    FuzzConfig,
    FuzzProgress,
    FuzzResult,
    FuzzSettings,
    fuzz,
    judge_names,
)
from shardcheck.checker.fuzz import strategies as fuzz_strategies
from shardcheck.checker.search import check_jobs
from shardcheck.checker.trace import Trace, check_writable, write_trace

DEFAULT_WORKLOAD_STRATEGY = "mix:txs=2-12"
EXIT_INTERRUPTED = 130


def _workers(text: str) -> tuple[int, int]:
    low, dash, high = text.partition("-")
    try:
        bounds = (int(low), int(high)) if dash else (int(low), int(low))
    except ValueError:
        raise BadInput(f"--workers must be N or LOW-HIGH, got {text!r}") from None
    if not 1 <= bounds[0] <= bounds[1] <= fuzz_strategies.MAX_WORKERS:
        raise BadInput(f"--workers must be within 1..{fuzz_strategies.MAX_WORKERS}, "
                       f"got {text!r}")
    return bounds


@click.command(name="fuzz")
@click.argument("design")
@click.option("--workload", "-w", default=None, metavar="SPEC",
              help="Fuzz schedules of this one workload (see `shardcheck workloads`).")
@click.option("--workload-strategy", "-s", default=None, metavar="NAME[:txs=LOW-HIGH,...]",
              help="Draw workloads: mix, counter, transfers, condwrite, registry, audit or "
                   "chain; txs=LOW-HIGH bounds the block, conflict=0..1 crowds the keys "
                   f"(counter, transfers, mix). [default: {DEFAULT_WORKLOAD_STRATEGY}]")
@click.option("--workers", "-k", default="2-4", show_default=True, metavar="N|LOW-HIGH",
              help="Workers per run, fixed or drawn from a range.")
@click.option("--examples", "-n", type=int, default=DEFAULT_EXAMPLES, show_default=True,
              help="Runs to generate before declaring a pass (shrinking runs are extra).")
@click.option("--time-limit", type=float, default=None,
              help="Stop after this many seconds: a pass if nothing failed yet; the smallest "
                   "failure so far if shrinking was under way.")
@click.option("--shrink-runs", type=int, default=DEFAULT_SHRINK_RUNS, show_default=True,
              help="Runs to spend shrinking a failure, at most (0: report it as found).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="The campaign's seed: the same seed gives the same trace, byte for byte.")
@click.option("--schedule", type=click.Choice(SCHEDULES), default="runs", show_default=True,
              help="runs: long runs of one worker, then a switch (PCT-like); "
                   "uniform: any enabled action at every step.")
@click.option("--step-bound", type=int, default=10_000, show_default=True,
              help="A run longer than this violates termination.")
@click.option("--database", default=DEFAULT_DATABASE, show_default=True, metavar="DIR",
              help="Where failing examples are kept and retried first on the next run.")
@click.option("--no-database", is_flag=True, help="Keep no examples and retry none.")
@click.option("--trace-out", type=click.Path(dir_okay=False), default=None,
              help="Where to write the shrunk counterexample (default: a file named after "
                   "the design in the current directory).")
@click.option("--force", is_flag=True, help="Overwrite --trace-out if it exists.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
@click.option("--timeline/--no-timeline", default=True, show_default=True,
              help="Print the shrunk counterexample's per-actor timeline.")
@click.option("--jobs", "-j", type=int, default=1, show_default=True,
              help="Split the campaign into this many shards with seeds derived from --seed, "
                   "run side by side in local processes; the same seed and --jobs give the "
                   "same result (docs/parallel.md).")
@click.option("--scheduler", metavar="ADDRESS", default=None,
              help="Run the shards on a Dask cluster (tcp://host:8786); needs pip install "
                   "'shardcheck[cluster]'.")
def fuzz_command(design: str, workload: str | None, workload_strategy: str | None,
                 workers: str, examples: int, time_limit: float | None, shrink_runs: int,
                 seed: int,
                 schedule: str, step_bound: int, database: str, no_database: bool,
                 trace_out: str | None, force: bool, quiet: bool, timeline: bool, jobs: int,
                 scheduler: str | None) -> None:
    """Fuzz DESIGN: hypothesis draws workloads and schedules, and shrinks what fails.

    Every property of the design is checked on every run. A violation is shrunk (the
    block, the workers and the schedule together) and written as a trace that
    `shardcheck replay` reproduces. Failing examples are kept in the example database
    and retried first next time.

    \b
      shardcheck fuzz block-stm:read-own-entries --workload-strategy counter:txs=8-12 -k 4
      shardcheck fuzz block-stm --workload transfers:txs=10,accounts=3 --examples 2000

    Exit code 0: the budget ran out with nothing violated. 1: a violation (its trace is
    written). 2: bad input. 3: inconclusive (hypothesis could not generate runs).
    130: interrupted before anything failed.
    """
    console = make_console()
    if workload is not None and workload_strategy is not None:
        raise BadInput("give --workload or --workload-strategy, not both")
    check_jobs(jobs)
    found, ref = resolve_design(design)
    if workload is not None:
        workloads = fuzz_strategies.fixed_workload(workload)
        described = load_workload(workload).spec
    else:
        described = workload_strategy or DEFAULT_WORKLOAD_STRATEGY
        workloads = fuzz_strategies.workload_strategy(described)
    low, high = _workers(workers)
    configs = fuzz_strategies.configs(workloads, (low, high))
    settings = FuzzSettings(examples=examples, time_limit=time_limit, seed=seed,
                            shrink_runs=shrink_runs,
                            schedule=schedule,  # type: ignore[arg-type]
                            step_bound=step_bound, database=None if no_database else database)
    if trace_out is not None:
        check_writable(trace_out, force)
    console.print(f"[bold]shardcheck fuzz[/bold] {ref.spec()}")
    console.print(f"  design     {found.name}: {found.summary}")
    console.print(f"  workloads  {described}, {workers} worker(s)")
    console.print(f"  budget     {settings.describe()}")
    if jobs != 1 or scheduler is not None:
        where = f"the Dask cluster at {scheduler}" if scheduler else "local processes"
        console.print(f"  parallel   {jobs} shard(s) with derived seeds, on {where}")
    console.print(f"  database   {settings.database or 'none'}")
    sample = FuzzConfig(workload=model.build_workload("counter:txs=1").spec, workers=low)
    console.print(f"  checking   {', '.join(judge_names(found, sample, step_bound))}")
    if jobs != 1 or scheduler is not None:
        from shardcheck.checker.fuzz import Campaign, fuzz_parallel

        campaign = Campaign.of(ref, workload=workload, workload_strategy=described,
                               workers=(low, high), configs_name=f"{described}|{low}-{high}",
                               settings=settings)
        result = fuzz_parallel(campaign, jobs=jobs, scheduler=scheduler)
        _report(console, result, ref, settings, trace_out, force, timeline)
    with _progress(console, quiet) as show:
        result = fuzz(ref, configs, settings, configs_name=f"{described}|{low}-{high}",
                      progress=show)
    _report(console, result, ref, settings, trace_out, force, timeline)


@contextmanager
def _progress(console: Console, quiet: bool) -> Iterator[Callable[[FuzzProgress], None] | None]:
    """A live line while a person watches a terminal; nothing otherwise."""
    if quiet or not console.is_terminal:
        yield None
        return
    with Live(Text("fuzzing…"), console=console, transient=True,
              refresh_per_second=4) as live:
        shown = [0.0]

        def show(progress: FuzzProgress) -> None:
            # Called after every run; redrawing that often would cost more than the runs.
            if progress.seconds - shown[0] < 0.1:
                return
            shown[0] = progress.seconds
            smallest = ("" if progress.smallest_steps is None
                        else f", smallest failure {progress.smallest_steps} steps")
            live.update(Text(
                f"{progress.phase}: {progress.runs:,} runs, {progress.failing_runs:,} "
                f"failing{smallest}, {progress.seconds:.0f}s elapsed"))
        yield show


def _default_trace_path(ref: DesignRef, trace: Trace) -> str:
    stem = Path(ref.file).stem if ref.file else ref.name
    mutant = f"-{ref.mutant}" if ref.mutant else ""
    tail = trace.steps[-1].fingerprint[:8] if trace.steps else trace.initial_fingerprint[:8]
    return f"shardcheck-fuzz-{stem}{mutant}-{tail}.trace.json"


def _report(console: Console, result: FuzzResult, ref: DesignRef, settings: FuzzSettings,
            trace_out: str | None, force: bool, show_timeline: bool) -> None:
    stats = result.stats
    retried = f"; {stats.retried} saved example(s) retried first" if stats.retried else ""
    console.print(f"  ran        {stats.runs:,} runs in {stats.seconds:.1f}s{retried}")
    if result.verdict == "pass":
        console.print(f"[green]✓ no violation[/green]: {result.reason}")
        sys.exit(EXIT_OK)
    if result.verdict == "inconclusive":
        console.print(f"[yellow]? inconclusive[/yellow]: {result.reason}; not a pass")
        sys.exit(EXIT_INCONCLUSIVE)
    if result.verdict == "interrupted" or result.trace is None or result.run is None:
        console.print(f"[yellow]interrupted[/yellow]: {result.reason}; nothing failed so "
                      "far, and this is not a pass")
        sys.exit(EXIT_INTERRUPTED)
    trace = result.trace
    violation = trace.violation
    assert violation is not None
    path = trace_out if trace_out is not None else _default_trace_path(ref, trace)
    write_trace(trace, path, overwrite=force or trace_out is None)
    if show_timeline and trace.steps:
        console.print(timeline(trace.steps, violation, violation.step))
    first = stats.first_failure_run
    console.print(f"  first failure after {first:,} run(s); shrunk to {len(trace.steps)} steps "
                  f"on {trace.workload}, {trace.workers} worker(s)")
    if not result.shrunk:
        console.print(f"[yellow]shrinking stopped[/yellow]: {result.reason}; the trace is the "
                      "smallest failure found so far")
    console.print(f"[red]✗ violation of {violation.property}[/red] after {violation.step} "
                  f"steps: {violation.message}")
    console.print(f"trace written to {path}")
    console.print(f"replay with: [bold]{trace.replay_command(path)}[/bold]")
    sys.exit(EXIT_VIOLATION)
