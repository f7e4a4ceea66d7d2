"""What the user reads: headers, statistics, violations and the per-actor timeline."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from shardcheck import model
from shardcheck.checker.cli.console import Output
from shardcheck.checker.design import (
    DesignRef,
    Step,
    Violation,
    design_title,
    resolve_design,
)
from shardcheck.checker.search import SearchResult, SearchSettings, Stats, path_notes


def stats_table(stats: Stats) -> Table:
    """Search statistics as a two-column table."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("distinct states", f"{stats.states:,}")
    table.add_row("transitions", f"{stats.transitions:,}")
    table.add_row("max depth", f"{stats.max_depth:,}")
    table.add_row("terminal states", f"{stats.terminal_states:,}")
    table.add_row("distinct outcomes", f"{stats.distinct_outcomes:,}")
    table.add_row("time", f"{stats.seconds:.2f}s")
    table.add_row("states/second", f"{stats.states_per_second:,.0f}")
    table.add_row("complete", "yes" if stats.complete else "no")
    table.add_row("search", stats.engine)
    if stats.collision_probability > 0:
        # TLC's estimate: the visited set holds 64-bit keys, not states.
        table.add_row("collision chance", f"{stats.collision_probability:.1e}")
    return table


def timeline(steps: Sequence[Step], violation: Violation | None = None,
             highlight: int | None = None) -> Table:
    """The run as a table with one column per actor, one row per step."""
    actors: list[str] = []
    for step in steps:
        if step.action.actor not in actors:
            actors.append(step.action.actor)
    table = Table(title="timeline", title_justify="left", show_lines=False)
    table.add_column("step", justify="right", style="dim")
    for actor in actors:
        table.add_column(actor, overflow="fold")
    table.add_column("what changed", style="dim", overflow="fold")
    for index, step in enumerate(steps, start=1):
        cells = ["" for _ in actors]
        cells[actors.index(step.action.actor)] = step.action.label()
        style = "bold red" if index == highlight else None
        table.add_row(str(index), *cells, "\n".join(step.changes), style=style)
    if violation is not None:
        table.caption = f"✗ step {violation.step}: {violation.property}: {violation.message}"
        table.caption_justify = "left"
    return table


def print_result(out: Output, result: SearchResult) -> None:
    """The statistics (the report) and the verdict line of a search."""
    out.report.print(stats_table(result.stats))
    if result.verdict == "pass":
        out.verdict.print(f"[green]✓ no violation[/green]: every schedule explored "
                          f"({result.stats.states:,} states)")
    elif result.verdict == "inconclusive":
        out.verdict.print(f"[yellow]? inconclusive[/yellow]: {result.reason}; the search did "
                          "not finish, so this is not a pass")
    elif result.violation is not None:
        v = result.violation
        out.verdict.print(f"[red]✗ violation of {v.property}[/red] after {v.step} steps: "
                          f"{v.message}")


def print_header(console: Console, design: model.Design, ref: DesignRef, config: model.Config,
                 settings: SearchSettings,
                 parallel: tuple[int, str | None] | None = None) -> None:
    """What is explored: design (and mutant), configuration, bounds, properties."""
    console.print(f"[bold]shardcheck explore[/bold] {escape(ref.spec())}", soft_wrap=True)
    if ref.mutant:
        base, _ = resolve_design(DesignRef(ref.name, None, ref.file))
        summary = next((m.summary for m in base.mutants() if m.name == ref.mutant), "")
        console.print(f"  design    {escape(design_title(base))}")
        console.print(f"  mutant    [bold]{escape(ref.mutant)}[/bold]: {escape(summary)}")
    else:
        console.print(f"  design    {escape(design_title(design))}")
    # A spec is copied into commands: it is never folded across lines.
    console.print(f"  config    {escape(config.describe())}", soft_wrap=True)
    for note in model.design_notes(design, config):
        console.print(f"  note      {escape(note)}")
    if parallel is not None:
        from shardcheck.checker.search import describe_parallel, parallel_settings

        settings = parallel_settings(settings, design)
        console.print(f"  parallel  {describe_parallel(*parallel, compact=settings.compact)}")
    console.print(f"  search    {settings.describe()}")
    if settings.symmetry and isinstance(design, model.Symmetric):
        console.print("  symmetry  actors are interchangeable: one state per renaming "
                      "(--no-symmetry explores them all)")
    judge = settings.judge(design, config)
    for note in path_notes(design, judge.state_properties, settings.compact):
        console.print(f"  path      {escape(note)}")
    console.print(f"  checking  {escape(', '.join(judge.names()))}")
