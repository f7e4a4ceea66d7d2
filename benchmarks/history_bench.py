"""How fast shardcheck decides serializability of large histories.

Histories are generated the way shared/research/serializability.md generated its own:
random transactions (4 reads, 2 writes) run in a shuffled serial order, so they are
serializable; "planted" adds one circular read (a G1c) so the anomaly search has work.

    python benchmarks/history_bench.py            # the issue's sizes (a few minutes)
    python benchmarks/history_bench.py --quick    # smaller sizes, for a smoke run

Figures are wall-clock seconds on whatever machine runs this; compare ratios, not
absolute numbers, across machines.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shardcheck.checker.history.indexed import (
    check_references,
    collector_paused,
    compile_history,
    replay_order,
)
from shardcheck.checker.history.polygraph import check_view
from shardcheck.checker.history.records import History, HistoryTx, Read, Write
from shardcheck.checker.history.serializability import check_history


def generate(n: int, keys: int, blind: float, seed: int = 1, planted: bool = False,
             versions: bool = True, preset: bool = True) -> History:
    """A serializable history: ``blind`` is the share of writes to keys not read."""
    rnd = random.Random(seed)
    state: dict[str, tuple[str | None, int]] = {}
    order = list(range(n))
    rnd.shuffle(order)
    built: dict[int, HistoryTx] = {}
    writers: dict[str, list[str]] = {}
    for t in order:
        tid = f"T{t}"
        chosen = rnd.sample(range(keys), 6)
        reads = [f"k{k}" for k in chosen[:4]]
        written = []
        for i in range(2):
            if rnd.random() < blind:
                written.append(f"k{chosen[4 + i]}")
            else:
                written.append(reads[i])
        ops: list[Read | Write] = []
        for key in reads:
            writer, value = state.get(key, (None, 0))
            ops.append(Read(key, value, writer))
        for i, key in enumerate(written):
            value = t * 10 + i + 1
            ops.append(Write(key, value))
        for i, key in enumerate(written):
            state[key] = (tid, t * 10 + i + 1)
            writers.setdefault(key, []).append(tid)
        built[t] = HistoryTx(tid, "committed", tuple(ops))
    txs = [built[t] for t in range(n)]
    if planted:
        # T_a reads T_b's write of a key T_b wrote after T_a ran: a circular flow.
        a, b = order[n // 3], order[2 * n // 3]
        tb = built[b]
        key, value = next((op.key, op.value) for op in tb.ops if isinstance(op, Write))
        ta = built[a]
        extra = Read(key, value, tb.id)
        txs[a] = HistoryTx(ta.id, "committed", (*ta.ops, extra))
        if not any(isinstance(op, Read) and op.writer == ta.id for op in tb.ops):
            wa = next((op for op in ta.ops if isinstance(op, Write)), None)
            if wa is not None:
                txs[b] = HistoryTx(tb.id, "committed", (Read(wa.key, wa.value, ta.id),
                                                          *tb.ops))
    final = {k: v for k, (_, v) in state.items()}
    return History(tuple(txs), initial={f"k{k}": 0 for k in range(keys)},
                   versions=writers if versions else (), final=final,
                   preset=[f"T{t}" for t in order] if preset else None)


_CPU: list[float] = [0.0]


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """Wall-clock seconds of one call; its CPU seconds are kept for ``row`` to print,
    since on a shared machine the process's own CPU time is the steadier figure."""
    # A full collection first, outside the clock: otherwise the one a previous call's
    # garbage makes due lands in whichever call happens to run next.
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    result = fn()
    _CPU[0] = time.process_time() - cpu
    return time.perf_counter() - start, result


def row(label: str, seconds: float, detail: str) -> None:
    print(f"  {label:<58} {seconds:7.2f} s wall {_CPU[0]:7.2f} s cpu   {detail}", flush=True)


def linear(n: int) -> None:
    print(f"\npreset order and conflict serializability, {n:,} transactions, 1,000 keys")
    with collector_paused():
        history = generate(n, 1_000, blind=0.5, seed=n)
        planted = generate(n, 1_000, blind=0.5, seed=n, planted=True)
        unordered = History(history.transactions, initial=history.initial,
                            versions=history.versions, final=history.final)
    cases = (("clean", history, "preset-order"),
             ("clean, preset known", history, "serializable"),
             ("clean, no preset: the graph", unordered, "serializable"),
             ("planted G1c", planted, "preset-order"),
             ("planted G1c", planted, "serializable"))
    # A loaded file has its references validated by the loader, once; a check on it then
    # finds them validated. Time that step alone, and the checks after it, as a user's
    # `check-history FILE` runs them.
    for h in (history, unordered, planted):
        seconds, _ = timed(lambda h=h: check_references(h))
    row("reference validation (the loader's, once per history)", seconds, "")
    for name, h, criterion in cases:
        seconds, report = timed(lambda h=h, c=criterion: check_history(h, [c]))
        v = report.verdicts[0]  # type: ignore[attr-defined]
        kinds = ",".join(a.kind for a in v.anomalies)
        row(f"{criterion} ({name})", seconds, f"{v.status} {kinds}")


def view(n: int, blind: float, label: str, unpruned: bool, timeout: float) -> None:
    with collector_paused():
        history = generate(n, n // 2, blind=blind, seed=n, versions=False, preset=False)
    seconds, report = timed(lambda: check_history(history, ["view-serializable"],
                                                  timeout_s=timeout))
    v = report.verdicts[0]  # type: ignore[attr-defined]
    s = v.stats
    detail = (f"{v.status}; {s.choices:,} choices, {s.residual:,} left after pruning, "
              f"settled by {s.settled_by}"
              + (f" ({s.search_decisions:,} decisions)" if s.settled_by == "search" else "")
              + (f" ({s.solver_nodes:,} nodes, {s.solver_edges:,} edges)"
                 if s.settled_by == "z3" else "") if s else v.status)
    row(f"view-serializable, {label}, {n:,} txns", seconds, detail)
    if unpruned:
        ix = compile_history(history)
        seconds_u, result = timed(lambda: check_view(
            ix, timeout, lambda order: replay_order(history, order), pruning=False))
        status = result.status  # type: ignore[attr-defined]
        ratio = f"{seconds_u / seconds:.1f}x slower" if status != "inconclusive" else (
            f">{timeout / seconds:.0f}x slower (gave up after {timeout:.0f} s)")
        row("  the same, whole polygraph to z3 (no pruning)", seconds_u,
            f"{status}; {ratio}")


def view_z3(n: int, blind: float, label: str, timeout: float) -> None:
    """The same question with the direct search off: pruning, then z3 alone."""
    with collector_paused():
        history = generate(n, n // 2, blind=blind, seed=n, versions=False, preset=False)
        ix = compile_history(history)
    seconds, result = timed(lambda: check_view(
        ix, timeout, lambda order: replay_order(history, order), search=False))
    row("  the same, pruning then z3 (no direct search)", seconds,
        result.status)  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--unpruned-timeout", type=float, default=120.0,
                        help="seconds the unpruned baseline may take")
    args = parser.parse_args()
    big = 10_000 if args.quick else 100_000
    linear(big // 2)
    linear(big)
    print("\nview serializability, read-modify-write (half the writes read their key first)")
    sizes = [1_250, 2_500] if args.quick else [1_250, 2_500, 5_000, 10_000]
    for n in sizes:
        view(n, blind=0.5, label="RMW", unpruned=n <= 1_250, timeout=args.unpruned_timeout)
        if n <= 5_000:
            view_z3(n, blind=0.5, label="RMW", timeout=args.unpruned_timeout)
    print("\nview serializability, every write blind")
    for n in [500, 1_000] if args.quick else [500, 1_000, 2_000]:
        view(n, blind=1.0, label="blind", unpruned=n <= 1_000, timeout=args.unpruned_timeout)
        view_z3(n, blind=1.0, label="blind", timeout=args.unpruned_timeout)


if __name__ == "__main__":
    main()
