"""Solver times for `shardcheck prove` claims on the standard workloads.

Run: python benchmarks/prove_bench.py
"""

from __future__ import annotations

import time
from collections.abc import Callable
from fractions import Fraction

import model
from checker.invariants import Invariant, conserved_sum
from checker.prove import QuorumConfig, prove_commute, prove_invariant, prove_quorum

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


if __name__ == "__main__":
    main()
