"""What ``shardcheck ci`` prints: the summary tables and the closing verdict lines.

Every line is built from the outcomes alone, in suite order, so two runs of the same
suite print the same text apart from the time column.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from shardcheck.checker.ci.runner import CheckOutcome, SuiteOutcome, TraceOutcome

MARKS = {
    "ok": "[green]✓[/green]",
    "mismatch": "[red]✗[/red]",
    "error": "[red]✗[/red]",
    "inconclusive": "[yellow]?[/yellow]",
    "allowed-inconclusive": "[yellow]?[/yellow]",
}


REPLAYED = {"reproduced": "reproduced", "diverged": "diverged", "passes": "passes now",
            "error": "could not replay"}


def _got(outcome: CheckOutcome) -> str:
    if outcome.verdict == "violation" and outcome.violation is not None:
        return f"violation of {outcome.violation.property} at step {outcome.violation.step}"
    if outcome.verdict == "inconclusive":
        return ("inconclusive (allowed)" if outcome.status == "allowed-inconclusive"
                else "inconclusive")
    return outcome.verdict


def checks_table(outcomes: tuple[CheckOutcome, ...]) -> Table:
    """One row per check: what ran, what it must give, what it gave."""
    table = Table(title="checks", title_justify="left")
    table.add_column("", no_wrap=True)
    table.add_column("check", overflow="fold", ratio=2)
    # What ran in one column: four narrow ones wrapped design paths letter by letter.
    table.add_column("run", overflow="fold", ratio=4)
    table.add_column("expected", overflow="fold", ratio=2)
    table.add_column("result", overflow="fold", ratio=2)
    table.add_column("work", justify="right", no_wrap=True)
    table.add_column("time", justify="right", no_wrap=True, style="dim")
    for outcome in outcomes:
        check = outcome.check
        budget = check.budget.describe()
        strategy = check.strategy if budget == "unbounded" else f"{check.strategy}, {budget}"
        run = (f"{check.design} on {check.workload_text()}, {check.workers} worker(s); "
               f"{strategy}")
        table.add_row(MARKS[outcome.status], check.name, run, check.expectation(),
                      _got(outcome), outcome.detail, f"{outcome.seconds:.1f}s")
    return table


def traces_table(outcomes: tuple[TraceOutcome, ...]) -> Table:
    """One row per corpus trace: its recorded verdict and whether replay still gives it."""
    table = Table(title="corpus", title_justify="left")
    table.add_column("", no_wrap=True)
    table.add_column("trace", overflow="fold")
    table.add_column("steps", justify="right")
    table.add_column("recorded", overflow="fold")
    table.add_column("replay", overflow="fold")
    table.add_column("time", justify="right", no_wrap=True, style="dim")
    for outcome in outcomes:
        table.add_row(MARKS[outcome.status], outcome.path, str(outcome.steps),
                      outcome.recorded, REPLAYED[outcome.replayed], f"{outcome.seconds:.2f}s")
    return table


def print_outcome(console: Console, outcome: SuiteOutcome,
                  report: Console | None = None) -> None:
    """The tables (on ``report``, by default ``console``), then on ``console`` a line per
    problem, the counterexamples written, and the verdict."""
    report = console if report is None else report
    if outcome.checks:
        report.print(checks_table(outcome.checks))
    if outcome.traces:
        report.print(traces_table(outcome.traces))
    for check in outcome.checks:
        if check.status != "ok":
            mark = MARKS[check.status]
            console.print(f"{mark} check [bold]{check.check.name}[/bold]: {check.message}",
                          markup=True)
            if check.trace_path is not None:
                console.print(f"    trace {check.trace_path}; replay with: "
                              f"shardcheck replay {check.trace_path}")
    for trace in outcome.traces:
        if trace.failed:
            console.print(f"{MARKS[trace.status]} trace [bold]{trace.path}[/bold]: recorded "
                          f"{trace.recorded}; {trace.message}")
    written = [c for c in outcome.checks if c.trace_path is not None and not c.in_corpus]
    for check in written:
        console.print(f"new counterexample of {check.check.name} written to {check.trace_path}")
    console.print(verdict_line(outcome))


def verdict_line(outcome: SuiteOutcome) -> str:
    """The last line: everything matched, or how many did not and which."""
    checks, traces = outcome.checks, outcome.traces
    counted = f"{len(checks)} check(s) and {len(traces)} trace(s)"
    allowed = [c.check.name for c in checks if c.status == "allowed-inconclusive"]
    note = (f" ({len(allowed)} inconclusive but allowed to be: {', '.join(allowed)})"
            if allowed else "")
    if not outcome.failed:
        return f"[green]✓ {counted} matched their expectations[/green]{note}"
    bad_checks = [c.check.name for c in checks if c.failed]
    bad_traces = [t.path for t in traces if t.failed]
    inconclusive = [c.check.name for c in checks if c.status == "inconclusive"]
    parts = []
    if bad_checks:
        parts.append(f"{len(bad_checks)} of {len(checks)} check(s) did not match: "
                     + ", ".join(bad_checks))
    if bad_traces:
        parts.append(f"{len(bad_traces)} of {len(traces)} trace(s) did not reproduce: "
                     + ", ".join(bad_traces))
    tail = ("; an inconclusive check ran out of budget, which is not a pass"
            if inconclusive else "")
    return f"[red]✗ {'; '.join(parts)}[/red]{tail}{note}"
