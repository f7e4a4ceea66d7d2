"""``shardcheck demo``: the main job, verify Block-STM, catch a mutant, replay its trace."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from shardcheck import model
from shardcheck.checker.cli.console import make_console
from shardcheck.checker.cli.explore import run_search, trace_of
from shardcheck.checker.cli.replay import print_replay, replay_timeline
from shardcheck.checker.design import resolve_design
from shardcheck.checker.errors import EXIT_OK, EXIT_VIOLATION, InternalError
from shardcheck.checker.search import SearchSettings
from shardcheck.checker.trace import load_trace, replay, write_trace


@click.command(name="demo")
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
    console = make_console()
    settings = SearchSettings()
    good, good_ref = resolve_design("block-stm")
    config = model.Config(model.build_workload("counter:txs=3,keys=1"), 2)
    console.rule("1. verify Block-STM: every schedule of 3 increments of one counter, 2 workers")
    first = run_search(console, good, good_ref, config, settings, quiet)
    console.rule("2. the same check finds a real bug in a mutant (M09: scans validated by "
                 "keys only)")
    bad, bad_ref = resolve_design("block-stm:scan-keys-only")
    bad_config = model.Config(model.build_workload("audit:txs=2"), 2)
    second = run_search(console, bad, bad_ref, bad_config, settings, quiet)
    if second.verdict != "violation":
        raise InternalError("the demo mutant was not caught")
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    path = str(Path(out_dir) / "scan-keys-only.trace.json")
    write_trace(trace_of(second, bad_ref, bad_config, settings), path, overwrite=True)
    console.print(f"trace written to {path}")
    console.rule(f"3. replay the trace: shardcheck replay {path}")
    result = replay(load_trace(path))
    console.print(replay_timeline(result))
    print_replay(console, result)
    ok = first.verdict == "pass" and result.verdict == "reproduced"
    console.rule("summary")
    caught = second.violation.property if second.violation else "?"
    console.print(f"block-stm: {first.verdict} ({first.stats.states:,} states); "
                  f"block-stm:scan-keys-only: violation of {caught} in {len(second.path)} "
                  f"steps; replay: {result.verdict}")
    sys.exit(EXIT_OK if ok else EXIT_VIOLATION)
