"""Benchmark: states per second and time to exhaust for Block-STM, and time to each mutant.

    python benchmarks/bench.py            # the fixed configurations, about two minutes
    python benchmarks/bench.py --quick    # only the smallest configuration and the mutants

Machines here are shared and noisy: compare figures from one run side by side, as
ratios, rather than against numbers from another day.
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shardcheck import model
from shardcheck.checker import SearchSettings, explore

EXHAUST = (
    ("counter:txs=2,keys=1", 2),
    ("transfers:txs=2,accounts=2", 2),
    ("counter:txs=1,keys=1", 3),
    ("counter:txs=3,keys=1", 2),
)


def _peak_mb() -> float:
    """Peak resident memory of this process so far (the configurations grow, so the last
    row's figure is its own)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    """Run the benchmark and print one table per part."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smallest configuration only")
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}")
    design = model.builtin_designs()["block-stm"]
    print("\nblock-stm, exhaustive BFS")
    print(f"{'workload':28} {'workers':>7} {'symmetry':>8} {'states':>10} "
          f"{'transitions':>12} {'seconds':>8} {'states/s':>9} {'peak RSS MB':>12}")
    for spec, workers in EXHAUST[:1] if args.quick else EXHAUST:
        config = model.Config(model.build_workload(spec), workers)
        for symmetry in (False, True):
            started = time.perf_counter()
            result = explore(design, config, SearchSettings(symmetry=symmetry))
            seconds = time.perf_counter() - started
            assert result.verdict == "pass", result.violation
            print(f"{spec:28} {workers:>7} {'on' if symmetry else 'off':>8} "
                  f"{result.stats.states:>10,} {result.stats.transitions:>12,} "
                  f"{seconds:>8.2f} {result.stats.states / seconds:>9,.0f} "
                  f"{_peak_mb():>12,.0f}")
    print("\nblock-stm mutants, BFS to the first (shortest) counterexample")
    print(f"{'mutant':32} {'workload':28} {'symmetry':>8} {'states':>8} {'steps':>6} "
          f"{'seconds':>8}")
    for mutant in design.mutants():
        failure = mutant.known_failure
        assert failure is not None
        config = model.Config(model.build_workload(failure.workload), failure.workers)
        for symmetry in (False, True):
            started = time.perf_counter()
            result = explore(mutant.design, config, SearchSettings(symmetry=symmetry))
            seconds = time.perf_counter() - started
            assert result.violation is not None
            print(f"{mutant.name:32} {failure.workload:28} {'on' if symmetry else 'off':>8} "
                  f"{result.stats.states:>8,} {len(result.path):>6} {seconds:>8.2f}")


if __name__ == "__main__":
    main()
