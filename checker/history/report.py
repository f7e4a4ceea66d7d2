"""What ``check-history`` prints: one row per criterion, then each anomaly spelled out."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from shardcheck.checker.history.serializability import Report, Verdict

STYLE = {"holds": "green", "violated": "bold red", "inconclusive": "yellow",
         "not-applicable": "dim"}
SHOWN_WITNESS = 24
SHOWN_ANOMALIES = 6


def verdict_table(report: Report) -> Table:
    """Each criterion with its status and one line of why."""
    table = Table(show_header=True, box=None, pad_edge=False, header_style="bold")
    table.add_column("criterion")
    table.add_column("verdict")
    table.add_column("why", overflow="fold")
    for v in report.verdicts:
        table.add_row(v.criterion, Text(v.status, style=STYLE[v.status]), v.summary)
    return table


def _witness(v: Verdict) -> str:
    assert v.witness is not None
    shown = " ".join(v.witness[:SHOWN_WITNESS])
    more = len(v.witness) - SHOWN_WITNESS
    return shown + (f" … ({more:,} more; --format json lists all)" if more > 0 else "")


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def print_report(console: Console, source: str, report: Report, details: bool = True) -> None:
    """The whole report for a terminal or a log; without ``details`` only the verdicts
    (one row per criterion, and the overall one), for ``--quiet``."""
    if details:
        head = Text.assemble(("history", "bold"), f" {source}: "
                             f"{_count(report.transactions, 'transaction')} "
                             f"({report.committed:,} committed), {_count(report.keys, 'key')}")
        console.print(head)
        for line in report.assumed:
            console.print(f"  {line}", markup=False)
    console.print(verdict_table(report))
    for v in report.verdicts if details else ():
        if v.status == "holds" and v.witness is not None:
            console.print(f"\n[bold]{v.criterion}[/bold] witness order: {_witness(v)}")
        elif v.anomalies:
            console.print(f"\n[bold]{v.criterion}[/bold] [red]violated[/red]:")
            for anomaly in v.anomalies[:SHOWN_ANOMALIES]:
                for line in anomaly.lines():
                    console.print("  " + line, markup=False)
            more = len(v.anomalies) - SHOWN_ANOMALIES
            if more > 0:
                console.print(f"  … and {more} more (--format json lists all)")
    verdict = report.status()
    console.print(("\n" if details else "") + f"[{STYLE[verdict]}]{verdict}[/{STYLE[verdict]}]")
