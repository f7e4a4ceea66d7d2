"""``explore --every-input`` and ``shardcheck prove-trace``: runs under every class of inputs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console

from shardcheck import model
from shardcheck.checker.cli.progress import search_progress
from shardcheck.checker.cli.report import print_result, timeline
from shardcheck.checker.design import DesignRef, load_workload
from shardcheck.checker.errors import EXIT_OK, EXIT_VIOLATION
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


def _classes(console: Console, workload: model.Workload, assume: str | None,
             max_classes: int, timeout: float, quiet: bool) -> InputClasses:
    formula = parse_assumption(workload, assume)
    if quiet or not console.is_terminal:
        found = input_classes(workload, formula, max_classes, timeout)
    else:
        with console.status("z3: splitting the initial stores by branch outcomes…"):
            found = input_classes(workload, formula, max_classes, timeout)
    console.print(f"  inputs    {found.describe()}")
    return found


def explore_classes(console: Console, design: model.Design, ref: DesignRef,
                    config: model.Config, settings: SearchSettings, quiet: bool,
                    assume: str | None, max_classes: int
                    ) -> tuple[SearchResult, model.Config]:
    """Explore once per input class; the deciding search and the configuration it ran on."""
    from shardcheck.checker.cli.report import print_header

    print_header(console, design, ref, config, settings)
    classes = _classes(console, config.workload, assume, max_classes, DEFAULT_TIMEOUT, quiet)
    total = len(classes.workloads)

    def search(class_config: model.Config) -> SearchResult:
        with search_progress(console, quiet) as progress:
            return explore(design, class_config, settings, progress)

    def on_result(number: int, entry: ClassResult) -> None:
        console.print(_class_line(number, total, entry))

    outcome: EveryInputResult = explore_every_input(design, config, settings, classes,
                                                    search, on_result)
    last = outcome.searched[-1]
    if outcome.verdict == "violation":
        console.print(f"  [bold]the violation needs the initial store "
                      f"{store_text(last.workload)}[/bold] (workload {last.workload.spec})")
        print_result(console, last.result)
    else:
        mark = "✓ no violation" if outcome.verdict == "pass" else "? inconclusive"
        console.print(f"{mark}: every schedule under each of {total} input class(es) "
                      f"({outcome.states:,} states in all)"
                      + (f"; {outcome.reason}" if outcome.reason else ""))
    return last.result, model.Config(last.workload, config.workers)


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
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True),
              default=DEFAULT_TIMEOUT, show_default=True,
              help="Seconds z3 may spend finding the classes.")
@click.option("--trace-out", type=click.Path(dir_okay=False), default=None,
              help="Where to write the run that breaks (default: TRACE's name with "
                   ".input.trace.json, in the current directory).")
@click.option("--force", is_flag=True, help="Overwrite --trace-out if it exists.")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: the verdict and every class's run, for machines.")
def prove_trace_command(trace_file: str, design_file: str | None, assume: str | None,
                        max_classes: int, timeout: float, trace_out: str | None, force: bool,
                        output: str) -> None:
    """Check TRACE's schedule for every initial store, not just the recorded one.

    z3 splits the workload's initial stores into classes on which every transaction
    execution takes the same branches (requires, conditional writes) whatever it reads,
    and the schedule (the recorded order of actors) runs once per class, on the store of
    the class closest to the recorded one. A scheduler that looks at data only through
    those branches behaves alike on every store of a class, so this covers them all.
    """
    trace = load_trace(trace_file)
    if trace_out is not None:
        check_writable(trace_out, force, "--trace-out")
    workload = load_workload(trace.workload)
    console = Console(stderr=output == "json")
    console.print(f"[bold]shardcheck prove-trace[/bold] {trace_file}")
    console.print(f"  schedule  {len(trace.steps)} steps of {trace.design.spec()} on "
                  f"{trace.workload}, {trace.workers} worker(s)")
    classes = _classes(console, workload, assume, max_classes, timeout, output == "json")
    total = len(classes.workloads)

    def on_run(number: int, run: ScheduleRun) -> None:
        mark = "✓" if run.violation is None else "✗"
        verdict = "ok" if run.violation is None else f"violates {run.violation.property}"
        console.print(f"  class {number}/{total}  {store_text(run.workload):<28} {mark} "
                      f"{verdict} ({run.describe()})")

    proof = prove_trace(trace, design_file, classes, on_run=on_run)
    failing = proof.failing
    path = ""
    if failing is not None:
        path = trace_out or _default_out(trace_file)
        check_writable(path, force, "--trace-out")
        write_trace(run_trace(trace, failing), path, overwrite=force)
    if output == "json":
        click.echo(json.dumps({
            "verdict": proof.verdict,
            "classes": [{"workload": r.workload.spec, "store": dict(r.workload.initial.values),
                         "violation": r.violation.to_json() if r.violation else None,
                         "as_recorded": r.as_recorded, "adapted": r.adapted,
                         "skipped": r.skipped, "completed": r.completed}
                        for r in proof.runs],
            "trace": path or None,
        }, indent=2))
    elif failing is not None:
        assert failing.violation is not None
        console.print(timeline(failing.steps, failing.violation, failing.violation.step))
        console.print(f"✗ refuted: on the initial store {store_text(failing.workload)} this "
                      f"schedule violates {failing.violation.property}: "
                      f"{failing.violation.message}")
        console.print(f"trace written to {path}")
        console.print(f"replay with: [bold]shardcheck replay {path}"
                      f"{' --design-file ' + design_file if design_file else ''}[/bold]")
    else:
        console.print(f"✓ proved: no initial store breaks this schedule ({total} class(es) "
                      "checked)")
    sys.exit(EXIT_VIOLATION if failing is not None else EXIT_OK)


def _default_out(trace_file: str) -> str:
    # In the current directory, like explore's traces: the input trace may sit in a
    # corpus the user does not want written into.
    stem = Path(trace_file).name.removesuffix(".json").removesuffix(".trace")
    return f"{stem}.input.trace.json"

