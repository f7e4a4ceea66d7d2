"""Parallel exploration gives the serial result: verdict, counts and counterexample."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shardcheck import model
from shardcheck.checker.design.resolve import resolve_design
from shardcheck.checker.search import parallel
from shardcheck.checker.search.explorer import SearchResult, SearchSettings, explore
from shardcheck.checker.search.parallel import InProcessHost, Job, explore_on, explore_parallel

from .cli_helpers import assert_bad_input, invoke
from .conftest import USER_DESIGN

SERIAL = SearchSettings(por=False, compact=False)


def _same(result: SearchResult) -> SearchResult:
    """The result without its wall-clock time, and without its collision estimate: the
    partitions share out 64-bit fingerprints, the serial search keeps the states."""
    return attrs.evolve(result, stats=attrs.evolve(result.stats, seconds=0.0,
                                                   collision_probability=0.0))


def _both(spec: str, workload: str, workers: int, jobs: int,
          search: SearchSettings = SERIAL) -> tuple[SearchResult, SearchResult]:
    design, ref = resolve_design(spec)
    config = model.Config(model.build_workload(workload), workers)
    serial = explore(design, config, search)
    found = explore_on(InProcessHost(jobs, Job.of(ref, config, search)), design, config,
                          search)
    return serial, found


@pytest.mark.parametrize(("spec", "workload", "workers", "jobs", "verdict", "states"), [
    ("block-stm", "counter:txs=2,keys=1", 2, 2, "pass", 10_784),
    ("block-stm:scan-keys-only", "audit:txs=2", 2, 3, "violation", 4_592),
    ("block-stm:active-after-fetch", "counter:txs=2,keys=1", 2, 4, "violation", 4_110),
    ("bank:final-sum", "bank:txs=2,accounts=2", 2, 2, "violation", None),
    ("receipts:no-dedup", "xtransfers:dups=1", 2, 3, "violation", 6),
    ("two-phase-commit", "xtransfers", 2, 2, "pass", 8),
    ("serial", "counter:txs=3", 1, 2, "pass", None),
])
def test_partitions_reproduce_the_serial_search(spec: str, workload: str, workers: int,
                                                 jobs: int, verdict: str,
                                                 states: int | None) -> None:
    """Same verdict, counts, outcomes and counterexample path as serial BFS, on every design."""
    serial, found = _both(spec, workload, workers, jobs)
    assert serial.verdict == verdict
    if states is not None:
        assert serial.stats.states == states
    assert _same(found) == _same(serial)
    assert [step.changes for step in found.path] == [step.changes for step in serial.path]


@pytest.mark.parametrize("bound", [
    {"max_states": 1_234}, {"max_states": 4_591}, {"max_depth": 17}, {"max_depth": 61},
])
def test_bounds_stop_where_the_serial_search_stops(bound: dict[str, int]) -> None:
    """A state bound in the middle of a level, or a depth bound, cuts at the serial point."""
    serial, found = _both("block-stm:scan-keys-only", "audit:txs=2", 2, 3,
                          attrs.evolve(SERIAL, **bound))
    assert _same(found) == _same(serial)


def test_a_user_design_file_is_loaded_by_every_partition() -> None:
    """A design in a file: each partition imports it by its path."""
    serial, found = _both(f"{USER_DESIGN}:NaiveOcc", "counter:txs=2,keys=1", 2, 2)
    assert _same(found) == _same(serial)


def test_a_deadlock_is_found_where_the_serial_search_finds_it(tmp_path: Path) -> None:
    """A design that stops offering actions when one worker is left: the serial deadlock."""
    stuck = tmp_path / "stuck.py"
    stuck.write_text(USER_DESIGN.read_text() + "\n\nclass Stuck(NaiveOcc):\n"
                     "    def actions(self, state):\n"
                     "        found = tuple(super().actions(state))\n"
                     "        return found if len(found) != 1 else ()\n")
    serial, found = _both(f"{stuck}:Stuck", "counter:txs=2,keys=1", 2, 3)
    assert serial.violation is not None and serial.violation.property == "deadlock"
    assert _same(found) == _same(serial)


@settings(max_examples=12, deadline=None)
@given(txs=st.integers(1, 2), keys=st.integers(1, 2), workers=st.integers(1, 2),
       jobs=st.integers(1, 5), max_states=st.none() | st.integers(1, 400),
       mutant=st.sampled_from(["", ":single-collect", ":read-own-entries"]),
       chunk=st.sampled_from([1, 3, parallel.CHUNK]))
def test_any_partitioning_is_the_serial_search(txs: int, keys: int, workers: int, jobs: int,
                                               max_states: int | None, mutant: str,
                                               chunk: int) -> None:
    """However many partitions, in whatever chunks, wherever a bound falls: the serial
    result."""
    default = parallel.CHUNK
    parallel.CHUNK = chunk
    try:
        serial, found = _both(f"block-stm{mutant}", f"counter:txs={txs},keys={keys}",
                              workers, jobs, attrs.evolve(SERIAL, max_states=max_states))
    finally:
        parallel.CHUNK = default
    assert _same(found) == _same(serial)


def test_local_processes_write_the_serial_trace(tmp_path: Path) -> None:
    """`explore --jobs 2` in processes writes the trace `--no-por --no-compact` writes."""
    serial = invoke("explore", "block-stm:scan-keys-only", "-w", "audit:txs=2", "-q",
                    "--no-por", "--no-compact", "--trace-out", str(tmp_path / "serial.json"))
    found = invoke("explore", "block-stm:scan-keys-only", "-w", "audit:txs=2",
                   "--jobs", "2", "--trace-out", str(tmp_path / "parallel.json"))
    assert serial.exit_code == found.exit_code == 1
    assert "2 local processes" in found.output
    documents = [json.loads((tmp_path / name).read_text())
                 for name in ("serial.json", "parallel.json")]
    for document in documents:
        document.pop("replay")
    assert documents[0] == documents[1]


def test_jobs_one_is_the_serial_explorer_with_its_reductions() -> None:
    """--jobs 1 changes nothing: sleep sets and all."""
    design, ref = resolve_design("block-stm")
    config = model.Config(model.build_workload("counter:txs=2,keys=1"), 2)
    assert _same(explore_parallel(ref, config, SearchSettings(), jobs=1)) == \
        _same(explore(design, config, SearchSettings()))


def test_a_design_bug_in_a_worker_process_is_reported_as_the_design_s(tmp_path: Path) -> None:
    """A design that raises in step() inside a worker: one line, exit 2, the design named."""
    source = USER_DESIGN.read_text()
    broken = tmp_path / "broken.py"
    broken.write_text(source + "\n\nclass Broken(NaiveOcc):\n"
                      "    def step(self, state, action):\n"
                      "        raise RuntimeError('boom')\n")
    result = invoke("explore", f"{broken}:Broken", "-w", "counter:txs=1,keys=1", "-q",
                    "--jobs", "2")
    assert result.exit_code == 2, result.output
    assert "boom" in result.stderr and "step()" in result.stderr


@pytest.mark.parametrize(("args", "fragment"), [
    (("--jobs", "0"), "--jobs must be between 1 and 256, got 0"),
    (("--jobs", "2", "--strategy", "dfs"), "breadth-first"),
    (("--jobs", "2", "--audit"), "drop --audit"),
])
def test_bad_parallel_options_are_one_line(args: tuple[str, ...], fragment: str) -> None:
    """Bad --jobs values and combinations: one line, exit 2."""
    assert_bad_input(invoke("explore", "block-stm", "-q", *args), fragment)


def test_an_unreachable_scheduler_is_one_line_after_a_short_wait() -> None:
    """No scheduler at the address: exit 2 within the connect timeout, not a hang."""
    line = assert_bad_input(invoke("explore", "block-stm", "-q", "--scheduler",
                                   "tcp://127.0.0.1:9"), "no Dask scheduler answered")
    assert "tcp://127.0.0.1:9" in line


@pytest.mark.slow
@pytest.mark.parametrize(("spec", "workload", "workers", "bound"), [
    ("block-stm", "counter:txs=3,keys=1", 2, None),
    ("block-stm", "transfers:txs=4", 3, 60_000),
    ("bft", "bft", 2, 10_000),
])
def test_two_processes_reproduce_larger_searches(spec: str, workload: str, workers: int,
                                                 bound: int | None) -> None:
    """Tens of thousands of states in two processes: still the serial result."""
    design, ref = resolve_design(spec)
    config = model.Config(model.build_workload(workload), workers)
    search = attrs.evolve(SERIAL, max_states=bound)
    assert _same(explore_parallel(ref, config, search, jobs=2)) == \
        _same(explore(design, config, search))


def _compact_both(spec: str, workload: str, workers: int, jobs: int,
                  search: SearchSettings) -> tuple[SearchResult, SearchResult]:
    design, ref = resolve_design(spec)
    config = model.Config(model.build_workload(workload), workers)
    serial = explore(design, config, search)
    job = Job.of(ref, config, parallel.parallel_settings(search, design))
    return serial, explore_on(InProcessHost(jobs, job), design, config, search)


def test_partitions_run_the_compact_path_with_symmetry_and_persistent_sets() -> None:
    """The bank at K=3, N=4 with every reduction on: 4,153 states over 6,053 transitions,
    as the serial search counts them, on the compact path in both."""
    serial, found = _compact_both("bank", "bank:txs=4,accounts=3", 3, 2, SearchSettings())
    assert (found.stats.states, found.stats.transitions) == (4_153, 6_053)
    assert found.stats.engine == "compact+persistent-sets"
    assert found.stats.collision_probability == 0.0
    assert _same(found) == _same(serial)


@settings(max_examples=25, deadline=None)
@given(txs=st.integers(1, 3), workers=st.integers(1, 3), jobs=st.integers(1, 4),
       symmetry=st.booleans(), persistent=st.booleans(),
       mutant=st.sampled_from(["", ":final-sum"]),
       max_states=st.none() | st.integers(1, 600), max_depth=st.none() | st.integers(1, 18))
def test_any_partitioning_is_the_serial_compact_search(
        txs: int, workers: int, jobs: int, symmetry: bool, persistent: bool, mutant: str,
        max_states: int | None, max_depth: int | None) -> None:
    """However many partitions, with or without symmetry and persistent sets, wherever a
    state or depth bound or the lost update stops it: the serial compact result."""
    search = SearchSettings(symmetry=symmetry, persistent=persistent,
                            max_states=max_states, max_depth=max_depth)
    serial, found = _compact_both(f"bank{mutant}", f"bank:txs={txs},accounts=3", workers,
                                  jobs, search)
    assert serial.stats.engine.startswith("compact")
    assert _same(found) == _same(serial)


def test_local_processes_write_the_serial_compact_trace(tmp_path: Path) -> None:
    """`explore bank:final-sum --jobs 2` runs the compact path in two processes and
    writes the trace the serial search (same reductions) writes."""
    common = ("explore", "bank:final-sum", "-w", "bank:txs=3,accounts=3", "-k", "3")
    serial = invoke(*common, "--trace-out", str(tmp_path / "serial.json"))
    found = invoke(*common, "--jobs", "2", "--trace-out", str(tmp_path / "parallel.json"))
    assert serial.exit_code == found.exit_code == 1
    assert "compact path" in found.output
    documents = [json.loads((tmp_path / name).read_text())
                 for name in ("serial.json", "parallel.json")]
    for document in documents:
        document.pop("replay")
    assert documents[0] == documents[1]


@pytest.mark.slow
def test_two_processes_reproduce_the_compact_search_at_size_l() -> None:
    """K=3, N=5 with symmetry and persistent sets, in two processes: the serial result."""
    design, ref = resolve_design("bank")
    config = model.Config(model.build_workload("bank:txs=5,accounts=3"), 3)
    assert _same(explore_parallel(ref, config, SearchSettings(), jobs=2)) == \
        _same(explore(design, config, SearchSettings()))


@pytest.mark.parametrize(("spec", "workload", "workers", "states"), [
    ("block-stm", "counter:txs=2,keys=1", 2, 10_784),
    ("bft", "bft:txs=1,rounds=1", 2, 299),
])
def test_hash_consed_packings_stay_in_their_process(spec: str, workload: str, workers: int,
                                                    states: int) -> None:
    """Block-STM and bft number what they meet as they go, so their packed ints mean
    nothing in another process: two processes search them on the ordinary path, and
    count what the serial compact search counts."""
    design, ref = resolve_design(spec)
    assert isinstance(design, model.Compactable) and not model.portable_packing(design)
    assert not parallel.parallel_settings(SearchSettings(), design).compact
    config = model.Config(model.build_workload(workload), workers)
    found = explore_parallel(ref, config, SearchSettings(), jobs=2)
    assert found.verdict == "pass" and found.stats.engine == "ordinary"
    assert found.stats.states == explore(design, config, SearchSettings()).stats.states \
        == states
