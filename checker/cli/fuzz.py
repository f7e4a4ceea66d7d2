"""``shardcheck fuzz``: hypothesis-driven campaigns from the command line."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import attrs
import click
from rich.console import Console
from rich.live import Live
from rich.text import Text

from shardcheck import model
from shardcheck.checker.cli.console import Output
from shardcheck.checker.cli.documents import design_json, document, violation_json
from shardcheck.checker.cli.explore import TRACE_OUT_HINT
from shardcheck.checker.cli.options import (
    force_option,
    format_option,
    quiet_option,
    time_limit_option,
)
from shardcheck.checker.cli.report import timeline
from shardcheck.checker.design import DesignRef, load_workload, resolve_design
from shardcheck.checker.errors import (
    EXIT_INCONCLUSIVE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_VIOLATION,
    BadInput,
)
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
from shardcheck.checker.trace import Trace, check_writable, write_trace, write_trace_once

DEFAULT_WORKLOAD_STRATEGY = "mix:txs=2-12"


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
@time_limit_option("Stop after this many seconds: a pass if nothing failed yet; the smallest "
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
@force_option("--trace-out")
@quiet_option
@format_option("json: one result object on stdout (traces/fuzz-result.schema.json).")
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
                 trace_out: str | None, force: bool, quiet: bool, output_format: str,
                 timeline: bool, jobs: int, scheduler: str | None) -> None:
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
    out = Output.of(output_format, quiet)
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
    campaign = _Campaign(out, ref, described, workload is not None, (low, high), settings,
                         jobs, scheduler, trace_out, force, timeline)
    out.report.print(f"[bold]shardcheck fuzz[/bold] {ref.spec()}")
    out.report.print(f"  design     {found.name}: {found.summary}")
    out.report.print(f"  workloads  {described}, {workers} worker(s)")
    out.report.print(f"  budget     {settings.describe()}")
    if jobs != 1 or scheduler is not None:
        where = f"the Dask cluster at {scheduler}" if scheduler else "local processes"
        out.report.print(f"  parallel   {jobs} shard(s) with derived seeds, on {where}")
    out.report.print(f"  database   {settings.database or 'none'}")
    sample = FuzzConfig(workload=model.build_workload("counter:txs=1").spec, workers=low)
    out.report.print(f"  checking   {', '.join(judge_names(found, sample, step_bound))}")
    if jobs != 1 or scheduler is not None:
        from shardcheck.checker.fuzz import Campaign, fuzz_parallel

        shards = Campaign.of(ref, workload=workload, workload_strategy=described,
                             workers=(low, high), configs_name=f"{described}|{low}-{high}",
                             settings=settings)
        campaign.report(fuzz_parallel(shards, jobs=jobs, scheduler=scheduler))
    with _progress(out.progress, quiet) as show:
        result = fuzz(ref, configs, settings, configs_name=f"{described}|{low}-{high}",
                      progress=show)
    campaign.report(result)


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


@attrs.frozen
class _Campaign:
    """What a campaign was asked to do: enough to report its result and describe it."""

    out: Output
    ref: DesignRef
    described: str
    fixed: bool
    workers: tuple[int, int]
    settings: FuzzSettings
    jobs: int
    scheduler: str | None
    trace_out: str | None
    force: bool
    show_timeline: bool

    def document(self, result: FuzzResult, code: int, trace: str | None = None,
                 replay_command: str | None = None) -> dict[str, Any]:
        """The campaign's JSON document."""
        stats, settings, found = result.stats, self.settings, result.trace
        return document(
            "fuzz-result", verdict=result.verdict, exit_code=code,
            design=design_json(self.ref),
            workloads={"workload" if self.fixed else "strategy": self.described},
            workers={"low": self.workers[0], "high": self.workers[1]},
            settings={"examples": settings.examples, "time_limit": settings.time_limit,
                      "seed": settings.seed, "shrink_runs": settings.shrink_runs,
                      "schedule": settings.schedule, "step_bound": settings.step_bound,
                      "database": settings.database, "jobs": self.jobs,
                      "scheduler": self.scheduler},
            statistics={"runs": stats.runs, "failing_runs": stats.failing_runs,
                        "seconds": stats.seconds, "first_failure_run": stats.first_failure_run,
                        "first_failure_seconds": stats.first_failure_seconds,
                        "retried": stats.retried},
            reason=result.reason,
            violation=None if found is None else violation_json(found.violation),
            counterexample=None if found is None else {
                "workload": found.workload, "workers": found.workers,
                "steps": len(found.steps), "shrunk": result.shrunk},
            trace=trace, replay_command=replay_command)

    def report(self, result: FuzzResult) -> None:
        """Print the result, write its trace, and exit with its code."""
        out, stats = self.out, result.stats
        retried = f"; {stats.retried} saved example(s) retried first" if stats.retried else ""
        out.report.print(f"  ran        {stats.runs:,} runs in {stats.seconds:.1f}s{retried}")
        if result.verdict == "pass":
            out.verdict.print(f"[green]✓ no violation[/green]: {result.reason}")
            self.exit(result, EXIT_OK)
        if result.verdict == "inconclusive":
            out.verdict.print(f"[yellow]? inconclusive[/yellow]: {result.reason}; not a pass")
            self.exit(result, EXIT_INCONCLUSIVE)
        if result.verdict == "interrupted" or result.trace is None or result.run is None:
            out.verdict.print(f"[yellow]interrupted[/yellow]: {result.reason}; nothing failed "
                              "so far, and this is not a pass")
            self.exit(result, EXIT_INTERRUPTED)
        trace = result.trace
        violation = trace.violation
        assert violation is not None
        if self.trace_out is not None:
            path = self.trace_out
            write_trace(trace, path, overwrite=self.force)
        else:
            path = _default_trace_path(self.ref, trace)
            write_trace_once(trace, path, TRACE_OUT_HINT)
        if self.show_timeline and trace.steps:
            out.report.print(timeline(trace.steps, violation, violation.step))
        first = stats.first_failure_run
        out.report.print(f"  first failure after {first:,} run(s); shrunk to "
                         f"{len(trace.steps)} steps on {trace.workload}, {trace.workers} "
                         "worker(s)")
        if not result.shrunk:
            out.verdict.print(f"[yellow]shrinking stopped[/yellow]: {result.reason}; the trace "
                              "is the smallest failure found so far")
        out.verdict.print(f"[red]✗ violation of {violation.property}[/red] after "
                          f"{violation.step} steps: {violation.message}")
        command = trace.replay_command(path)
        out.verdict.print(f"trace written to {path}")
        out.verdict.print(f"replay with: [bold]{command}[/bold]")
        self.exit(result, EXIT_VIOLATION, path, command)

    def exit(self, result: FuzzResult, code: int, trace: str | None = None,
             replay_command: str | None = None) -> NoReturn:
        self.out.document(self.document(result, code, trace, replay_command))
        sys.exit(code)
