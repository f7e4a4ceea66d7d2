"""The ``shardcheck`` command line.

Exit codes: 0 nothing violated and the check did all it claims; 1 a violation was
found or a replay diverged; 2 bad input or usage; 3 inconclusive (a search cut off by
a bound). Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console

import model
from checker.designs import DesignRef, resolve_design
from checker.errors import (
    EXIT_INCONCLUSIVE,
    EXIT_OK,
    EXIT_VIOLATION,
    InternalError,
    ShardcheckError,
)
from checker.explorer import SearchResult, SearchSettings, explore
from checker.html_view import render_html, write_html
from checker.progress import search_progress
from checker.properties import BUILTIN_PROPERTIES, Judge
from checker.replay import ReplayResult, replay
from checker.report import print_result, timeline
from checker.trace import Trace, check_writable, load_trace, write_trace
from checker.version import VERSION

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_WORKLOAD = "counter:txs=3,keys=1"


class _Group(click.Group):
    """Turns our errors into one line and an exit code; never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ShardcheckError as exc:
            _fail(str(exc), exc.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except model.WorkloadError as exc:
            _fail(str(exc), 2)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except BrokenPipeError:
            # The reader went away (`| head`): nothing left to say to it.
            sys.stderr.close()
            sys.exit(141)
        except Exception as exc:  # anything else is ours
            error = InternalError(f"unexpected {type(exc).__name__}: {exc}")
            _fail(str(error), error.exit_code)


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"shardcheck: error: {message}", err=True)
    sys.exit(code)


def _console() -> Console:
    console = Console(highlight=False, soft_wrap=False)
    if not console.is_terminal:  # logs and pipes: wide enough for a timeline to stay legible
        console = Console(highlight=False, soft_wrap=False, width=150)
    return console


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(VERSION, prog_name="shardcheck")
def main() -> None:
    """Model-check parallel transaction execution designs and replay their failures.

    \b
    Verify a design:   shardcheck explore block-stm --workload counter:txs=3,keys=1
    Find a bug:        shardcheck explore block-stm:scan-keys-only --workload audit:txs=2
    Replay it:         shardcheck replay TRACE.json
    See what exists:   shardcheck designs; shardcheck workloads
    """


def _search_options(func: F) -> F:
    options = [
        click.option("--workload", "-w", default=DEFAULT_WORKLOAD, show_default=True,
                     help="Workload spec, e.g. transfers:txs=4,accounts=2 "
                          "(see `shardcheck workloads`)."),
        click.option("--workers", "-k", type=click.IntRange(1, 16), default=2,
                     show_default=True, help="Workers (threads) the design runs with."),
        click.option("--strategy", type=click.Choice(["bfs", "dfs"]), default="bfs",
                     show_default=True,
                     help="bfs finds the shortest counterexample; dfs goes deep first."),
        click.option("--max-states", type=click.IntRange(min=1), default=None,
                     help="Stop after this many distinct states (the result is inconclusive)."),
        click.option("--max-depth", type=click.IntRange(min=1), default=None,
                     help="Do not expand states deeper than this (inconclusive if it cuts)."),
        click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None,
                     help="Stop after this many seconds (inconclusive)."),
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
    ]
    for option in reversed(options):
        func = option(func)
    return func


@main.command(name="explore")
@click.argument("design")
@_search_options
@click.option("--trace-out", type=click.Path(dir_okay=False), default=None,
              help="Where to write the counterexample trace (default: a file named after "
                   "the design in the current directory).")
@click.option("--force", is_flag=True, help="Overwrite --trace-out if it exists.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
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
def explore_command(design: str, workload: str, workers: int, strategy: str,
                    max_states: int | None, max_depth: int | None, time_limit: float | None,
                    step_bound: int, symmetry: bool, por: bool, compact: bool, persistent: bool,
                    criteria: tuple[str, ...], trace_out: str | None, force: bool,
                    quiet: bool, timeline: bool, every_input: bool, assume: str | None,
                    max_classes: int, audit: bool, jobs: int, scheduler: str | None) -> None:
    """Explore every schedule of DESIGN on a small configuration.

    DESIGN is a built-in name (`block-stm`), a mutant (`block-stm:scan-keys-only`), or
    your own design: `path/to/design.py:ClassName[:mutant]`.

    With --every-input, z3 first splits the initial stores into classes on which every
    transaction execution takes the same branches, and every schedule is explored once
    per class (see docs/prove.md).

    Exit code 0: every schedule explored, nothing violated. 1: a violation (its trace is
    written). 2: bad input. 3: a bound stopped the search first (not a pass).
    """
    console = _console()
    found, ref = resolve_design(design)
    config = model.Config(model.build_workload(workload), workers)
    settings = SearchSettings(strategy=strategy, max_states=max_states,  # type: ignore[arg-type]
                              max_depth=max_depth, time_limit=time_limit,
                              step_bound=step_bound, symmetry=symmetry,
                              criteria=criteria or None, por=por, compact=compact,
                              persistent=persistent)
    parallel = _parallel(jobs, scheduler, settings, audit or every_input)
    if audit:
        from checker.audit_report import run_audit

        sys.exit(run_audit(console, found, ref.spec(), config, settings))
    if trace_out is not None:
        check_writable(trace_out, force)
    if assume is not None and not every_input:
        raise click.UsageError("--assume narrows --every-input; add --every-input")
    if every_input:
        from checker.cli_every_input import explore_classes

        result, config = explore_classes(console, found, ref, config, settings, quiet, assume,
                                         max_classes)
    else:
        result = _run_search(console, found, ref, config, settings, quiet, parallel)
    if result.verdict == "violation":
        path = _record(console, result, ref, config, settings, trace_out, force)
        if timeline and result.path:
            console.print(_timeline_for(result))
        command = _trace_of(result, ref, config, settings).replay_command(path)
        console.print(f"trace written to {path}")
        console.print(f"replay with: [bold]{command}[/bold]")
        sys.exit(EXIT_VIOLATION)
    sys.exit(EXIT_OK if result.verdict == "pass" else EXIT_INCONCLUSIVE)


def _parallel(jobs: int, scheduler: str | None, settings: SearchSettings,
              other_mode: bool) -> tuple[int, str | None] | None:
    """Where a search runs: None for this process, else (jobs, scheduler address)."""
    from checker.errors import BadInput
    from checker.parallel import check_jobs, check_settings

    check_jobs(jobs)
    if jobs == 1 and scheduler is None:
        return None
    if other_mode:
        raise BadInput("--jobs and --scheduler run one plain search; drop --audit or "
                       "--every-input, or run them without --jobs")
    check_settings(settings)
    return jobs, scheduler


def _run_search(console: Console, design: model.Design, ref: DesignRef, config: model.Config,
                settings: SearchSettings, quiet: bool,
                parallel: tuple[int, str | None] | None = None) -> SearchResult:
    print_header(console, design, ref, config, settings, parallel)
    with search_progress(console, quiet) as progress:
        if parallel is None:
            result = explore(design, config, settings, progress)
        else:
            from checker.parallel import explore_parallel

            result = explore_parallel(ref, config, settings, jobs=parallel[0],
                                      scheduler=parallel[1], progress=progress)
    print_result(console, result)
    return result


def print_header(console: Console, design: model.Design, ref: DesignRef, config: model.Config,
                 settings: SearchSettings,
                 parallel: tuple[int, str | None] | None = None) -> None:
    """What is explored: design (and mutant), configuration, bounds, properties."""
    console.print(f"[bold]shardcheck explore[/bold] {ref.spec()}")
    if ref.mutant:
        base, _ = resolve_design(DesignRef(ref.name, None, ref.file))
        summary = next((m.summary for m in base.mutants() if m.name == ref.mutant), "")
        console.print(f"  design    {base.name}: {base.summary}")
        console.print(f"  mutant    [bold]{ref.mutant}[/bold]: {summary}")
    else:
        console.print(f"  design    {design.name}: {design.summary}")
    console.print(f"  config    {config.describe()}")
    if parallel is not None:
        from checker.parallel import describe_parallel, parallel_settings

        settings = parallel_settings(settings, design)
        console.print(f"  parallel  {describe_parallel(*parallel, compact=settings.compact)}")
    console.print(f"  search    {settings.describe()}")
    if settings.symmetry and isinstance(design, model.Symmetric):
        console.print("  symmetry  actors are interchangeable: one state per renaming "
                      "(--no-symmetry explores them all)")
    names = Judge(design, config, settings.step_bound, settings.criteria).names()
    console.print(f"  checking  {', '.join(names)}")


def _trace_of(result: SearchResult, ref: DesignRef, config: model.Config,
              settings: SearchSettings) -> Trace:
    return Trace(ref, config.workload.spec, config.workers, result.initial_fingerprint,
                 result.path, result.violation, settings.step_bound,
                 (("command", "explore"), ("strategy", settings.strategy),
                  ("symmetry", settings.symmetry)), settings.criteria)


def _default_trace_path(ref: DesignRef, result: SearchResult) -> str:
    stem = Path(ref.file).stem if ref.file else ref.name
    mutant = f"-{ref.mutant}" if ref.mutant else ""
    tail = result.path[-1].fingerprint[:8] if result.path else result.initial_fingerprint[:8]
    return f"shardcheck-{stem}{mutant}-{tail}.trace.json"


def _record(console: Console, result: SearchResult, ref: DesignRef, config: model.Config,
            settings: SearchSettings, trace_out: str | None, force: bool) -> str:
    trace = _trace_of(result, ref, config, settings)
    if trace_out is not None:
        write_trace(trace, trace_out, overwrite=force)
        return trace_out
    path = _default_trace_path(ref, result)
    if Path(path).exists():
        try:
            same = load_trace(path) == trace
        except ShardcheckError:
            same = False
        if same:
            return path
        raise ShardcheckError(f"{path} exists with a different run in it; pass --trace-out to "
                              "choose another file, or --force with --trace-out to replace it")
    write_trace(trace, path)
    return path


def _timeline_for(result: SearchResult) -> Any:
    return timeline(result.path, result.violation,
                    result.violation.step if result.violation else None)


@main.command(name="replay")
@click.argument("trace_file", metavar="TRACE", type=click.Path(dir_okay=False))
@click.option("--design-file", type=click.Path(dir_okay=False), default=None,
              help="The design file a trace of a user design was recorded with. Replay never "
                   "runs a file you did not name here.")
@click.option("--timeline/--no-timeline", default=True, show_default=True,
              help="Print the replayed run, one column per actor.")
@click.option("--html", "html_out", type=click.Path(dir_okay=False), default=None,
              help="Also write the run as a self-contained HTML page: a space-time diagram "
                   "with a step slider.")
@click.option("--force", is_flag=True, help="Overwrite --html if it exists.")
def replay_command(trace_file: str, design_file: str | None, timeline: bool,
                   html_out: str | None, force: bool) -> None:
    """Re-execute TRACE step by step and say whether its violation reproduces.

    Every step is checked: the recorded action must be enabled and lead to the recorded
    fingerprint. The verdict is `reproduced`, `diverged at step i` (with what was expected
    and what happened) or `passes now`.

    Exit code 0: passes now, or a trace without violation reproduced. 1: the violation
    reproduced, or the run diverged. 2: bad input.
    """
    console = _console()
    trace = load_trace(trace_file)
    if html_out is not None:
        check_writable(html_out, force, option="--html", what="the page")
    console.print(f"[bold]shardcheck replay[/bold] {trace_file}")
    console.print(f"  design    {trace.design.spec()}")
    console.print(f"  config    workload {trace.workload}, {trace.workers} worker(s)")
    recorded = (f"{trace.violation.property} at step {trace.violation.step}"
                if trace.violation else "no violation")
    console.print(f"  recorded  {len(trace.steps)} steps, {recorded}")
    result = replay(trace, design_file)
    if timeline and result.steps:
        console.print(_replay_timeline(result))
    _print_replay(console, result)
    if html_out is not None:
        write_html(render_html(trace, result, trace_file), html_out, force)
        console.print(f"HTML page written to {html_out}")
    sys.exit(EXIT_VIOLATION if result.failed else EXIT_OK)


def _replay_timeline(result: ReplayResult) -> Any:
    highlight = result.diverged_at if result.verdict == "diverged" else (
        result.violation.step if result.violation else None)
    return timeline(result.steps, result.violation, highlight)


def _print_replay(console: Console, result: ReplayResult) -> None:
    if result.verdict == "reproduced":
        mark = "[red]✗ reproduced[/red]" if result.violation else "[green]✓ reproduced[/green]"
        console.print(f"{mark}: {result.message}")
    elif result.verdict == "diverged":
        console.print(f"[red]✗ diverged at step {result.diverged_at}[/red]: {result.message}")
    else:
        console.print(f"[green]✓ passes now[/green]: {result.message}")


@main.command(name="designs")
@click.option("--json", "as_json", is_flag=True,
              help="Machine-readable, with each mutant's smallest known failing configuration.")
def designs_command(as_json: bool) -> None:
    """List the built-in designs and their mutants, one line each."""
    designs = model.builtin_designs()
    if as_json:
        out = []
        for d in designs.values():
            out.append({
                "name": d.name,
                "summary": d.summary,
                "criteria": list(model.design_criteria(d)),
                "properties": [p.name for p in d.properties()],
                "mutants": [
                    {
                        "name": m.name,
                        "spec": f"{d.name}:{m.name}",
                        "summary": m.summary,
                        "fails_on": None if m.known_failure is None else {
                            "workload": m.known_failure.workload,
                            "workers": m.known_failure.workers,
                            "property": m.known_failure.property,
                            "steps": m.known_failure.steps,
                        },
                    }
                    for m in d.mutants()
                ],
            })
        click.echo(json.dumps(out, indent=2))
        return
    console = _console()
    for d in designs.values():
        console.print(f"[bold]{d.name}[/bold]  {d.summary}")
        for m in d.mutants():
            console.print(f"  {d.name}:{m.name}  {m.summary}")
    console.print("\nproperties every design is checked against: "
                  + ", ".join(name for name, _ in BUILTIN_PROPERTIES))
    console.print("terminal criteria a design (or --criterion) can choose: "
                  + ", ".join(model.CRITERIA))
    console.print("your own design: shardcheck explore path/to/design.py:ClassName "
                  "(see docs/tutorial.md)")


@main.command(name="workloads")
def workloads_command() -> None:
    """List the workload generators and their parameters."""
    console = _console()
    for generator in model.GENERATORS.values():
        console.print(f"[bold]{generator.name}[/bold]  {generator.summary}")
        for p in generator.params:
            choices = f" (one of {', '.join(p.choices)})" if p.choices else ""
            console.print(f"    {p.name}={p.default}  {p.description}{choices}")
    console.print("\nexample: --workload transfers:txs=4,accounts=2,seed=3")
    console.print("initial values: append @KEY=VALUE,... (or KEY=absent), e.g. "
                  "--workload transfers:txs=2@acct0=1")


@main.command(name="demo")
@click.option("--out-dir", type=click.Path(file_okay=False), default="shardcheck-demo",
              show_default=True, help="Where the demo writes its counterexample trace.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
def demo_command(out_dir: str, quiet: bool) -> None:
    """Verify Block-STM, find a real bug in a mutant, and replay its trace.

    The same as running, one after another:

    \b
      shardcheck explore block-stm --workload counter:txs=3,keys=1 --workers 2
      shardcheck explore block-stm:scan-keys-only --workload audit:txs=2 \\
          --trace-out shardcheck-demo/scan-keys-only.trace.json --force
      shardcheck replay shardcheck-demo/scan-keys-only.trace.json
    """
    console = _console()
    settings = SearchSettings()
    good, good_ref = resolve_design("block-stm")
    config = model.Config(model.build_workload("counter:txs=3,keys=1"), 2)
    console.rule("1. verify Block-STM: every schedule of 3 increments of one counter, 2 workers")
    first = _run_search(console, good, good_ref, config, settings, quiet)
    console.rule("2. the same check finds a real bug in a mutant (M09: scans validated by "
                 "keys only)")
    bad, bad_ref = resolve_design("block-stm:scan-keys-only")
    bad_config = model.Config(model.build_workload("audit:txs=2"), 2)
    second = _run_search(console, bad, bad_ref, bad_config, settings, quiet)
    if second.verdict != "violation":
        raise InternalError("the demo mutant was not caught")
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    path = str(Path(out_dir) / "scan-keys-only.trace.json")
    write_trace(_trace_of(second, bad_ref, bad_config, settings), path, overwrite=True)
    console.print(f"trace written to {path}")
    console.rule(f"3. replay the trace: shardcheck replay {path}")
    result = replay(load_trace(path))
    console.print(_replay_timeline(result))
    _print_replay(console, result)
    ok = first.verdict == "pass" and result.verdict == "reproduced"
    console.rule("summary")
    caught = second.violation.property if second.violation else "?"
    console.print(f"block-stm: {first.verdict} ({first.stats.states:,} states); "
                  f"block-stm:scan-keys-only: violation of {caught} in {len(second.path)} "
                  f"steps; replay: {result.verdict}")
    sys.exit(EXIT_OK if ok else EXIT_VIOLATION)


# Commands that live in their own modules; imported last because they import nothing
# from this one.
from checker.cli_history import check_history_command  # noqa: E402

main.add_command(check_history_command)


# Commands that live in their own modules; imported last, as they import helpers above.
from checker.cli_fuzz import fuzz_command  # noqa: E402

main.add_command(fuzz_command)

from checker.cli_ci import ci_command  # noqa: E402

main.add_command(ci_command)

from checker.cli_prove import prove_group  # noqa: E402

main.add_command(prove_group)

from checker.cli_every_input import prove_trace_command  # noqa: E402

main.add_command(prove_trace_command)
