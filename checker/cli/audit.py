"""``shardcheck explore --audit``: the reduction audit as a table, and its exit code."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from shardcheck import model
from shardcheck.checker.errors import EXIT_OK, EXIT_VIOLATION
from shardcheck.checker.search import SearchResult, SearchSettings, audit


def _verdict(result: SearchResult) -> str:
    if result.violation is not None:
        return f"violation ({result.violation.property})"
    return result.verdict


def run_audit(console: Console, design: model.Design, spec: str, config: model.Config,
              settings: SearchSettings) -> int:
    """Run the audit, print it, and return the exit code: 0 all agree, 1 one differs."""
    console.print(f"[bold]shardcheck explore --audit[/bold] {spec}")
    console.print(f"  config    {config.describe()}")
    report = audit(design, config, settings)
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
    console.print(table)
    if report.agrees:
        console.print("[green]✓ every reduction agrees[/green] with the search without any")
        return EXIT_OK
    console.print("[red]✗ a reduction changed an answer[/red]: this is a bug in the design's "
                  "footprints, its canonical form or its compact path, or in shardcheck")
    return EXIT_VIOLATION
