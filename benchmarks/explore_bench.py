"""The explorer against its peers on the standard model, and Block-STM with and without reductions.

    python benchmarks/explore_bench.py                   # M, L, XL; peers when installed
    python benchmarks/explore_bench.py --xxl             # also XXL (8.3 M states)
    python benchmarks/explore_bench.py --json out.json   # also the raw rows as JSON
    python benchmarks/explore_bench.py --sizes '' --block-stm-small counter:txs=3,keys=1 \
        --block-stm-small-workers 2                      # Block-STM rows only, quicker

Block-STM runs twice. On issue 8's block (``--block-stm``, counter:txs=4,keys=2 on 3
workers, 28.7 M states) the compact path finishes with and without symmetry, and the
ordinary path without reductions runs for ``--block-stm-ordinary-time-limit`` to
measure its rate (it would need hours). On ``--block-stm-small`` (counter:txs=4,keys=4
on 3 workers, 4.4 M states, the largest 4-transaction 3-worker block tried whose
unreduced ordinary search finishes in minutes) every reduction runs alone and none
runs too, for the complete factors.

The standard model is shared/anchors' bank-transfer scheduler (``bank`` here; peers.md
has its table). Every measurement runs in a fresh process, timed from outside
(wall clock, and peak resident memory from ``os.wait4``, as the anchors' harness does)
and from inside (the engine's own search time). The peers run in the same invocation
when their environments exist: minicheck and the reference BFS from
``/tmp/anchors/venv311`` (``bash shared/anchors/run.sh --groups xcheck`` creates it) and
SPIN when ``spin`` and ``gcc`` are on PATH. A peer that is missing is said so, and its
row shows peers.md's stored figure, labelled as stored.

The machine has two cores shared with other work: compare ratios taken in one run, not
absolute figures across runs. The load average is printed with the table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ANCHORS = Path(os.environ.get("ANCHORS_DIR", ROOT.parent / "shared" / "anchors"))
PEER_PYTHON = Path(os.environ.get("ANCHORS_PY311", "/tmp/anchors/venv311/bin/python"))

SIZES = {"M": (3, 4), "L": (3, 5), "XL": (3, 6), "XXL": (3, 7)}

# peers.md, variant a, engine states/s and peak MB (measured 2026-11-25 on this machine
# kind); shown only for a peer that cannot run here.
STORED = {
    ("minicheck", "L"): (289_000, 112), ("minicheck", "XL"): (266_000, 588),
    ("spin-dfs", "L"): (2_400_000, 145), ("spin-dfs", "XL"): (2_100_000, 196),
    ("spin-dfs", "XXL"): (1_550_000, 450),
}

CHILD = r"""
import json, sys, time
from shardcheck import model
from shardcheck.checker.search.explorer import SearchSettings, explore
args = json.loads(sys.argv[1])
if ":" in args["design"] and args["design"].split(":")[0].endswith(".py"):
    from shardcheck.checker.design import resolve_design
    base = resolve_design(args["design"])[0]
else:
    base = model.builtin_designs()[args["design"]]
design = base
if args.get("mutant"):
    design = next(m.design for m in base.mutants() if m.name == args["mutant"])
config = model.Config(model.build_workload(args["workload"]), args["workers"])
settings = SearchSettings(**args["settings"])
started = time.perf_counter()
result = explore(design, config, settings)
seconds = time.perf_counter() - started
print(json.dumps({"verdict": result.verdict, "states": result.stats.states,
                  "transitions": result.stats.transitions, "engine_s": seconds,
                  "cex_len": len(result.path) if result.violation else None,
                  "complete": result.stats.complete, "engine": result.stats.engine,
                  "collision": result.stats.collision_probability}))
"""


FLOOR = r"""
import gc, json, sys, time
from collections import deque
from shardcheck import model
from shardcheck.checker.design import resolve_design
args = json.loads(sys.argv[1])
design = resolve_design(args["design"])[0]
config = model.Config(model.build_workload(args["workload"]), args["workers"])
gc.disable()
started = time.perf_counter()
initial = design.initial(config)
seen = {initial}
frontier = deque([initial])
actions, step = design.actions, design.step
transitions = 0
while frontier:
    state = frontier.popleft()
    for action in actions(state):
        transitions += 1
        after = step(state, action)
        if after not in seen:
            seen.add(after)
            frontier.append(after)
print(json.dumps({"verdict": "pass", "states": len(seen), "transitions": transitions,
                  "engine_s": time.perf_counter() - started, "complete": True}))
"""
"""The floor no checker passes without changing the design: a bare breadth-first loop
over the design's own ``actions`` and ``step``, a Python set of the states themselves,
the collector off, nothing judged."""


def floor(label: str, design: str, workload: str, workers: int) -> dict[str, Any]:
    """The bare-BFS floor of a design file, in a fresh process."""
    args = {"design": design, "workload": workload, "workers": workers}
    run = _run([sys.executable, "-c", FLOOR, json.dumps(args)], cwd=str(ROOT))
    if run["rc"] != 0:
        raise RuntimeError(f"{label}: {run['out'][-600:]}")
    row = _last_json(run["out"])
    row.update(tool=label, wall_s=run["wall_s"], peak_mb=run["peak_mb"])
    return row


def _run(cmd: list[str], cwd: str | None = None) -> dict[str, Any]:
    """Run a command; its wall time, CPU time, peak RSS and output."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        out.seek(0)
        text = out.read().decode(errors="replace")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_mb": usage.ru_maxrss / 1024, "rc": os.waitstatus_to_exitcode(status),
            "out": text}


def _last_json(text: str) -> dict[str, Any]:
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            parsed: dict[str, Any] = json.loads(line)
            return parsed
    raise RuntimeError(f"no JSON in the output: {text[-400:]}")


def shardcheck(label: str, design: str, workload: str, workers: int,
               mutant: str | None = None, **settings: Any) -> dict[str, Any]:
    """One shardcheck search in a fresh process."""
    args = {"design": design, "mutant": mutant, "workload": workload, "workers": workers,
            "settings": settings}
    run = _run([sys.executable, "-c", CHILD, json.dumps(args)], cwd=str(ROOT))
    if run["rc"] != 0:
        raise RuntimeError(f"{label}: {run['out'][-600:]}")
    row = _last_json(run["out"])
    row.update(tool=label, wall_s=run["wall_s"], peak_mb=run["peak_mb"])
    return row


def peer_python(label: str, model_file: str, k: int, n: int, variant: str,
                extra: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """minicheck or the reference BFS, from the anchors' environment."""
    if not PEER_PYTHON.exists():
        return None
    cmd = [str(PEER_PYTHON), str(ANCHORS / "models" / model_file), "--K", str(k), "--N",
           str(n), "--A", "3", "--variant", variant, *extra]
    run = _run(cmd)
    parsed = _last_json(run["out"])
    verdict = "pass" if parsed.get("verdict") == "ok" else "violation"
    return {"tool": label, "verdict": verdict, "states": parsed.get("states"),
            "transitions": parsed.get("transitions"), "engine_s": parsed.get("secs"),
            "cex_len": parsed.get("cex_len"), "wall_s": run["wall_s"],
            "peak_mb": run["peak_mb"], "complete": True}


def spin(label: str, k: int, n: int, variant: str, por: bool, work: Path,
         wbits: int | None = None) -> dict[str, Any] | None:
    """SPIN's pan, compiled untimed, run timed (the anchors' flags)."""
    if shutil.which("spin") is None or shutil.which("gcc") is None:
        return None
    tag = f"K{k}N{n}{variant}{'por' if por else ''}"
    folder = work / tag
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ANCHORS / "models" / "bank.pml", folder / "bank.pml")
    defines = f"-DK={k} -DN={n} -DA=3" + (" -DFINALSUM" if variant == "b" else "")
    flags = "-O2 -DSAFETY -DMEMLIM=16000" + ("" if por else " -DNOREDUCE")
    for trail in folder.glob("*.trail"):
        trail.unlink()
    prep = f"spin {defines} -a bank.pml >/dev/null && gcc {flags} -o pan pan.c"
    subprocess.run(prep, shell=True, cwd=folder, check=True)
    run = _run(shlex.split(f"{folder}/pan -m100000" + (f" -w{wbits}" if wbits else "")),
               cwd=str(folder))
    text = run["out"]

    def grab(pattern: str) -> str | None:
        found = re.search(pattern, text)
        return found.group(1) if found else None

    errors = int(grab(r"errors: (\d+)") or 0)
    trail = folder / "bank.pml.trail"
    cex = None
    if errors and trail.exists():
        cex = sum(1 for line in trail.read_text().splitlines() if re.match(r"^\d+:", line))
    stored = grab(r"(\d+) states, stored")
    moves = grab(r"(\d+) transitions \(= stored\+matched\)")
    return {"tool": label, "verdict": "violation" if errors else "pass",
            "states": int(stored) if stored else None,
            "transitions": int(moves) - 1 if moves else None,
            "engine_s": float(grab(r"pan: elapsed time ([\d.e+-]+) seconds") or "nan"),
            "cex_len": cex, "wall_s": run["wall_s"], "peak_mb": run["peak_mb"],
            "complete": True}


def _rate(row: dict[str, Any]) -> float | None:
    if row.get("states") and row.get("engine_s"):
        return float(row["states"]) / max(float(row["engine_s"]), 1e-9)
    return None


Job = tuple[Callable[..., dict[str, Any] | None], tuple[Any, ...], dict[str, Any]]


def bank_jobs(size: str, ordinary: bool, work: Path) -> list[tuple[str, str, Job]]:
    """Variant a (exhaustive sweep) and variant b (first counterexample) at one size, as
    (variant, stored-peer name, job) triples; a job is a function and its arguments."""
    k, n = SIZES[size]
    spec = f"bank:txs={n},accounts=3"
    none: dict[str, Any] = {"por": False, "symmetry": False, "persistent": False}
    jobs: list[tuple[str, str, Job]] = [
        ("a", "", (shardcheck, ("shardcheck compact", "bank", spec, k), none)),
        ("a", "", (shardcheck, ("shardcheck compact + symmetry", "bank", spec, k),
                   {**none, "symmetry": True})),
        # Every reduction on, as `shardcheck explore` runs by default.
        ("a", "", (shardcheck, ("shardcheck compact + symmetry + persistent sets", "bank",
                                spec, k), {})),
    ]
    if ordinary:
        jobs += [
            ("a", "", (shardcheck, ("shardcheck ordinary", "bank", spec, k),
                       {"compact": False, **none})),
            ("a", "", (shardcheck, ("shardcheck ordinary + sleep sets", "bank", spec, k),
                       {"compact": False, "por": True, "symmetry": False})),
        ]
    jobs += [
        ("a", "minicheck", (peer_python, ("minicheck", "bank_minicheck.py", k, n, "a"), {})),
        ("a", "", (peer_python, ("reference BFS (gc off)", "bank_ref.py", k, n, "a",
                                 ("--no-gc",)), {})),
        ("a", "spin-dfs", (spin, ("SPIN DFS (no POR)", k, n, "a"), {"por": False,
                                                                    "work": work})),
        ("a", "", (spin, ("SPIN DFS (POR)", k, n, "a"), {"por": True, "work": work})),
        # Variant b: the time to the first counterexample.
        ("b", "", (shardcheck, ("shardcheck compact BFS", "bank", spec, k),
                   {"mutant": "final-sum", **none})),
        ("b", "", (shardcheck, ("shardcheck compact DFS", "bank", spec, k),
                   {"mutant": "final-sum", "strategy": "dfs", **none})),
        ("b", "", (peer_python, ("minicheck", "bank_minicheck.py", k, n, "b"), {})),
        ("b", "", (spin, ("SPIN DFS", k, n, "b"), {"por": False, "work": work})),
    ]
    return jobs


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


USER_BANK = "benchmarks/bank_user.py"
NAIVE_OCC = "tests/designs/naive_occ.py"
BLOCK_STM_VARIANT = "benchmarks/block_stm_variant.py"


def user_bank_jobs(size: str, work: Path) -> list[tuple[str, str, Job]]:
    """The bank written as a user would (``benchmarks/bank_user.py``) beside its bare-BFS
    floor, minicheck and SPIN, all without reductions; then with sleep sets, and with the
    declaration (``BankUserDeclared``)."""
    k, n = SIZES[size]
    spec = f"bank:txs={n},accounts=3"
    none: dict[str, Any] = {"por": False, "symmetry": False, "persistent": False}
    plain = f"{USER_BANK}:BankUser"
    return [
        ("u", "", (floor, ("user bank: bare BFS floor", plain, spec, k), {})),
        ("u", "", (shardcheck, ("user bank: ordinary path", plain, spec, k),
                   {"compact": False, **none})),
        ("u", "", (shardcheck, ("user bank: declared", f"{USER_BANK}:BankUserDeclared",
                                spec, k), none)),
        ("u", "minicheck", (peer_python, ("minicheck", "bank_minicheck.py", k, n, "a"), {})),
        ("u", "spin-dfs", (spin, ("SPIN DFS (no POR)", k, n, "a"), {"por": False,
                                                                    "work": work})),
        ("u", "", (shardcheck, ("user bank: ordinary + sleep sets", plain, spec, k),
                   {"compact": False, "por": True, "symmetry": False})),
    ]


def design_jobs(design: str, workload: str, workers: int) -> list[tuple[str, str, Job]]:
    """A design file's ordinary path, with sleep sets, and (``...Declared``) declared."""
    none: dict[str, Any] = {"por": False, "symmetry": False, "persistent": False}
    name = design.rsplit("/", 1)[-1].split(":")[0].removesuffix(".py")
    return [
        ("d", "", (shardcheck, (f"{name}: ordinary path", design, workload, workers),
                   {"compact": False, **none})),
        ("d", "", (shardcheck, (f"{name}: ordinary + sleep sets", design, workload, workers),
                   {"compact": False, "por": True, "symmetry": False})),
        ("d", "", (shardcheck, (f"{name}: declared", f"{design}Declared", workload, workers),
                   none)),
    ]


def block_stm_variant_jobs(workload: str, workers: int) -> list[tuple[str, str, Job]]:
    """A Block-STM subclass that overrides one method (so its packing no longer fits):
    on the ordinary path, and with its structure declared, against the packed path."""
    none: dict[str, Any] = {"por": False, "symmetry": False, "persistent": False}
    return [
        ("s", "", (shardcheck, ("block-stm: built-in packed path", "block-stm", workload,
                                workers), none)),
        ("s", "", (shardcheck, ("block-stm one-method subclass: declared",
                                f"{BLOCK_STM_VARIANT}:OneMethodDeclared", workload, workers),
                   none)),
        ("s", "", (shardcheck, ("block-stm one-method subclass: ordinary",
                                f"{BLOCK_STM_VARIANT}:OneMethod", workload, workers),
                   {"compact": False, **none})),
    ]


def bank_rows(size: str, ordinary: bool, work: Path, repeat: int) -> list[dict[str, Any]]:
    """Every job at one size, ``repeat`` rounds interleaved; medians of the times."""
    return interleaved(bank_jobs(size, ordinary, work), size, repeat)


def interleaved(jobs: list[tuple[str, str, Job]], size: str,
                repeat: int) -> list[dict[str, Any]]:
    """Run ``jobs`` in ``repeat`` interleaved rounds (A B C A B C ...); medians of times."""
    runs: list[list[dict[str, Any] | None]] = [[] for _ in jobs]
    for _ in range(repeat):
        for slot, (_variant, _stored, (function, args, kwargs)) in enumerate(jobs):
            runs[slot].append(function(*args, **kwargs))
    rows: list[dict[str, Any]] = []
    for (variant, stored_as, _job), results in zip(jobs, runs, strict=True):
        done = [r for r in results if r is not None]
        row: dict[str, Any] | None = None
        if done:
            row = dict(done[0])
            for field in ("engine_s", "wall_s", "peak_mb"):
                values = [float(r[field]) for r in done if r.get(field) is not None]
                if values:
                    row[field] = _median(values)
                    row[f"{field}_runs"] = values
            row["runs"] = len(done)
        elif stored_as and (stored_as, size) in STORED:
            rate, peak = STORED[(stored_as, size)]
            row = {"tool": f"{stored_as} (stored, peers.md)", "engine_rate": rate,
                   "peak_mb": peak, "stored": True}
        if row is None:
            continue
        row.update(size=size, variant=variant)
        row.setdefault("engine_rate", _rate(row))
        rows.append(row)
    return rows


BLOCK_STM_RUNS: dict[str, dict[str, Any]] = {
    # Each reduction alone, and none: the ordinary path with nothing switched on.
    "none": {"compact": False, "por": False, "symmetry": False},
    "sleep sets": {"compact": False, "por": True, "symmetry": False},
    "symmetry": {"compact": False, "por": False, "symmetry": True},
    "compact": {"compact": True, "por": False, "symmetry": False},
    # The default engine with symmetry (sleep sets do not apply on the compact path).
    "compact + symmetry": {"compact": True, "por": False, "symmetry": True},
}


def block_stm_rows(workload: str, workers: int, time_limit: float,
                   labels: tuple[str, ...] = tuple(BLOCK_STM_RUNS),
                   limits: dict[str, float] | None = None,
                   repeat: int = 1) -> list[dict[str, Any]]:
    """Block-STM with each reduction alone and with none, each bounded by a time limit
    (``limits`` overrides it per row); ``repeat`` rounds interleaved, medians of the times."""
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label in labels}
    for _ in range(repeat):
        for label in labels:
            limit = (limits or {}).get(label, time_limit)
            runs[label].append(shardcheck(f"block-stm, {label}", "block-stm", workload,
                                          workers, time_limit=limit, **BLOCK_STM_RUNS[label]))
    rows = []
    for label in labels:
        row = dict(runs[label][0])
        for field in ("engine_s", "wall_s", "peak_mb"):
            row[field] = _median([float(r[field]) for r in runs[label]])
        row.update(size=f"{workload} x{workers}", variant="a", reduction=label,
                   time_limit=(limits or {}).get(label, time_limit), runs=repeat)
        row["engine_rate"] = _rate(row)
        rows.append(row)
    return rows


def block_stm_factors(rows: list[dict[str, Any]], workload: str) -> list[str]:
    """Each reduction's factors against none on one configuration; when none could not
    finish, against the compact path (the same states, so the factor is symmetry's) and
    none's rate against the compact path's."""
    group = {r["reduction"]: r for r in rows if r.get("reduction") and r["size"] == workload}
    out = []
    none = group.get("none")
    base_label = "none" if none is not None and none.get("complete") else "compact"
    base = group.get(base_label)
    for label, r in group.items():
        if label == base_label:
            continue
        if not r.get("complete"):
            out.append(f"block-stm {workload}, {label}: not complete within "
                       f"{r['time_limit']:g}s ({r['states']:,} states at "
                       f"{r['engine_rate'] or 0:,.0f} states/s)")
            continue
        if base is None or not base.get("complete"):
            continue
        out.append(f"block-stm {workload}, {label} against {base_label}: "
                   f"{base['states'] / r['states']:.2f}x fewer states, "
                   f"{base['transitions'] / r['transitions']:.2f}x fewer transitions, "
                   f"{base['engine_s'] / r['engine_s']:.2f}x less engine time, "
                   f"{base['wall_s'] / r['wall_s']:.2f}x less wall time "
                   f"(verdicts {base['verdict']} / {r['verdict']})")
    compact = group.get("compact")
    if base_label == "compact" and none is not None and compact is not None \
            and none.get("engine_rate") and compact.get("complete"):
        estimate = compact["states"] / none["engine_rate"]
        out.append(f"block-stm {workload}, none (ordinary path, no reduction): "
                   f"{none['engine_rate']:,.0f} states/s over its {none['time_limit']:g}s, "
                   f"so its {compact['states']:,} states would take about {estimate:,.0f}s "
                   f"({estimate / compact['engine_s']:.1f}x the compact path's "
                   f"{compact['engine_s']:.1f}s)")
    return out


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if value != value:  # NaN
            return "—"
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a markdown table."""
    head = ("| tool | size | var | verdict | states | transitions | engine s | wall s | "
            "states/s (engine) | peak MB | cex len |")
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        lines.append("| " + " | ".join([
            r["tool"], r["size"], r["variant"], r.get("verdict", "—") if not r.get("stored")
            else "stored", _fmt(r.get("states")), _fmt(r.get("transitions")),
            _fmt(r.get("engine_s"), 3), _fmt(r.get("wall_s"), 3),
            _fmt(round(r["engine_rate"]) if r.get("engine_rate") else None),
            _fmt(r.get("peak_mb"), 0), _fmt(r.get("cex_len"))]) + " |")
    return "\n".join(lines)


def ratios(rows: list[dict[str, Any]]) -> list[str]:
    """The acceptance ratios: shardcheck's compact rate against each peer's, per size."""
    out = []
    for size in dict.fromkeys(r["size"] for r in rows if r["size"] in SIZES):
        ours = next((r for r in rows if r["size"] == size and r["variant"] == "a"
                     and r["tool"] == "shardcheck compact"), None)
        if ours is None or not ours.get("engine_rate"):
            continue
        for r in rows:
            if r["size"] != size or r["variant"] != "a" or r is ours:
                continue
            if r["tool"].startswith("shardcheck") or not r.get("engine_rate"):
                continue
            out.append(f"{size}: shardcheck compact / {r['tool']} = "
                       f"{ours['engine_rate'] / r['engine_rate']:.2f}x distinct states/s")
        spin_por = next((r for r in rows if r["size"] == size and r["variant"] == "a"
                         and r["tool"] == "SPIN DFS (POR)"), None)
        for label in ("shardcheck compact + symmetry",
                      "shardcheck compact + symmetry + persistent sets"):
            sym = next((r for r in rows if r["size"] == size and r["variant"] == "a"
                        and r["tool"] == label), None)
            if sym and spin_por and spin_por.get("wall_s") and not spin_por.get("stored"):
                out.append(
                    f"{size}: time to exhaust, {label[len('shardcheck '):]} "
                    f"{sym['wall_s']:.2f}s wall (engine {sym['engine_s']:.2f}s) vs SPIN with "
                    f"POR {spin_por['wall_s']:.2f}s wall (engine {spin_por['engine_s']:.2f}s): "
                    f"SPIN / shardcheck = {spin_por['wall_s'] / sym['wall_s']:.2f}x wall, "
                    f"{spin_por['engine_s'] / sym['engine_s']:.2f}x engine")
        if ours.get("peak_mb") and ours.get("states"):
            out.append(f"{size}: shardcheck compact peak {ours['peak_mb']:.0f} MB for "
                       f"{ours['states']:,} states")
    return out


def memory_per_state(rows: list[dict[str, Any]], baseline_mb: float) -> list[str]:
    """Bytes per state found beyond the interpreter's baseline, per size.

    On the compact path a graded design's breadth-first search keeps one level of keys
    (the sweep), so the peak follows the widest level, not the total; on the bank the
    widest level grows about as the total does, and the 4 GiB estimate is an
    extrapolation at the measured rate.
    """
    out = []
    for r in rows:
        if r["tool"] == "shardcheck compact" and r["variant"] == "a" and r.get("states"):
            per = (r["peak_mb"] - baseline_mb) * 1024 * 1024 / r["states"]
            fits = int(4 * 1024**3 / per) if per > 0 else 0
            out.append(f"{r['size']}: {per:,.0f} bytes per state (peak RSS less the "
                       f"{baseline_mb:.0f} MB baseline); at that rate 4 GiB holds about "
                       f"{fits:,} states")
    return out


def _paired(a: dict[str, Any], b: dict[str, Any], field: str) -> float | None:
    """The median of ``a / b`` taken run by run (the two ran alternately)."""
    left, right = a.get(f"{field}_runs"), b.get(f"{field}_runs")
    if not left or not right:
        return None
    return _median([x / y for x, y in zip(left, right, strict=False) if y])


def new_path_ratios(rows: list[dict[str, Any]], baseline_mb: float,
                    peer_baseline_mb: float | None) -> list[str]:
    """The issue-20 ratios: the ordinary path against its floor, the declared path against
    minicheck, sleep sets against none, the Block-STM subclass against the packed path;
    and bytes per state on each path."""
    out = []

    def find(size: str, tool: str) -> dict[str, Any] | None:
        return next((r for r in rows if r["size"] == size and r["tool"] == tool
                     and not r.get("stored")), None)

    for size in dict.fromkeys(r["size"] for r in rows if r["variant"] in "uds"):
        pairs = [("user bank: ordinary path", "user bank: bare BFS floor", "time"),
                 ("user bank: declared", "minicheck", "rate"),
                 ("user bank: ordinary path", "minicheck", "rate"),
                 ("user bank: declared", "SPIN DFS (no POR)", "rate"),
                 ("user bank: ordinary + sleep sets", "user bank: ordinary path", "time")]
        name = next((r["tool"].split(":")[0] for r in rows if r["size"] == size
                     and r["variant"] == "d"), None)
        if name is not None:
            pairs += [(f"{name}: ordinary + sleep sets", f"{name}: ordinary path", "time"),
                      (f"{name}: declared", f"{name}: ordinary path", "time")]
        pairs.append(("block-stm one-method subclass: declared",
                      "block-stm: built-in packed path", "rate"))
        pairs.append(("block-stm one-method subclass: ordinary",
                      "block-stm: built-in packed path", "rate"))
        for mine, theirs, kind in pairs:
            a, b = find(size, mine), find(size, theirs)
            if a is None or b is None:
                continue
            wall, engine = _paired(a, b, "wall_s"), _paired(a, b, "engine_s")
            if wall is None or engine is None:
                continue
            if kind == "time":
                out.append(f"{size}: {mine} / {theirs} = {wall:.2f}x wall, {engine:.2f}x "
                           "engine (time; medians of paired runs)")
            else:  # states per second, whole process and engine
                scale = a["states"] / b["states"]
                out.append(f"{size}: {mine} / {theirs} = {scale / wall:.2f}x states/s "
                           f"whole process, {scale / engine:.2f}x engine (medians of "
                           "paired runs)")
        for r in rows:
            if r["size"] == size and r["variant"] in "uds" and r.get("states") \
                    and r.get("peak_mb") and not r["tool"].startswith("SPIN") \
                    and not r.get("stored"):
                # minicheck's interpreter starts smaller than shardcheck's: its own baseline.
                base = peer_baseline_mb if r["tool"] == "minicheck" else baseline_mb
                if base is None:
                    continue
                per = (r["peak_mb"] - base) * 1024 * 1024 / r["states"]
                out.append(f"{size}: {r['tool']}: {per:,.0f} bytes per state (peak RSS "
                           f"{r['peak_mb']:.0f} MB less the {base:.0f} MB baseline)")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="M,L,XL", help="comma-separated: M, L, XL, XXL")
    parser.add_argument("--xxl", action="store_true", help="also run XXL (8.3 M states)")
    parser.add_argument("--ordinary-sizes", default="M",
                        help="sizes at which the ordinary (not compact) path also runs")
    parser.add_argument("--block-stm", default="counter:txs=4,keys=2",
                        help="Block-STM workload for the compact rows (issue 8's block); "
                             "'' skips them")
    parser.add_argument("--block-stm-workers", type=int, default=3)
    parser.add_argument("--block-stm-repeat", type=int, default=1,
                        help="rounds of the Block-STM rows, interleaved; medians are shown")
    parser.add_argument("--block-stm-time-limit", type=float, default=1800.0,
                        help="time limit of each Block-STM row that is meant to finish")
    parser.add_argument("--block-stm-ordinary-time-limit", type=float, default=120.0,
                        help="time limit of the ordinary row on --block-stm, which cannot "
                             "finish: it measures the ordinary path's rate")
    parser.add_argument("--block-stm-small", default="counter:txs=4,keys=4",
                        help="a Block-STM workload small enough to finish with every "
                             "reduction alone and with none, for the complete factors")
    parser.add_argument("--block-stm-small-workers", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds of the bank rows, interleaved; medians are shown")
    parser.add_argument("--no-block-stm", action="store_true", help="skip the Block-STM rows")
    parser.add_argument("--user-sizes", default="L,XL",
                        help="sizes of the user-written bank rows (bank_user.py: its floor, "
                             "ordinary path, declared path, beside minicheck and SPIN); '' "
                             "skips them")
    parser.add_argument("--user-repeat", type=int, default=3,
                        help="interleaved rounds of the user-written rows (and the "
                             "naive-occ and Block-STM subclass rows)")
    parser.add_argument("--naive-occ", default="counter:txs=8,keys=8",
                        help="workload of the naive_occ.py rows (ordinary, sleep sets, "
                             "declared); '' skips them")
    parser.add_argument("--naive-occ-workers", type=int, default=4)
    parser.add_argument("--block-stm-variant", default="counter:txs=3,keys=1",
                        help="workload of the one-method Block-STM subclass rows; '' skips")
    parser.add_argument("--block-stm-variant-workers", type=int, default=2)
    parser.add_argument("--json", dest="json_out", default=None, help="write rows as JSON")
    args = parser.parse_args(argv)
    sizes = [s for s in args.sizes.split(",") if s]
    if args.xxl and "XXL" not in sizes:
        sizes.append("XXL")
    for size in sizes:
        if size not in SIZES:
            parser.error(f"unknown size {size!r}; choose from {', '.join(SIZES)}")
    ordinary = set(args.ordinary_sizes.split(","))
    notes = []
    if not PEER_PYTHON.exists():
        notes.append(f"minicheck / reference BFS: {PEER_PYTHON} missing (run "
                     "`bash shared/anchors/run.sh --groups xcheck`); stored figures shown")
    if shutil.which("spin") is None:
        notes.append("SPIN: not on PATH (apt-get install spin); stored figures shown")
    rows: list[dict[str, Any]] = []
    baseline = shardcheck("baseline", "bank", "bank:txs=1,accounts=3", 2, por=False,
                          symmetry=False, persistent=False)["peak_mb"]
    with tempfile.TemporaryDirectory(prefix="explore-bench-spin-") as work:
        for size in sizes:
            print(f"... bank {size}", file=sys.stderr, flush=True)
            rows += bank_rows(size, size in ordinary, Path(work), args.repeat)
    with tempfile.TemporaryDirectory(prefix="explore-bench-spin-") as work:
        for size in [s for s in args.user_sizes.split(",") if s]:
            print(f"... user-written bank {size}", file=sys.stderr, flush=True)
            rows += interleaved(user_bank_jobs(size, Path(work)), size, args.user_repeat)
    if args.naive_occ:
        label = f"{args.naive_occ} x{args.naive_occ_workers}"
        print(f"... naive_occ {label}", file=sys.stderr, flush=True)
        rows += interleaved(design_jobs(f"{NAIVE_OCC}:NaiveOcc", args.naive_occ,
                                        args.naive_occ_workers), label, args.user_repeat)
    if args.block_stm_variant:
        label = f"{args.block_stm_variant} x{args.block_stm_variant_workers}"
        print(f"... block-stm subclass {label}", file=sys.stderr, flush=True)
        rows += interleaved(block_stm_variant_jobs(args.block_stm_variant,
                                                   args.block_stm_variant_workers),
                            label, args.user_repeat)
    if not args.no_block_stm:
        if args.block_stm:
            print(f"... block-stm {args.block_stm} x{args.block_stm_workers}",
                  file=sys.stderr, flush=True)
            rows += block_stm_rows(args.block_stm, args.block_stm_workers,
                                   args.block_stm_time_limit,
                                   ("compact", "compact + symmetry", "none"),
                                   {"none": args.block_stm_ordinary_time_limit},
                                   args.block_stm_repeat)
        print(f"... block-stm {args.block_stm_small} x{args.block_stm_small_workers}",
              file=sys.stderr, flush=True)
        rows += block_stm_rows(args.block_stm_small, args.block_stm_small_workers,
                               args.block_stm_time_limit, repeat=args.block_stm_repeat)
    load = os.getloadavg()
    print(f"## explore benchmark ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, "
          f"{os.cpu_count()} cores, medians of {args.repeat} interleaved round(s), "
          f"Block-STM {args.block_stm_repeat}, user-written and issue-20 rows "
          f"{args.user_repeat})\n")
    print(table(rows))
    print()
    tiny = peer_python("baseline", "bank_minicheck.py", 2, 1, "a")
    peer_baseline = tiny["peak_mb"] if tiny is not None else None
    for line in (ratios(rows) + memory_per_state(rows, baseline)
                 + new_path_ratios(rows, baseline, peer_baseline)):
        print(f"- {line}")
    for workload in (f"{args.block_stm} x{args.block_stm_workers}",
                     f"{args.block_stm_small} x{args.block_stm_small_workers}"):
        for line in block_stm_factors(rows, workload):
            print(f"- {line}")
    for note in notes:
        print(f"- {note}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"load": load, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
