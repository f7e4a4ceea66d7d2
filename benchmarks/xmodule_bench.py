"""Benchmark: the cross-module designs, correct and mutant, on each mutant's configuration.

    python benchmarks/xmodule_bench.py           # the mutants' configurations, seconds
    python benchmarks/xmodule_bench.py --larger  # also bigger correct runs, a few minutes

For each mutant: states, states per second and time to its counterexample; for the
correct design on the same configuration: states and time to exhaust it. Machines here
are shared and noisy: compare figures from one run side by side, as ratios.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shardcheck import model
from shardcheck.checker import SearchSettings, explore

LARGER = (
    ("two-phase-commit", "xtransfers:xtxs=2,accounts=2,txs=2"),
    ("two-phase-commit", "xtransfers:xtxs=2,replays=1"),
    ("two-phase-commit", "xtransfers:xtxs=2,dups=1"),
    ("receipts", "xtransfers:xtxs=2,accounts=2,txs=2,reshard=1,dups=1"),
)


def _row(label: str, design: model.Design, spec: str) -> str:
    config = model.Config(model.build_workload(spec), 2)
    started = time.perf_counter()
    result = explore(design, config, SearchSettings())
    seconds = time.perf_counter() - started
    verdict = result.verdict
    if result.violation is not None:
        verdict = f"{result.violation.property} at step {result.violation.step}"
    rate = result.stats.states / seconds if seconds > 0 else 0.0
    return (f"| {label} | `{spec}` | {verdict} | {result.stats.states:,} | {rate:,.0f} | "
            f"{seconds:.2f} |")


def main() -> None:
    """Print one Markdown table: each mutant, then its correct design, per configuration."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--larger", action="store_true", help="also bigger correct runs")
    args = parser.parse_args()
    designs = model.builtin_designs()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print("| design | workload | verdict | states | states/s | seconds |")
    print("|---|---|---|---|---|---|")
    for name in ("two-phase-commit", "receipts"):
        design = designs[name]
        for mutant in design.mutants():
            failure = mutant.known_failure
            assert failure is not None, f"{name}:{mutant.name} has no known failure"
            print(_row(f"{name}:{mutant.name}", mutant.design, failure.workload), flush=True)
            print(_row(name, design, failure.workload), flush=True)
    if args.larger:
        for name, spec in LARGER:
            print(_row(name, designs[name], spec), flush=True)


if __name__ == "__main__":
    main()
