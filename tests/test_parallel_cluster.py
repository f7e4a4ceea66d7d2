"""The same partitions on a Dask cluster (a local one, in this process) give the serial result."""

from __future__ import annotations

from collections.abc import Iterator

import attrs
import pytest
from distributed import LocalCluster

from shardcheck import model
from shardcheck.checker.design.resolve import resolve_design
from shardcheck.checker.search.explorer import SearchResult, SearchSettings, explore
from shardcheck.checker.search.parallel import explore_parallel

from .cli_helpers import invoke

SERIAL = SearchSettings(por=False, compact=False)


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A two-worker Dask cluster on threads: fast to start, the same protocol as a real one."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def _same(result: SearchResult) -> SearchResult:
    # Partitions share out 64-bit fingerprints; the serial search keeps the states.
    return attrs.evolve(result, stats=attrs.evolve(result.stats, seconds=0.0,
                                                   collision_probability=0.0))


@pytest.mark.parametrize(("spec", "workload", "jobs"), [
    ("block-stm:scan-keys-only", "audit:txs=2", 1),
    ("block-stm:single-collect", "counter:txs=2,keys=1", 3),
])
def test_dask_actors_reproduce_the_serial_search(scheduler: str, spec: str, workload: str,
                                                 jobs: int) -> None:
    """One partition per worker, or more partitions than workers: the serial counterexample."""
    design, ref = resolve_design(spec)
    config = model.Config(model.build_workload(workload), 2)
    serial = explore(design, config, SERIAL)
    clustered = explore_parallel(ref, config, SERIAL, jobs=jobs, scheduler=scheduler)
    assert serial.verdict == "violation"
    assert _same(clustered) == _same(serial)


def test_dask_actors_run_the_compact_path(scheduler: str) -> None:
    """The bank's packed states on Dask actors, with symmetry and persistent sets: the
    serial compact counterexample."""
    design, ref = resolve_design("bank:final-sum")
    config = model.Config(model.build_workload("bank:txs=3,accounts=3"), 3)
    serial = explore(design, config, SearchSettings())
    clustered = explore_parallel(ref, config, SearchSettings(), jobs=3, scheduler=scheduler)
    assert serial.verdict == "violation"
    assert clustered.stats.engine == "compact+persistent-sets"
    assert _same(clustered) == _same(serial)


def test_explore_on_a_scheduler_from_the_command_line(scheduler: str) -> None:
    """`explore --scheduler ADDRESS` names the cluster in its header and passes."""
    result = invoke("explore", "block-stm", "-w", "counter:txs=1,keys=1",
                    "--scheduler", scheduler)
    assert result.exit_code == 0, result.output
    assert f"Dask cluster at {scheduler}" in result.output
