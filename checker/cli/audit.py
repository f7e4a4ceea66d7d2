"""``shardcheck explore --audit``: the reduction audit as a table, and its exit code."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from shardcheck import model
from shardcheck.checker.cli.console import Output
from shardcheck.checker.cli.documents import stats_json, violation_json
from shardcheck.checker.errors import EXIT_OK, EXIT_VIOLATION
from shardcheck.checker.search import SearchResult, SearchSettings, audit


def _verdict(result: SearchResult) -> str:
    if result.violation is not None:
        return f"violation ({result.violation.property})"
    return result.verdict


def _row(reduction: str, result: SearchResult, problems: tuple[str, ...] | None
         ) -> dict[str, Any]:
    return {"reduction": reduction, "verdict": result.verdict,
            "violation": violation_json(result.violation), "statistics": stats_json(result.stats),
            "outcomes": len(result.outcomes),
            "agrees": None if problems is None else not problems,
            "problems": list(problems or ())}


def run_audit(out: Output, design: model.Design, spec: str, config: model.Config,
              settings: SearchSettings) -> tuple[int, dict[str, Any]]:
    """Run the audit and print it; the exit code (0 all agree, 1 one differs) and the
    audit as JSON: the reference search and each reduction's."""
    out.report.print(f"[bold]shardcheck explore --audit[/bold] {spec}")
    out.report.print(f"  config    {config.describe()}")
    report = audit(design, config, settings)
    section = {"reference": _row("none", report.reference, None),
               "reductions": [_row(r.reduction, r.result, r.problems) for r in report.rows]}
    table = Table(title="each reduction alone against none", title_justify="left")
    for column in ("reduction", "verdict", "states", "transitions", "outcomes", "time",
                   "agrees"):
        table.add_column(column, justify="left" if column in ("reduction", "verdict",
                                                             "agrees") else "right")
    reference = report.reference
    table.add_row("none", _verdict(reference), f"{reference.stats.states:,}",
                  f"{reference.stats.transitions:,}", f"{len(reference.outcomes):,}",
                  f"{reference.stats.seconds:.2f}s", "")
    for row in report.rows:
        stats = row.result.stats
        table.add_row(row.reduction, _verdict(row.result), f"{stats.states:,}",
                      f"{stats.transitions:,}", f"{len(row.result.outcomes):,}",
                      f"{stats.seconds:.2f}s",
                      "[green]yes[/green]" if row.agrees else
                      "[red]no: " + "; ".join(row.problems) + "[/red]")
    out.report.print(table)
    if report.agrees:
        out.verdict.print("[green]✓ every reduction agrees[/green] with the search without any")
        return EXIT_OK, section
    out.verdict.print("[red]✗ a reduction changed an answer[/red]: this is a bug in the "
                      "design's footprints, its canonical form or its compact path, or in "
                      "shardcheck")
    return EXIT_VIOLATION, section
