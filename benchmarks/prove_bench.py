"""Solver times for `shardcheck prove` claims and for schedules checked for every input,
on the standard workloads.

Run: python benchmarks/prove_bench.py
"""

from __future__ import annotations

import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

from shardcheck import model
from shardcheck.checker import SearchSettings, explore, load_trace
from shardcheck.checker.design.resolve import resolve_design
from shardcheck.checker.prove.facts import (
    QuorumConfig,
    prove_commute,
    prove_invariant,
    prove_quorum,
)
from shardcheck.checker.prove.formulas import Invariant, conserved_sum
from shardcheck.checker.search.every_input import explore_every_input, input_classes, prove_trace

ROOT = Path(__file__).resolve().parent.parent

TIMEOUT_S = 60.0


def timed(label: str, work: Callable[[], str]) -> None:
    """Print how long ``work`` took and what it answered."""
    start = time.perf_counter()
    verdict = work()
    print(f"{label:<58} {verdict:<9} {time.perf_counter() - start:8.3f} s")


def main() -> None:
    """Conservation per transfer, commutativity of every pair, quorums of 4..100."""
    workload = model.build_workload("transfers:txs=4")
    conserve = Invariant("unchanged", conserved_sum("acct"), "sum('acct') is conserved")
    for tx in workload.block:
        timed(f"conserves acct: transfers:txs=4 T{tx.index}",
              lambda tx=tx: prove_invariant(workload, [tx], conserve, TIMEOUT_S)[0].verdict)
    for i, a in enumerate(workload.block):
        for b in workload.block[i + 1:]:
            timed(f"commute: transfers:txs=4 T{a.index} T{b.index}",
                  lambda a=a, b=b: prove_commute(workload, a, b, TIMEOUT_S).verdict)
    for n in (4, 10, 31, 64, 100):
        f = (n - 1) // 3
        config = QuorumConfig(tuple([1] * n), Fraction(2, 3), True, f)
        timed(f"quorum: {n} equal stakes, >2/3, f={f}",
              lambda c=config: prove_quorum(c, TIMEOUT_S).verdict)
        weak = QuorumConfig(tuple(range(1, n + 1)), Fraction(1, 2),
                            False, f)
        timed(f"quorum: stakes 1..{n}, >=1/2, f={f}",
              lambda c=weak: prove_quorum(c, TIMEOUT_S).verdict)


def every_input() -> None:
    """Classes of initial stores per workload; explore --every-input against plain explore;
    prove-trace on every kept Block-STM trace."""
    print()
    print(f"{'input classes (z3)':<44} {'classes':>7} {'atoms':>6} {'executions':>10} "
          f"{'time':>9}")
    for spec in ("transfers:txs=2", "transfers:txs=3", "transfers:txs=4",
                 "transfers:txs=4,accounts=2", "counter:txs=3,keys=1", "condwrite:txs=3",
                 "registry:txs=2", "audit:txs=2"):
        start = time.perf_counter()
        found = input_classes(model.build_workload(spec), timeout_s=TIMEOUT_S, max_classes=4096)
        print(f"{spec:<44} {len(found.workloads):>7} {found.atoms:>6} {found.executions:>10,} "
              f"{time.perf_counter() - start:8.3f} s")
    print()
    print(f"{'block-stm, 2 workers':<44} {'plain':>9} {'every input':>12} {'ratio':>6} "
          f"{'classes':>7}")
    design, _ = resolve_design("block-stm")
    for spec in ("transfers:txs=2,accounts=2,seed=2,balance=10", "transfers:txs=2",
                 "transfers:txs=2,accounts=2", "condwrite:txs=2", "registry:txs=2"):
        config = model.Config(model.build_workload(spec), 2)
        start = time.perf_counter()
        explore(design, config, SearchSettings())
        plain = time.perf_counter() - start
        start = time.perf_counter()
        classes = input_classes(config.workload, timeout_s=TIMEOUT_S)
        result = explore_every_input(design, config, SearchSettings(), classes)
        every = time.perf_counter() - start
        assert result.verdict == "pass", result
        print(f"{spec:<44} {plain:8.2f}s {every:11.2f}s {every / plain:5.1f}x "
              f"{len(classes.workloads):>7}")
    print()
    print(f"{'prove-trace on traces/block-stm/':<44} {'steps':>6} {'classes':>7} "
          f"{'verdict':>8} {'time':>9}")
    for path in sorted((ROOT / "traces" / "block-stm").glob("*.trace.json")):
        trace = load_trace(path)
        start = time.perf_counter()
        proof = prove_trace(trace, None, timeout_s=TIMEOUT_S)
        print(f"{path.name:<44} {len(trace.steps):>6} {len(proof.runs):>7} "
              f"{proof.verdict:>8} {time.perf_counter() - start:8.3f} s")


if __name__ == "__main__":
    main()
    every_input()
