"""Sharded fuzz campaigns: fixed by the seed and the shard count, wherever the shards run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import LocalCluster

from shardcheck.checker.fuzz import FuzzSettings
from shardcheck.checker.fuzz.parallel import Campaign, fuzz_parallel, shard_seed

from .cli_helpers import assert_bad_input, invoke

BUGGY = "block-stm:read-own-entries"


def _campaign(examples: int = 40) -> Campaign:
    return Campaign.of(BUGGY, workload=None, workload_strategy="counter:txs=2-3",
                       workers=(2, 2), configs_name="counter:txs=2-3|2-2",
                       settings=FuzzSettings(examples=examples, database=None, shrink_runs=60))


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A two-worker Dask cluster on threads."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def test_shards_split_the_examples_and_derive_their_seeds() -> None:
    """40 examples over 3 shards: 14, 13, 13; one shard keeps the campaign's own seed."""
    campaign = _campaign()
    shards = [campaign.shard(index, 3) for index in range(3)]
    assert [s.examples for s in shards] == [14, 13, 13]
    assert len({s.seed for s in shards}) == 3
    assert campaign.shard(0, 1).seed == 0
    assert shard_seed(0, 1, 3) == shards[1].seed


def test_processes_and_dask_find_what_the_shards_find_one_after_another(
        scheduler: str) -> None:
    """The same failure, trace and counts from processes, a cluster, and this process."""
    here = fuzz_parallel(_campaign(), jobs=2, in_process=True)
    processes = fuzz_parallel(_campaign(), jobs=2)
    dask = fuzz_parallel(_campaign(), jobs=2, scheduler=scheduler)
    assert here.verdict == "violation"
    assert here.trace is not None
    for other in (processes, dask):
        assert other.trace == here.trace
        assert other.run == here.run
        assert (other.stats.runs, other.stats.failing_runs, other.stats.first_failure_run) == \
            (here.stats.runs, here.stats.failing_runs, here.stats.first_failure_run)


def test_fuzz_jobs_from_the_command_line_writes_the_same_trace_twice(tmp_path: Path) -> None:
    """`fuzz --jobs 2` twice with one seed: the same trace file."""
    documents = []
    for name in ("first.json", "second.json"):
        result = invoke("fuzz", BUGGY, "-s", "counter:txs=2-3", "-k", "2", "-n", "30",
                        "--shrink-runs", "40", "--no-database", "--jobs", "2",
                        "--trace-out", str(tmp_path / name), "--no-timeline")
        assert result.exit_code == 1, result.output
        assert "2 shard(s)" in result.output
        document = json.loads((tmp_path / name).read_text())
        document.pop("replay")
        documents.append(document)
    assert documents[0] == documents[1]


@pytest.mark.parametrize(("args", "fragment"), [
    (("--jobs", "0"), "--jobs must be between 1 and 256"),
    (("--jobs", "4", "--examples", "3"), "--examples (3) must be at least --jobs (4)"),
])
def test_bad_fuzz_jobs_are_one_line(args: tuple[str, ...], fragment: str) -> None:
    """Bad --jobs values: one line, exit 2."""
    assert_bad_input(invoke("fuzz", "block-stm", "--no-database", "-q", *args), fragment)
