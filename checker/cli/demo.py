"""``shardcheck demo``: the main job, verify Block-STM, catch a mutant, replay its trace."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from shardcheck import model
from shardcheck.checker.cli.console import Output
from shardcheck.checker.cli.explore import run_search, trace_of
from shardcheck.checker.cli.options import force_option, quiet_option
from shardcheck.checker.cli.replay import print_replay, replay_timeline
from shardcheck.checker.design import resolve_design
from shardcheck.checker.errors import EXIT_OK, EXIT_VIOLATION, InternalError
from shardcheck.checker.search import SearchSettings
from shardcheck.checker.trace import load_trace, replay, write_trace, write_trace_once


@click.command(name="demo")
@click.option("--out-dir", type=click.Path(file_okay=False), default="shardcheck-demo",
              show_default=True, help="Where the demo writes its counterexample trace.")
@force_option("a trace from another run in --out-dir")
@quiet_option
def demo_command(out_dir: str, force: bool, quiet: bool) -> None:
    """Verify Block-STM, find a real bug in a mutant, and replay its trace.

    The same as running, one after another:

    \b
      shardcheck explore block-stm --workload counter:txs=3,keys=1 --workers 2
      shardcheck explore block-stm:scan-keys-only --workload audit:txs=2 \\
          --trace-out shardcheck-demo/scan-keys-only.trace.json --force
      shardcheck replay shardcheck-demo/scan-keys-only.trace.json

    The demo itself keeps a trace of the same run already in --out-dir, and replaces
    one of another run only with --force.
    """
    out = Output.of("text", quiet)
    settings = SearchSettings()
    good, good_ref = resolve_design("block-stm")
    config = model.Config(model.build_workload("counter:txs=3,keys=1"), 2)
    out.report.rule("1. verify Block-STM: every schedule of 3 increments of one counter, "
                    "2 workers")
    first = run_search(out, good, good_ref, config, settings)
    out.report.rule("2. the same check finds a real bug in a mutant (M09: scans validated by "
                    "keys only)")
    bad, bad_ref = resolve_design("block-stm:scan-keys-only")
    bad_config = model.Config(model.build_workload("audit:txs=2"), 2)
    second = run_search(out, bad, bad_ref, bad_config, settings)
    if second.verdict != "violation":
        raise InternalError("the demo mutant was not caught")
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    path = str(Path(out_dir) / "scan-keys-only.trace.json")
    trace = trace_of(second, bad_ref, bad_config, settings)
    if force:
        write_trace(trace, path, overwrite=True)
    else:
        write_trace_once(trace, path, "pass --force to replace it, or choose another "
                                      "--out-dir")
    out.verdict.print(f"trace written to {path}")
    out.report.rule(f"3. replay the trace: shardcheck replay {path}")
    result = replay(load_trace(path))
    out.report.print(replay_timeline(result))
    print_replay(out.verdict, result)
    ok = first.verdict == "pass" and result.verdict == "reproduced"
    out.report.rule("summary")
    caught = second.violation.property if second.violation else "?"
    out.verdict.print(f"block-stm: {first.verdict} ({first.stats.states:,} states); "
                      f"block-stm:scan-keys-only: violation of {caught} in {len(second.path)} "
                      f"steps; replay: {result.verdict}")
    sys.exit(EXIT_OK if ok else EXIT_VIOLATION)
