"""Benchmark: serial against parallel exploration (local processes, a local Dask cluster).

    python benchmarks/parallel_bench.py            # block-stm and every other built-in design
    python benchmarks/parallel_bench.py --quick    # the smallest block-stm row only
    python benchmarks/parallel_bench.py --compact  # the bank's compact rows only
    python benchmarks/parallel_bench.py --dask     # add a two-process local Dask cluster

Each ordinary row runs the serial ordinary search without reductions (``--no-por
--no-compact``, the search a parallel run of a design without a compact path
reproduces), then ``--jobs 2``, and checks that the results are identical. Each compact
row (the bank, the peers' standard model) runs the serial compact search with the
row's reductions and ``--jobs 2`` with the same ones, and checks the same. On an
ordinary row the serial search with its reductions on (the default) is shown too, for
scale. Machines here are shared: the load average is printed before and after, and
only ratios measured in one run mean anything. The ``free-core`` column estimates the
speed-up had every process a core to itself: serial processor time over the
coordinator's plus the busiest worker's processor time (they take turns), which waiting
for a core held by another program does not inflate.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import attrs

from shardcheck import model
from shardcheck.checker.design.resolve import resolve_design
from shardcheck.checker.search.explorer import SearchResult, SearchSettings, explore
from shardcheck.checker.search.parallel import Job, ProcessHost, explore_on, parallel_settings

# (design, workload, workers, state bound): bounded rows stop at the same serial point.
ROWS = (
    ("block-stm", "counter:txs=3,keys=1", 2, None),
    ("block-stm", "transfers:txs=2,accounts=2", 2, None),
    ("block-stm", "transfers:txs=4", 3, 150_000),
    ("bank", "bank:txs=5,accounts=3", 3, None),
    ("two-phase-commit", "xtransfers:xtxs=2,dups=1", 2, None),
    ("receipts", "xtransfers:xtxs=3,dups=2", 2, 100_000),
    ("bft", "bft", 2, 50_000),
)


# (workload, workers, reductions): the bank on its compact path, serial and --jobs 2.
COMPACT_ROWS: tuple[tuple[str, int, dict[str, bool]], ...] = (
    ("bank:txs=6,accounts=3", 3, {"symmetry": False, "persistent": False}),
    ("bank:txs=6,accounts=3", 3, {"symmetry": True, "persistent": False}),
    ("bank:txs=6,accounts=3", 3, {"symmetry": True, "persistent": True}),
)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _same(a: SearchResult, b: SearchResult) -> bool:
    def strip(r: SearchResult) -> SearchResult:
        return attrs.evolve(r, stats=attrs.evolve(r.stats, seconds=0.0))
    return strip(a) == strip(b)


def _row(label: str, result: SearchResult, seconds: float, base: float, same: str,
         free: str = "") -> None:
    print(f"  {label:26} {result.verdict:12} {result.stats.states:>9,} "
          f"{result.stats.transitions:>11,} {seconds:>8.2f} "
          f"{result.stats.states / seconds:>9,.0f} {base / seconds:>8.2f}x {same:>5} {free:>9}")


def main() -> None:
    """Run the rows and print one block per configuration."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the smallest row only")
    parser.add_argument("--dask", action="store_true", help="also on a local Dask cluster")
    parser.add_argument("--jobs", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--compact", action="store_true", help="the compact rows only")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds of each compact row (serial and parallel interleaved); "
                             "the median is shown")
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}, "
          f"{os.cpu_count()} cores; load average {_load()}")
    cluster = None
    if args.dask:
        from distributed import LocalCluster

        started = time.perf_counter()
        cluster = LocalCluster(n_workers=args.jobs, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        print(f"Dask local cluster of {args.jobs} processes started in "
              f"{time.perf_counter() - started:.1f}s (not counted below)")
    print(f"  {'run':26} {'verdict':12} {'states':>9} {'transitions':>11} {'seconds':>8} "
          f"{'states/s':>9} {'speed-up':>9} {'same':>5} {'free-core':>9}")
    known = model.builtin_designs()
    if not args.quick:
        for workload, workers, reductions in COMPACT_ROWS:
            _compact_row(workload, workers, reductions, args.jobs, args.repeat)
    for spec, workload, workers, bound in () if args.compact else \
            ROWS[:1] if args.quick else ROWS:
        if spec.split(":")[0] not in known:
            continue
        design, ref = resolve_design(spec)
        config = model.Config(model.build_workload(workload), workers)
        bounded = f", --max-states {bound:,}" if bound else ""
        print(f"{spec} {workload}, {workers} workers{bounded}")
        plain = SearchSettings(max_states=bound, por=False, compact=False)
        started = time.perf_counter()
        cpu = time.process_time()
        serial = explore(design, config, plain)
        base = time.perf_counter() - started
        serial_cpu = time.process_time() - cpu
        _row("serial --no-por", serial, base, base, "")
        started = time.perf_counter()
        reduced = explore(design, config, SearchSettings(max_states=bound))
        _row("serial (reductions on)", reduced, time.perf_counter() - started, base, "")
        job = Job.of(ref, config, parallel_settings(plain))
        started = time.perf_counter()
        host = ProcessHost.partitions(args.jobs, job)
        boot = time.perf_counter() - started
        try:
            booted: list[float] = host.call_all("cpu_seconds", [()] * args.jobs)
            cpu = time.process_time()
            result = explore_on(host, design, config, plain)
            coordinator = time.process_time() - cpu
            spent = [after - before for after, before in
                     zip(host.call_all("cpu_seconds", [()] * args.jobs), booted, strict=True)]
        finally:
            host.close()
        total = time.perf_counter() - started
        # Processor time does not count waiting for a core another program holds: the
        # coordinator and the busiest worker take turns, so their sum is the wall time
        # the search would take with a free core per process.
        free = serial_cpu / (coordinator + max(spent))
        _row(f"--jobs {args.jobs} (incl. {boot:.1f}s start)", result, total, base,
             "yes" if _same(serial, result) else "NO", f"{free:.2f}x")
        if cluster is not None:
            from shardcheck.checker.search.cluster import DaskHost

            started = time.perf_counter()
            dask_host = DaskHost.partitions(cluster.scheduler_address, args.jobs, job)
            try:
                result = explore_on(dask_host, design, config, plain)
            finally:
                dask_host.close()
            _row(f"dask, {args.jobs} partitions", result, time.perf_counter() - started, base,
                 "yes" if _same(serial, result) else "NO")
    if cluster is not None:
        cluster.close()
    print(f"load average after: {_load()}")


def _timed_parallel(ref: Any, design: model.Design, config: model.Config,
                    settings: SearchSettings, jobs: int) -> tuple[SearchResult, float, float]:
    """One parallel run: its result, wall time (workers' start included) and the
    processor time of the coordinator plus the busiest worker."""
    job = Job.of(ref, config, parallel_settings(settings, design))
    started = time.perf_counter()
    host = ProcessHost.partitions(jobs, job)
    try:
        booted: list[float] = host.call_all("cpu_seconds", [()] * jobs)
        cpu = time.process_time()
        result = explore_on(host, design, config, settings)
        coordinator = time.process_time() - cpu
        spent = [after - before for after, before in
                 zip(host.call_all("cpu_seconds", [()] * jobs), booted, strict=True)]
    finally:
        host.close()
    return result, time.perf_counter() - started, coordinator + max(spent)


def _compact_row(workload: str, workers: int, reductions: dict[str, bool], jobs: int,
                 repeat: int) -> None:
    """The bank on its compact path: serial and ``--jobs`` with the same reductions,
    interleaved ``repeat`` times; medians."""
    design, ref = resolve_design("bank")
    config = model.Config(model.build_workload(workload), workers)
    settings = SearchSettings(**reductions)
    on = [name for name, value in reductions.items() if value] or ["no reduction"]
    print(f"bank {workload}, {workers} workers, compact path, {' + '.join(on)}")
    serial_runs: list[tuple[float, float]] = []
    parallel_runs: list[tuple[float, float]] = []
    same = True
    serial: SearchResult | None = None
    result: SearchResult | None = None
    for _ in range(repeat):
        started = time.perf_counter()
        cpu = time.process_time()
        serial = explore(design, config, settings)
        serial_runs.append((time.perf_counter() - started, time.process_time() - cpu))
        result, wall, busy = _timed_parallel(ref, design, config, settings, jobs)
        parallel_runs.append((wall, busy))
        same = same and _same(serial, result)
    assert serial is not None and result is not None
    base = statistics.median(wall for wall, _ in serial_runs)
    base_cpu = statistics.median(cpu for _, cpu in serial_runs)
    wall = statistics.median(wall for wall, _ in parallel_runs)
    busy = statistics.median(busy for _, busy in parallel_runs)
    _row("serial", serial, base, base, "")
    # Free core: serial processor time over the coordinator's plus the busiest worker's.
    _row(f"--jobs {jobs} (incl. start)", result, wall, base, "yes" if same else "NO",
         f"{base_cpu / busy:.2f}x")


if __name__ == "__main__":
    main()
