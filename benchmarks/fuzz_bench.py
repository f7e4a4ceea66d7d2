"""Benchmark: does the biased schedule find each Block-STM mutant sooner than a random walk?

    python benchmarks/fuzz_bench.py                  # every mutant, 3 seeds, 1000 runs each
    python benchmarks/fuzz_bench.py --seeds 1 --budget 300

For each mutant, on one block larger than exhaustive search finishes (10 transactions,
4 workers), two searches get the same budget of runs:

- ``runs``: ``shardcheck fuzz``'s campaign with its default, PCT-like schedule (long
  runs of one worker, then a switch), shrinking included;
- ``walk``: an unbiased uniform random walk, every step a uniform choice among the
  enabled actions, seeded, no hypothesis and no shrinking.

It prints runs and seconds to the first failure (averaged over the seeds that found
one; ``-`` when none did, with how many seeds found it), the shrunk trace length (the
walk's is its first failing run's length), and the ratio walk/runs of runs to the first
failure (a seed that never found the mutant counts as the whole budget, so the ratio is
a lower bound there). Machines here are shared and noisy: compare within one run.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shardcheck.checker.design.resolve import resolve_design
from shardcheck.checker.fuzz import (
    FuzzConfig,
    FuzzSettings,
    UniformSchedule,
    execute,
    fuzz,
    seeded_draw,
)
from shardcheck.checker.fuzz.strategies import configs, fixed_workload

WORKERS = 4
MUTANTS: tuple[tuple[str, str], ...] = (
    ("active-after-fetch", "counter:txs=10,keys=1"),
    ("single-collect", "counter:txs=10,keys=2"),
    ("dependency-check-outside-lock", "counter:txs=10,keys=1"),
    ("resume-keeps-execution-idx", "condwrite:txs=10,mode=vanish"),
    ("not-found-ignores-version", "condwrite:txs=10,mode=vanish"),
    ("newloc-first-incarnation", "condwrite:txs=10,mode=appear"),
    ("exists-unrecorded", "registry:txs=10,names=2"),
    ("read-own-entries", "counter:txs=10,keys=2"),
    ("scan-keys-only", "audit:txs=10,accounts=2"),
)


def biased(mutant: str, workload: str, seed: int,
           budget: int) -> tuple[int | None, float | None, int | None]:
    """Runs and seconds to the first failure, and the shrunk length, of a fuzz campaign."""
    result = fuzz(f"block-stm:{mutant}", configs(fixed_workload(workload), WORKERS),
                  FuzzSettings(examples=budget, seed=seed, database=None))
    if result.trace is None:
        return None, None, None
    return (result.stats.first_failure_run, result.stats.first_failure_seconds,
            len(result.trace.steps))


def walk(mutant: str, workload: str, seed: int,
         budget: int) -> tuple[int | None, float | None, int | None]:
    """Runs and seconds to the first failure, and its length, of a uniform random walk."""
    design, _ = resolve_design(f"block-stm:{mutant}")
    config = FuzzConfig(workload=workload, workers=WORKERS)
    started = time.monotonic()
    for index in range(budget):
        run = execute(design, config, UniformSchedule(seeded_draw(seed * 1_000_003 + index)),
                      10_000)
        if run.violation is not None:
            return index + 1, time.monotonic() - started, len(run.actions)
    return None, None, None


def _summary(found: list[tuple[int | None, float | None, int | None]],
             budget: int) -> tuple[str, str, str, float]:
    hits = [f for f in found if f[0] is not None]
    charged = statistics.mean(f[0] if f[0] is not None else budget for f in found)
    if not hits:
        return f"- (0/{len(found)})", "-", "-", charged
    runs = statistics.mean(f[0] for f in hits if f[0] is not None)
    seconds = statistics.mean(f[1] for f in hits if f[1] is not None)
    length = max(f[2] for f in hits if f[2] is not None)
    tag = "" if len(hits) == len(found) else f" ({len(hits)}/{len(found)})"
    return f"{runs:.0f}{tag}", f"{seconds:.2f}", str(length), charged


def main() -> None:
    """Run both searches on every mutant and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds per mutant and search")
    parser.add_argument("--budget", type=int, default=1000, help="runs per search")
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}; budget "
          f"{args.budget} runs, {args.seeds} seed(s), {WORKERS} workers")
    print(f"{'mutant':30} {'workload':29} {'runs: runs':>11} {'s':>6} {'shrunk':>6} "
          f"{'walk: runs':>11} {'s':>6} {'length':>6} {'walk/runs':>9}")
    for mutant, workload in MUTANTS:
        ours = [biased(mutant, workload, s, args.budget) for s in range(args.seeds)]
        theirs = [walk(mutant, workload, s, args.budget) for s in range(args.seeds)]
        a_runs, a_seconds, a_length, a_charged = _summary(ours, args.budget)
        b_runs, b_seconds, b_length, b_charged = _summary(theirs, args.budget)
        ratio = b_charged / a_charged
        print(f"{mutant:30} {workload:29} {a_runs:>11} {a_seconds:>6} {a_length:>6} "
              f"{b_runs:>11} {b_seconds:>6} {b_length:>6} {ratio:>9.1f}", flush=True)


if __name__ == "__main__":
    main()
