"""``shardcheck explore``: every schedule of a design on a small configuration."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import attrs
import click

from shardcheck import model
from shardcheck.checker.cli.console import F, Output
from shardcheck.checker.cli.documents import (
    config_json,
    design_json,
    document,
    settings_json,
    stats_json,
    store_json,
    violation_json,
)
from shardcheck.checker.cli.options import (
    force_option,
    format_option,
    quiet_option,
    time_limit_option,
)
from shardcheck.checker.cli.progress import search_progress
from shardcheck.checker.cli.report import print_header, print_result, timeline
from shardcheck.checker.design import DesignRef, Selection, load_workload, resolve_design
from shardcheck.checker.errors import (
    EXIT_INCONCLUSIVE,
    EXIT_OK,
    EXIT_VIOLATION,
    BadInput,
    Inconclusive,
)
from shardcheck.checker.search import (
    EveryInputResult,
    SearchResult,
    SearchSettings,
    explore,
    parallel_settings,
)
from shardcheck.checker.trace import Trace, check_writable, write_trace, write_trace_once

TRACE_OUT_HINT = ("pass --trace-out to choose another file, or --force with --trace-out to "
                  "replace it")


def design_config(design: model.Design, workload: str | None,
                  workers: int | None) -> model.Config:
    """The configuration a command runs: the workload and worker count given, else the
    design's own defaults (``model.default_workload``); a workload that does not fit the
    design is refused here, before anything runs."""
    spec = workload if workload is not None else model.default_workload(design)
    config = model.Config(load_workload(spec),
                          workers if workers is not None else model.default_workers(design))
    misfit = model.workload_misfit(design, config.workload)
    if misfit is not None:
        raise BadInput(misfit)
    return config


def search_options(func: F) -> F:
    options = [
        click.option("--workload", "-w", default=None, metavar="SPEC|FILE",
                     help="Workload spec, e.g. transfers:txs=4,accounts=2 (see `shardcheck "
                          "workloads`), or your own block file (.json or .toml, "
                          "docs/variants.md). Default: the design's own (`shardcheck "
                          "designs`)."),
        click.option("--workers", "-k", type=click.IntRange(1, 16), default=None,
                     help="Workers (threads) the design runs with. Default: the design's "
                          "own."),
        click.option("--strategy", type=click.Choice(["bfs", "dfs"]), default="bfs",
                     show_default=True,
                     help="bfs finds the shortest counterexample; dfs goes deep first."),
        click.option("--max-states", type=click.IntRange(min=1), default=None,
                     help="Stop after this many distinct states (the result is inconclusive)."),
        click.option("--max-depth", type=click.IntRange(min=1), default=None,
                     help="Do not expand states deeper than this (inconclusive if it cuts)."),
        time_limit_option("Stop after this many seconds (inconclusive)."),
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
        click.option("--property", "only", multiple=True, metavar="NAME",
                     help="Check only this property (repeatable), besides deadlock and "
                          "termination; names as the header's `checking` line lists them."),
        click.option("--skip", multiple=True, metavar="NAME",
                     help="Leave this property out (repeatable): for a variant that changes "
                          "the protocol on purpose and no longer promises it."),
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
@force_option("--trace-out")
@quiet_option
@format_option("json: one result object on stdout (traces/explore-result.schema.json).")
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
def explore_command(design: str, workload: str | None, workers: int | None, strategy: str,
                    max_states: int | None, max_depth: int | None, time_limit: float | None,
                    step_bound: int, symmetry: bool, por: bool, compact: bool, persistent: bool,
                    criteria: tuple[str, ...], trace_out: str | None, force: bool,
                    quiet: bool, output_format: str, timeline: bool, every_input: bool,
                    assume: str | None, max_classes: int, audit: bool, jobs: int,
                    scheduler: str | None, only: tuple[str, ...], skip: tuple[str, ...]
                    ) -> None:
    """Explore every schedule of DESIGN on a small configuration.

    DESIGN is a built-in name (`block-stm`), a mutant (`block-stm:scan-keys-only`), or
    your own design: `path/to/design.py:ClassName[:mutant]`.

    With --every-input, z3 first splits the initial stores into classes on which every
    transaction execution takes the same branches, and every schedule is explored once
    per class (see docs/prove.md).

    Exit code 0: every schedule explored, nothing violated. 1: a violation (its trace is
    written). 2: bad input. 3: a bound stopped the search first (not a pass).
    """
    out = Output.of(output_format, quiet)
    found, ref = resolve_design(design)
    config = design_config(found, workload, workers)
    settings = SearchSettings(strategy=strategy, max_states=max_states,  # type: ignore[arg-type]
                              max_depth=max_depth, time_limit=time_limit,
                              step_bound=step_bound, symmetry=symmetry,
                              criteria=criteria or None, por=por, compact=compact,
                              persistent=persistent,
                              selection=Selection(only or None, skip))
    parallel = _parallel(jobs, scheduler, settings, audit or every_input)
    # A parallel search runs without sleep sets (and maybe off the compact path): the
    # document says what ran, as the header does.
    described = Described(ref, config, settings if parallel is None
                          else parallel_settings(settings, found), jobs, scheduler)
    if audit:
        from shardcheck.checker.cli.audit import run_audit

        code, section = run_audit(out, found, ref.spec(), config, settings)
        out.document(described.audit_document(code, section))
        sys.exit(code)
    if trace_out is not None:
        check_writable(trace_out, force)
    if assume is not None and not every_input:
        raise click.UsageError("--assume narrows --every-input; add --every-input")
    classes: EveryInputResult | None = None
    try:
        if every_input:
            from shardcheck.checker.cli.every_input import explore_classes

            classes = explore_classes(out, found, ref, config, settings, assume, max_classes)
            result = classes.searched[-1].result
            config = model.Config(classes.searched[-1].workload, config.workers)
            described = attrs.evolve(described, config=config)
        else:
            result = run_search(out, found, ref, config, settings, parallel)
    except Inconclusive as exc:
        # z3 could not split the stores, or decide a criterion: a verdict, not an error.
        out.verdict.print(f"[yellow]? inconclusive[/yellow]: {exc}; not a pass")
        out.document(described.document("inconclusive", EXIT_INCONCLUSIVE, reason=str(exc),
                                        every_input=every_input))
        sys.exit(EXIT_INCONCLUSIVE)
    if result.verdict != "violation":
        code = EXIT_OK if result.verdict == "pass" else EXIT_INCONCLUSIVE
        out.document(described.document(result.verdict, code, result, classes=classes,
                                        every_input=every_input))
        sys.exit(code)
    path = record(result, ref, config, settings, trace_out, force)
    if timeline and result.path:
        out.report.print(timeline_for(result))
    command = trace_of(result, ref, config, settings).replay_command(path)
    out.verdict.print(f"trace written to {path}")
    out.verdict.print(f"replay with: [bold]{command}[/bold]")
    out.document(described.document("violation", EXIT_VIOLATION, result, classes=classes,
                                     every_input=every_input, trace=path,
                                     replay_command=command))
    sys.exit(EXIT_VIOLATION)


@attrs.frozen
class Described:
    """What a run of explore was asked to do, for its JSON document."""

    ref: DesignRef
    config: model.Config
    settings: SearchSettings
    jobs: int
    scheduler: str | None

    def _head(self, verdict: str, code: int, mode: str) -> dict[str, Any]:
        return document("explore-result", verdict=verdict, exit_code=code, mode=mode,
                        design=design_json(self.ref), **config_json(self.config),
                        settings={**settings_json(self.settings), "jobs": self.jobs,
                                  "scheduler": self.scheduler})

    def document(self, verdict: str, code: int, result: SearchResult | None = None, *,
                 classes: EveryInputResult | None = None, every_input: bool = False,
                 reason: str | None = None, trace: str | None = None,
                 replay_command: str | None = None) -> dict[str, Any]:
        """The document of a search, or of a search per input class."""
        doc = self._head(verdict, code, "every-input" if every_input else "search")
        if result is not None and result.reason:
            reason = result.reason
        if classes is not None and classes.reason:
            reason = classes.reason
        doc.update(
            statistics=None if result is None else stats_json(result.stats),
            violation=None if result is None else violation_json(result.violation),
            trace=trace, replay_command=replay_command, reason=reason,
            input_classes=None if classes is None else {
                "classes": len(classes.classes.workloads),
                "states": classes.states,
                "searched": [{"workload": c.workload.spec, "store": store_json(c.workload),
                              "verdict": c.result.verdict, "states": c.result.stats.states,
                              "seconds": c.result.stats.seconds}
                             for c in classes.searched]},
            audit=None)
        return doc

    def audit_document(self, code: int, audit: dict[str, Any]) -> dict[str, Any]:
        """The document of ``--audit``: every reduction's search against none."""
        doc = self._head("agree" if code == EXIT_OK else "disagree", code, "audit")
        doc.update(statistics=None, violation=None, trace=None, replay_command=None,
                   reason=None, input_classes=None, audit=audit)
        return doc


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


def run_search(out: Output, design: model.Design, ref: DesignRef, config: model.Config,
               settings: SearchSettings,
               parallel: tuple[int, str | None] | None = None) -> SearchResult:
    """Print the header, search with a progress line, print the statistics and verdict."""
    print_header(out.report, design, ref, config, settings, parallel)
    with search_progress(out.progress, out.quiet) as progress:
        if parallel is None:
            result = explore(design, config, settings, progress)
        else:
            from shardcheck.checker.search import explore_parallel

            result = explore_parallel(ref, config, settings, jobs=parallel[0],
                                      scheduler=parallel[1], progress=progress)
    print_result(out, result)
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


def record(result: SearchResult, ref: DesignRef, config: model.Config,
           settings: SearchSettings, trace_out: str | None, force: bool) -> str:
    """Write the counterexample: to --trace-out, or to a file named after the run."""
    trace = trace_of(result, ref, config, settings)
    if trace_out is not None:
        write_trace(trace, trace_out, overwrite=force)
        return trace_out
    path = default_trace_path(ref, result)
    write_trace_once(trace, path, TRACE_OUT_HINT)
    return path


def timeline_for(result: SearchResult) -> Any:
    return timeline(result.path, result.violation,
                    result.violation.step if result.violation else None)
