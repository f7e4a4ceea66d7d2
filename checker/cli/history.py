"""``shardcheck check-history``: is a recorded history serializable, and if not, why."""

from __future__ import annotations

import sys
from contextlib import nullcontext

import click

from shardcheck.checker.cli.console import Output, make_console
from shardcheck.checker.cli.documents import document
from shardcheck.checker.cli.options import (
    force_option,
    format_option,
    quiet_option,
    time_limit_option,
)
from shardcheck.checker.errors import EXIT_INCONCLUSIVE, EXIT_OK, EXIT_VIOLATION
from shardcheck.checker.history import (
    CRITERIA,
    DEFAULT_SOLVER_TIMEOUT,
    check_history,
    check_page_target,
    load_history,
    print_report,
    render_page,
    write_page,
)

_CRITERIA_HELP = "\n".join(f"  {name:<18} {text}" for name, text in CRITERIA.items())


@click.command(name="check-history", epilog=(
    "\b\nCriteria:\n" + _CRITERIA_HELP + "\n\n"
    "\b\nExit codes: 0 every criterion checked holds; 1 one is violated; 2 the file or "
    "an option is bad; 3 undecided (the solver ran out of time, or a criterion you asked "
    "for needs facts the history does not record). The format is documented in "
    "docs/histories.md and traces/history.schema.json."))
@click.argument("history_file", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--criterion", "-c", "criteria", multiple=True,
              type=click.Choice(list(CRITERIA)),
              help="Check only this criterion (repeatable). Default: the first four, plus "
                   "strict-serializable and session when the history records times or "
                   "processes; those it lacks the facts for are reported as not applicable.")
@format_option("json: the full report, one object on stdout "
               "(traces/history-result.schema.json).")
@time_limit_option("Seconds z3 may spend on what the graph leaves open; when it runs out the "
                   "verdict is inconclusive, never a pass.", default=DEFAULT_SOLVER_TIMEOUT,
                   old="--solver-timeout")
@quiet_option
@click.option("--html", "html_out", type=click.Path(dir_okay=False), default=None,
              help="Also write the report as a self-contained HTML page, each anomaly's "
                   "cycle drawn as a graph.")
@force_option("--html")
def check_history_command(history_file: str, criteria: tuple[str, ...], output_format: str,
                          time_limit: float, quiet: bool, html_out: str | None,
                          force: bool) -> None:
    """Decide whether a recorded history (JSON or JSON Lines) is serializable.

    Each transaction lists its reads (key, value, and the writer it came from or the
    initial store) and writes in program order. The answer per criterion is the witness
    order, or the anomaly (G0, G1a, G1b, G1c, G-single, G2, write skew, lost update,
    cross-module) with its cycle spelled out transaction by transaction.
    """
    out = Output.of(output_format, quiet)
    if html_out is not None:
        check_page_target(html_out, force)
    status = make_console(stderr=True, quiet=quiet)
    watching = status.is_terminal and not quiet
    # A spinner on stderr while a large history loads and is checked (seconds at
    # 100,000 transactions); nothing when no one is watching.
    with status.status(f"loading {history_file}…") if watching else nullcontext() as spin:
        history = load_history(history_file)
        if spin is not None:
            spin.update(f"checking {len(history.transactions):,} transactions…")
        report = check_history(history, criteria, timeout_s=time_limit)
    verdict = report.status()
    asked_but_undecidable = criteria and any(v.status == "not-applicable"
                                             for v in report.verdicts)
    if verdict == "violated":
        code = EXIT_VIOLATION
    elif verdict == "inconclusive" or asked_but_undecidable:
        code = EXIT_INCONCLUSIVE
    else:
        code = EXIT_OK
    print_report(out.verdict, history_file, report, details=not quiet)
    if html_out is not None:
        write_page(render_page(report, history_file), html_out, force)
        click.echo(f"HTML page written to {html_out}", err=True)
    out.document(document("history-result", verdict=verdict, exit_code=code,
                          file=history_file, criteria=list(criteria), time_limit=time_limit,
                          **report.to_json()))
    sys.exit(code)
