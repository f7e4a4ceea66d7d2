"""``explore --every-input`` and ``shardcheck prove-trace``: runs under every class of inputs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from shardcheck import model
from shardcheck.checker.cli.console import Output
from shardcheck.checker.cli.documents import design_json, document, store_json, violation_json
from shardcheck.checker.cli.options import (
    force_option,
    format_option,
    quiet_option,
    time_limit_option,
)
from shardcheck.checker.cli.progress import search_progress
from shardcheck.checker.cli.report import print_result, timeline
from shardcheck.checker.design import DesignRef, load_workload
from shardcheck.checker.errors import EXIT_INCONCLUSIVE, EXIT_OK, EXIT_VIOLATION, Inconclusive
from shardcheck.checker.search import (
    DEFAULT_MAX_CLASSES,
    DEFAULT_TIMEOUT,
    ClassResult,
    EveryInputResult,
    InputClasses,
    ScheduleRun,
    SearchResult,
    SearchSettings,
    explore,
    explore_every_input,
    input_classes,
    parse_assumption,
    prove_trace,
    run_trace,
    store_text,
)
from shardcheck.checker.trace import check_writable, load_trace, write_trace


def _classes(out: Output, workload: model.Workload, assume: str | None,
             max_classes: int, timeout: float) -> InputClasses:
    formula = parse_assumption(workload, assume)
    if out.quiet or not out.progress.is_terminal:
        found = input_classes(workload, formula, max_classes, timeout)
    else:
        with out.progress.status("z3: splitting the initial stores by branch outcomes…"):
            found = input_classes(workload, formula, max_classes, timeout)
    out.report.print(f"  inputs    {found.describe()}")
    return found


def explore_classes(out: Output, design: model.Design, ref: DesignRef,
                    config: model.Config, settings: SearchSettings,
                    assume: str | None, max_classes: int) -> EveryInputResult:
    """Explore once per input class; the last search decides (a violation stops the run)."""
    from shardcheck.checker.cli.report import print_header

    print_header(out.report, design, ref, config, settings)
    classes = _classes(out, config.workload, assume, max_classes, DEFAULT_TIMEOUT)
    total = len(classes.workloads)

    def search(class_config: model.Config) -> SearchResult:
        with search_progress(out.progress, out.quiet) as progress:
            return explore(design, class_config, settings, progress)

    def on_result(number: int, entry: ClassResult) -> None:
        out.report.print(_class_line(number, total, entry))

    outcome: EveryInputResult = explore_every_input(design, config, settings, classes,
                                                    search, on_result)
    last = outcome.searched[-1]
    if outcome.verdict == "violation":
        out.report.print(f"  [bold]the violation needs the initial store "
                         f"{store_text(last.workload)}[/bold] (workload {last.workload.spec})")
        print_result(out, last.result)
    else:
        mark = "✓ no violation" if outcome.verdict == "pass" else "? inconclusive"
        out.verdict.print(f"{mark}: every schedule under each of {total} input class(es) "
                          f"({outcome.states:,} states in all)"
                          + (f"; {outcome.reason}" if outcome.reason else ""))
    return outcome


def _class_line(number: int, total: int, entry: ClassResult) -> str:
    result = entry.result
    mark = {"pass": "✓", "violation": "✗", "inconclusive": "?"}[result.verdict]
    return (f"  class {number}/{total}  {store_text(entry.workload):<28} {mark} "
            f"{result.verdict} ({result.stats.states:,} states, {result.stats.seconds:.2f}s)")


@click.command(name="prove-trace", epilog=(
    "\b\nExit codes: 0 no class of inputs breaks the schedule; 1 one does (its run is "
    "written as a trace that `shardcheck replay` reproduces); 2 bad input; 3 z3 could not "
    "find every class (too many, or out of time; never a pass). See docs/prove.md."))
@click.argument("trace_file", metavar="TRACE", type=click.Path(dir_okay=False))
@click.option("--design-file", type=click.Path(dir_okay=False), default=None,
              help="For a trace of your own design: the file to load it from.")
@click.option("--assume", metavar="EXPR", default=None,
              help='Only initial stores where EXPR holds, e.g. "acct0 >= 0".')
@click.option("--max-classes", type=click.IntRange(min=1), default=DEFAULT_MAX_CLASSES,
              show_default=True, help="Give up (exit 3) past this many classes of inputs.")
@time_limit_option("Seconds z3 may spend finding the classes; when it runs out the answer is "
                   "inconclusive (exit 3), never a pass.", default=DEFAULT_TIMEOUT, old="--timeout")
@click.option("--trace-out", type=click.Path(dir_okay=False), default=None,
              help="Where to write the run that breaks (default: TRACE's name with "
                   ".input.trace.json, in the current directory).")
@force_option("--trace-out")
@quiet_option
@format_option("json: the verdict and every class's run, one object on stdout "
               "(traces/prove-trace-result.schema.json).")
def prove_trace_command(trace_file: str, design_file: str | None, assume: str | None,
                        max_classes: int, time_limit: float, trace_out: str | None,
                        force: bool, quiet: bool, output_format: str) -> None:
    """Check TRACE's schedule for every initial store, not just the recorded one.

    z3 splits the workload's initial stores into classes on which every transaction
    execution takes the same branches (requires, conditional writes) whatever it reads,
    and the schedule (the recorded order of actors) runs once per class, on the store of
    the class closest to the recorded one. A scheduler that looks at data only through
    those branches behaves alike on every store of a class, so this covers them all.
    """
    out = Output.of(output_format, quiet)
    trace = load_trace(trace_file)
    if trace_out is not None:
        check_writable(trace_out, force, "--trace-out")
    workload = load_workload(trace.workload)

    def doc(verdict: str, code: int, **fields: Any) -> dict[str, Any]:
        return document("prove-trace-result", verdict=verdict, exit_code=code,
                        trace_file=trace_file, design=design_json(trace.design),
                        workload=trace.workload, workers=trace.workers,
                        steps=len(trace.steps), time_limit=time_limit, **fields)

    out.report.print(f"[bold]shardcheck prove-trace[/bold] {trace_file}")
    out.report.print(f"  schedule  {len(trace.steps)} steps of {trace.design.spec()} on "
                     f"{trace.workload}, {trace.workers} worker(s)")
    try:
        classes = _classes(out, workload, assume, max_classes, time_limit)
    except Inconclusive as exc:
        out.verdict.print(f"[yellow]? inconclusive[/yellow]: {exc}; not a pass")
        out.document(doc("inconclusive", EXIT_INCONCLUSIVE, classes=[], violation=None,
                         trace=None, replay_command=None, reason=str(exc)))
        sys.exit(EXIT_INCONCLUSIVE)
    total = len(classes.workloads)

    def on_run(number: int, run: ScheduleRun) -> None:
        mark = "✓" if run.violation is None else "✗"
        verdict = "ok" if run.violation is None else f"violates {run.violation.property}"
        out.report.print(f"  class {number}/{total}  {store_text(run.workload):<28} {mark} "
                         f"{verdict} ({run.describe()})")

    proof = prove_trace(trace, design_file, classes, on_run=on_run)
    failing = proof.failing
    path: str | None = None
    command: str | None = None
    if failing is not None:
        assert failing.violation is not None
        path = trace_out or _default_out(trace_file)
        check_writable(path, force, "--trace-out")
        write_trace(run_trace(trace, failing), path, overwrite=force)
        command = (f"shardcheck replay {path}"
                   + (f" --design-file {design_file}" if design_file else ""))
        out.report.print(timeline(failing.steps, failing.violation, failing.violation.step))
        out.verdict.print(f"✗ refuted: on the initial store {store_text(failing.workload)} "
                          f"this schedule violates {failing.violation.property}: "
                          f"{failing.violation.message}")
        out.verdict.print(f"trace written to {path}")
        out.verdict.print(f"replay with: [bold]{command}[/bold]")
    else:
        out.verdict.print(f"✓ proved: no initial store breaks this schedule ({total} "
                          "class(es) checked)")
    code = EXIT_VIOLATION if failing is not None else EXIT_OK
    out.document(doc(
        proof.verdict, code,
        classes=[{"workload": r.workload.spec, "store": store_json(r.workload),
                  "violation": violation_json(r.violation), "as_recorded": r.as_recorded,
                  "adapted": r.adapted, "skipped": r.skipped, "completed": r.completed}
                 for r in proof.runs],
        violation=None if failing is None else violation_json(failing.violation),
        trace=path, replay_command=command, reason=None))
    sys.exit(code)


def _default_out(trace_file: str) -> str:
    # In the current directory, like explore's traces: the input trace may sit in a
    # corpus the user does not want written into.
    stem = Path(trace_file).name.removesuffix(".json").removesuffix(".trace")
    return f"{stem}.input.trace.json"

