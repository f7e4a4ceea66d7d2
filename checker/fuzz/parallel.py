"""A fuzz campaign split into shards that run side by side (processes or a Dask cluster).

Hypothesis runs one example after another and each draw depends on the ones before, so
one campaign cannot be cut in the middle. A parallel campaign is instead N independent
campaigns, its *shards*, fixed by the seed and N alone:

- shard ``k`` of ``N`` has its own seed, derived from the campaign's seed, ``k`` and
  ``N`` (:func:`shard_seed`), and ``examples // N`` examples, one more for the first
  ``examples % N`` shards; it has the whole shrinking budget and the time limit;
- every shard runs to its end: none is cancelled because another failed, so what each
  shard finds does not depend on timing;
- the campaign's failure is the smallest of the shards' (``Run.size()``: steps, then
  transactions, then workers), the lowest shard on a tie. Runs and failing runs are
  summed; the first failure is counted as if the shards had run one after another.

So with the same seed, ``--jobs N`` gives the same verdict and the same trace, byte for
byte, wherever the shards run (local processes, any Dask cluster, or this process one
after another), as long as no time limit cuts a shard short and the example database
holds the same examples (every shard retries what it holds first, as a serial campaign
does). ``--jobs 1`` is the serial campaign itself. ``--jobs N`` is not the serial
campaign with the same seed: different shards draw different examples.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import attrs

import shardcheck.checker.fuzz.strategies as fuzz_strategies
from shardcheck.checker.design import (
    DesignRef,
    block_document,
    load_workload,
    parse_design_spec,
    register_block,
)
from shardcheck.checker.errors import BadInput
from shardcheck.checker.fuzz.campaign import FuzzResult, FuzzSettings, FuzzStats, fuzz
from shardcheck.checker.search import ProcessHost, check_jobs


@attrs.frozen(kw_only=True)
class Campaign:
    """A campaign as plain data, so that any process can rebuild its strategies."""

    design: str
    """The design's spec; a file path is absolute."""
    workload: str | None
    """A fixed workload spec, or None to draw workloads from ``workload_strategy``."""
    workload_strategy: str
    workers: tuple[int, int]
    configs_name: str
    settings: FuzzSettings
    block: dict[str, Any] | None = None
    """The document of a fixed block-file workload, which shard processes cannot read."""

    @classmethod
    def of(cls, design: str | DesignRef, *, workload: str | None, workload_strategy: str,
           workers: tuple[int, int], configs_name: str, settings: FuzzSettings) -> Campaign:
        """The campaign, with a design file's path made absolute for other processes."""
        ref = parse_design_spec(design) if isinstance(design, str) else design
        if ref.file is not None:
            ref = attrs.evolve(ref, file=str(Path(ref.file).resolve()))
        block = None if workload is None else block_document(load_workload(workload).spec)
        return cls(design=ref.spec(), workload=workload, workload_strategy=workload_strategy,
                   workers=workers, configs_name=configs_name, settings=settings, block=block)

    def shard(self, index: int, shards: int) -> FuzzSettings:
        """The settings of shard ``index`` of ``shards``."""
        examples, extra = divmod(self.settings.examples, shards)
        return attrs.evolve(self.settings, seed=shard_seed(self.settings.seed, index, shards),
                            examples=examples + (1 if index < extra else 0))

    def run_shard(self, index: int, shards: int) -> FuzzResult:
        """Run shard ``index`` of ``shards`` to its end, in this process."""
        workload = self.workload
        if self.block is not None:
            workload = register_block(self.block, "the campaign's block").spec
        if workload is not None:
            workloads = fuzz_strategies.fixed_workload(workload)
        else:
            workloads = fuzz_strategies.workload_strategy(self.workload_strategy)
        configs = fuzz_strategies.configs(workloads, self.workers)
        return fuzz(self.design, configs, self.shard(index, shards),
                    configs_name=self.configs_name)


def shard_seed(seed: int, index: int, shards: int) -> int:
    """The seed of shard ``index`` of ``shards``: the campaign's own seed for one shard."""
    if shards == 1:
        return seed
    text = f"shardcheck fuzz shard {index} of {shards}, seed {seed}".encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=4).digest(), "little")


class Shard:
    """One shard, served by a worker process: built from plain data, run on request."""

    def __init__(self, campaign: Campaign, index: int, shards: int) -> None:
        self.campaign = campaign
        self.index = index
        self.shards = shards

    def run(self) -> FuzzResult:
        """Run this shard to its end."""
        return self.campaign.run_shard(self.index, self.shards)


def _run_task(campaign: Campaign, index: int, shards: int) -> FuzzResult:
    return campaign.run_shard(index, shards)


def fuzz_parallel(campaign: Campaign, *, jobs: int, scheduler: str | None = None,
                  in_process: bool = False) -> FuzzResult:
    """Run the campaign's ``jobs`` shards (local processes, the Dask cluster at
    ``scheduler``, or, with ``in_process``, here one after another) and combine them."""
    check_jobs(jobs)
    if campaign.settings.examples < jobs:
        raise BadInput(f"--examples ({campaign.settings.examples}) must be at least --jobs "
                       f"({jobs}): every shard runs one example or more")
    started = time.monotonic()
    if in_process or (jobs == 1 and scheduler is None):
        results = [campaign.run_shard(index, jobs) for index in range(jobs)]
    elif scheduler is not None:
        from shardcheck.checker.search import map_tasks

        results = map_tasks(scheduler, _run_task,
                            [(campaign, index, jobs) for index in range(jobs)])
    else:
        host = ProcessHost([(Shard, (campaign, index, jobs)) for index in range(jobs)])
        try:
            results = host.call_all("run", [()] * jobs)
        finally:
            host.close()
    return combine(results, time.monotonic() - started)


def combine(results: list[FuzzResult], seconds: float) -> FuzzResult:
    """The campaign's result from its shards' results, in shard order."""
    runs = sum(r.stats.runs for r in results)
    stats = FuzzStats(runs=runs, failing_runs=sum(r.stats.failing_runs for r in results),
                      seconds=seconds, first_failure_run=None, first_failure_seconds=None,
                      retried=sum(r.stats.retried for r in results))
    before = 0
    for result in results:
        if result.stats.first_failure_run is not None:
            stats = attrs.evolve(stats, first_failure_run=before + result.stats.first_failure_run,
                                 first_failure_seconds=result.stats.first_failure_seconds)
            break
        before += result.stats.runs
    failed = [(r.run.size(), index) for index, r in enumerate(results)
              if r.verdict == "violation" and r.run is not None]
    if failed:
        chosen = results[min(failed)[1]]
        return attrs.evolve(chosen, stats=stats)
    for verdict in ("interrupted", "inconclusive"):
        for index, result in enumerate(results):
            if result.verdict == verdict:
                return attrs.evolve(result, stats=stats,
                                    reason=f"shard {index + 1} of {len(results)}: "
                                           f"{result.reason}")
    timed = [r.reason for r in results if r.reason.startswith("time limit")]
    reason = (f"{runs:,} runs in {len(results)} shards, every property held" if not timed
              else f"a time limit stopped {len(timed)} of {len(results)} shards; {runs:,} "
                   "runs, every property held")
    return FuzzResult(verdict="pass", stats=stats, reason=reason)
