"""How fast shardcheck decides serializability of large histories.

Three generators:

* ``generate``: the one shared/research/serializability.md used: random transactions (4
  reads, 2 writes) run in a shuffled serial order, so they are serializable; "planted"
  adds one circular read (a G1c) so the anomaly search has work.
* ``rw_register``: Elle's rw-register workload (jepsen-io/elle's generator defaults: 10
  active keys picked exponentially, 1 to 4 operations per transaction, half reads and
  half blind writes, a key retired after 32 writes), executed serially: serializable,
  with or without its version orders.
* ``rmw_chain_with_g1c``: issue 15's: a read-modify-write per transaction on key
  k{i % 100}, each reading the previous writer of its key, and at the end two
  transactions that read each other's fresh writes (a G1c on cx and cy).

    python benchmarks/history_bench.py                  # every section (minutes)
    python benchmarks/history_bench.py --only view-rw   # one section: linear, view-rmw,
                                                        # view-blind, view-rw, cycle
    python benchmarks/history_bench.py --quick          # smaller sizes, a smoke run
    python benchmarks/history_bench.py --only cycle --million   # issue 15 at 1,000,000

Each row of the view-rw and cycle sections runs in a fresh process, which builds its
history and reports the peak resident memory of the whole run (history included).
Figures are wall-clock seconds on whatever machine runs this; compare ratios, not
absolute numbers, across machines.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import random
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
    """The same question with the serial and direct searches off: pruning, then z3."""
    with collector_paused():
        history = generate(n, n // 2, blind=blind, seed=n, versions=False, preset=False)
        ix = compile_history(history)
    seconds, result = timed(lambda: check_view(
        ix, timeout, lambda order: replay_order(history, order), search=False, serial=False))
    row("  the same, pruning then z3 (no serial or direct search)", seconds,
        result.status)  # type: ignore[attr-defined]


def rw_register(n: int, seed: int = 1, versions: bool = False, key_count: int = 10,
                max_length: int = 4, max_writes: int = 32) -> History:
    """Elle's rw-register workload executed serially (see the module's docstring)."""
    rnd = random.Random(seed)
    pool = list(range(key_count))
    fresh = key_count
    writes: dict[int, int] = {}
    state: dict[str, tuple[str | None, int | None]] = {}
    order: dict[str, list[str]] = {}
    txs = []
    for t in range(n):
        tid = f"T{t}"
        ops: list[Read | Write] = []
        own: dict[str, int] = {}
        for _ in range(rnd.randint(1, max_length)):
            slot = min(int(rnd.expovariate(1 / 3)), key_count - 1)
            key = f"k{pool[slot]}"
            if rnd.random() < 0.5:
                if key in own:
                    ops.append(Read(key, own[key], tid))
                else:
                    writer, value = state.get(key, (None, None))
                    ops.append(Read(key, value, writer))
                continue
            count = writes[pool[slot]] = writes.get(pool[slot], 0) + 1
            own[key] = count
            ops.append(Write(key, count))
            if count >= max_writes:
                pool[slot] = fresh
                fresh += 1
        for key, value in own.items():
            state[key] = (tid, value)
            order.setdefault(key, []).append(tid)
        txs.append(HistoryTx(tid, "committed", tuple(ops)))
    keys = sorted({op.key for t in txs for op in t.ops})
    return History(tuple(txs), initial=dict.fromkeys(keys), versions=order if versions else ())


def rmw_chain_with_g1c(n: int) -> History:
    """Issue 15's generator (see the module's docstring)."""
    txs = []
    last: dict[str, tuple[str, int]] = {}
    for i in range(n):
        key = f"k{i % 100}"
        writer, value = last.get(key, (None, 0))
        txs.append(HistoryTx(f"T{i}", "committed", (Read(key, value, writer),
                                                     Write(key, i + 1))))
        last[key] = (f"T{i}", i + 1)
    txs.append(HistoryTx("A", "committed", (Write("cx", 1), Read("cy", 1, "B"))))
    txs.append(HistoryTx("B", "committed", (Write("cy", 1), Read("cx", 1, "A"))))
    initial = {f"k{j}": 0 for j in range(100)} | {"cx": 0, "cy": 0}
    return History(tuple(txs), initial=initial)


def _in_child(build: Callable[[], History], judge: Callable[[History], str],
              pipe: Any) -> None:
    with collector_paused():
        history = build()
    seconds, detail = timed(lambda: judge(history))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    pipe.send((seconds, _CPU[0], peak, detail))
    pipe.close()


def isolated(label: str, build: Callable[[], History], judge: Callable[[History], str]
             ) -> None:
    """Build a history and judge it in a fresh process; print the judging's time and the
    process's peak memory (the history's included)."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_in_child, args=(build, judge, send))
    child.start()
    seconds, cpu, peak, detail = receive.recv()
    child.join()
    print(f"  {label:<58} {seconds:7.2f} s wall {cpu:7.2f} s cpu {peak:6.0f} MiB peak   "
          f"{detail}", flush=True)


def _view_detail(history: History, serial: bool = True) -> str:
    if serial:
        v = check_history(history, ["view-serializable"]).verdicts[0]
        s = v.stats
        how = s.settled_by if s is not None else "the dependency graph"
        return f"{v.status}; settled by {how}"
    with collector_paused():
        ix = compile_history(history)
        result = check_view(ix, 120, lambda order: replay_order(history, order), serial=False)
    s = result.stats
    assert s is not None
    return (f"{result.status}; {s.choices:,} coalesced choices ({s.writes_combined:,} writes "
            f"combined), {s.forced:,} forced in {s.rounds} rounds, {s.residual:,} left, "
            f"settled by {s.settled_by}")


def view_rw(n: int, versions: bool, serial: bool = True) -> None:
    what = "with versions" if versions else "no versions"
    path = "" if serial else " (polygraph only)"
    isolated(f"view, rw-register, {what}, {n:,} txns{path}",
             lambda: rw_register(n, seed=n, versions=versions),
             lambda history: _view_detail(history, serial))


def _every_criterion(history: History) -> str:
    report = check_history(history)
    return "; ".join(f"{v.criterion} {v.status} {','.join(a.kind for a in v.anomalies)}"
                     for v in report.verdicts[:2])


def cycle(n: int) -> None:
    isolated(f"all criteria, issue 15's chain + G1c, {n:,} txns",
             lambda: rmw_chain_with_g1c(n), _every_criterion)


SECTIONS = ("linear", "view-rmw", "view-blind", "view-rw", "cycle")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--only", choices=SECTIONS, action="append",
                        help="run only this section (repeatable)")
    parser.add_argument("--million", action="store_true",
                        help="the cycle section also at 1,000,000 transactions")
    parser.add_argument("--unpruned-timeout", type=float, default=120.0,
                        help="seconds the unpruned baseline may take")
    args = parser.parse_args()
    chosen = set(args.only or SECTIONS)
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    big = 10_000 if args.quick else 100_000
    if "linear" in chosen:
        linear(big // 2)
        linear(big)
    if "view-rmw" in chosen:
        print("\nview serializability, read-modify-write (half the writes read their key first)")
        sizes = [1_250, 2_500] if args.quick else [1_250, 2_500, 5_000, 10_000]
        for n in sizes:
            view(n, blind=0.5, label="RMW", unpruned=n <= 1_250, timeout=args.unpruned_timeout)
            if n <= 5_000:
                view_z3(n, blind=0.5, label="RMW", timeout=args.unpruned_timeout)
    if "view-blind" in chosen:
        print("\nview serializability, every write blind")
        for n in [500, 1_000] if args.quick else [500, 1_000, 2_000]:
            view(n, blind=1.0, label="blind", unpruned=n <= 1_000,
                 timeout=args.unpruned_timeout)
            view_z3(n, blind=1.0, label="blind", timeout=args.unpruned_timeout)
    if "view-rw" in chosen:
        print("\nview serializability, Elle's rw-register workload (serial, blind writes)")
        for n in [1_000] if args.quick else [1_000, 10_000]:
            view_rw(n, versions=False)
            view_rw(n, versions=False, serial=False)
        view_rw(10_000 if args.quick else 100_000, versions=True)
    if "cycle" in chosen:
        print("\nissue 15: a G1c after a long chain of read-modify-writes")
        for n in [10_000] if args.quick else [40_000, *([1_000_000] if args.million else [])]:
            cycle(n)


if __name__ == "__main__":
    main()
