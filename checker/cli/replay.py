"""``shardcheck replay``: re-execute a trace and say whether its verdict still holds."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.console import Console

from shardcheck.checker.cli.console import Output
from shardcheck.checker.cli.documents import design_json, document, violation_json
from shardcheck.checker.cli.options import force_option, format_option, quiet_option
from shardcheck.checker.cli.report import timeline
from shardcheck.checker.errors import EXIT_DIVERGED, EXIT_OK, EXIT_VIOLATION
from shardcheck.checker.trace import (
    ReplayResult,
    check_writable,
    load_trace,
    render_html,
    replay,
    write_html,
)


@click.command(name="replay")
@click.argument("trace_file", metavar="TRACE", type=click.Path(dir_okay=False))
@click.option("--design-file", type=click.Path(dir_okay=False), default=None,
              help="The design file a trace of a user design was recorded with. Replay never "
                   "runs a file you did not name here.")
@click.option("--timeline/--no-timeline", default=True, show_default=True,
              help="Print the replayed run, one column per actor.")
@click.option("--html", "html_out", type=click.Path(dir_okay=False), default=None,
              help="Also write the run as a self-contained HTML page: a space-time diagram "
                   "with a step slider.")
@force_option("--html")
@quiet_option
@format_option("json: one result object on stdout (traces/replay-result.schema.json).")
def replay_command(trace_file: str, design_file: str | None, timeline: bool,
                   html_out: str | None, force: bool, quiet: bool, output_format: str) -> None:
    """Re-execute TRACE step by step and say whether its violation reproduces.

    Every step is checked: the recorded action must be enabled and lead to the recorded
    fingerprint. The verdict is `reproduced`, `diverged at step i` (with what was expected
    and what happened) or `passes now`.

    Exit code 0: passes now, or a trace without violation reproduced. 1: the violation
    reproduced. 2: bad input. 4: the run diverged from the trace (the design changed, or
    has hidden nondeterminism).
    """
    out = Output.of(output_format, quiet)
    trace = load_trace(trace_file)
    if html_out is not None:
        check_writable(html_out, force, option="--html", what="the page")
    out.report.print(f"[bold]shardcheck replay[/bold] {trace_file}")
    out.report.print(f"  design    {trace.design.spec()}")
    out.report.print(f"  config    workload {trace.workload}, {trace.workers} worker(s)")
    recorded = (f"{trace.violation.property} at step {trace.violation.step}"
                if trace.violation else "no violation")
    out.report.print(f"  recorded  {len(trace.steps)} steps, {recorded}")
    result = replay(trace, design_file)
    if timeline and result.steps:
        out.report.print(replay_timeline(result))
    print_replay(out.verdict, result)
    if html_out is not None:
        write_html(render_html(trace, result, trace_file), html_out, force)
        out.verdict.print(f"HTML page written to {html_out}")
    code = replay_exit_code(result)
    out.document(document(
        "replay-result", verdict=VERDICTS[result.verdict], exit_code=code,
        trace_file=trace_file, design=design_json(trace.design), workload=trace.workload,
        workers=trace.workers,
        recorded={"steps": len(trace.steps), "violation": violation_json(trace.violation)},
        replayed_steps=len(result.steps), diverged_at=result.diverged_at,
        message=result.message, violation=violation_json(result.violation), html=html_out))
    sys.exit(code)


VERDICTS = {"reproduced": "reproduced", "diverged": "diverged", "passes": "passes-now"}
"""Replay's verdicts as the JSON document spells them."""


def replay_exit_code(result: ReplayResult) -> int:
    """4 diverged; 1 the recorded violation reproduced; 0 it passes now, or a trace
    without a violation reproduced."""
    if result.verdict == "diverged":
        return EXIT_DIVERGED
    return EXIT_VIOLATION if result.violation is not None else EXIT_OK


def replay_timeline(result: ReplayResult) -> Any:
    highlight = result.diverged_at if result.verdict == "diverged" else (
        result.violation.step if result.violation else None)
    return timeline(result.steps, result.violation, highlight)


def print_replay(console: Console, result: ReplayResult) -> None:
    if result.verdict == "reproduced":
        mark = "[red]✗ reproduced[/red]" if result.violation else "[green]✓ reproduced[/green]"
        console.print(f"{mark}: {result.message}")
    elif result.verdict == "diverged":
        console.print(f"[red]✗ diverged at step {result.diverged_at}[/red]: {result.message}")
    else:
        console.print(f"[green]✓ passes now[/green]: {result.message}")
