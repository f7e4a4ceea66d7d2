"""Every Block-STM mutant falls to `shardcheck fuzz` on blocks beyond exhaustive reach."""

from __future__ import annotations

from pathlib import Path

import pytest

from shardcheck.checker import load_trace, replay
from shardcheck.checker.fuzz import FuzzSettings, fuzz
from shardcheck.checker.fuzz import strategies as fs

from .cli_helpers import flat, invoke

SHRUNK_BOUND = 450
"""The longest shrunk trace a mutant may come back as on 8-12 transactions, 4 workers.
Most of a trace is the block running to its end, where serial equivalence is judged;
8 transactions take 250-400 steps however the schedule is shrunk."""

LARGE = {
    "active-after-fetch": "counter:txs=8-12",
    "single-collect": "counter:txs=8-12",
    "dependency-check-outside-lock": "counter:txs=8-12",
    "resume-keeps-execution-idx": "condwrite:txs=8-12",
    "not-found-ignores-version": "condwrite:txs=8-12",
    "newloc-first-incarnation": "condwrite:txs=8-12",
    "exists-unrecorded": "registry:txs=8-12",
    "read-own-entries": "counter:txs=8-12",
    "scan-keys-only": "audit:txs=8-12",
}


def _fuzz_and_replay(mutant: str, strategy: str, tmp_path: Path) -> int:
    out = tmp_path / f"{mutant}.json"
    result = invoke("fuzz", f"block-stm:{mutant}", "-s", strategy, "-k", "4", "--no-database",
                    "--trace-out", str(out), "-q", "--no-timeline")
    assert result.exit_code == 1, result.output
    assert "✗ violation of" in flat(result.output)
    trace = load_trace(out)
    assert trace.workers == 4 and len(load_trace(out).steps) <= SHRUNK_BOUND
    assert replay(trace).verdict == "reproduced"
    return len(trace.steps)


def test_a_large_block_mutant_is_found_and_shrunk_fast(tmp_path: Path) -> None:
    """M08 on 8-12 increments and 4 workers: caught on the first run, shrunk to 8 of them."""
    assert _fuzz_and_replay("read-own-entries", LARGE["read-own-entries"], tmp_path) == 275


@pytest.mark.slow
@pytest.mark.parametrize("mutant", sorted(LARGE))
def test_every_mutant_is_found_on_a_large_block_within_the_default_budget(
        mutant: str, tmp_path: Path) -> None:
    """The default budget finds each mutant on 8-12 transactions and 4 workers; the
    shrunk trace is within the bound and replays."""
    _fuzz_and_replay(mutant, LARGE[mutant], tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("design, examples", [("block-stm", 3000), ("serial", 1000)])
def test_correct_designs_survive_a_long_campaign(design: str, examples: int) -> None:
    """Thousands of runs on blocks up to 12 transactions and 4 workers: no false alarm."""
    result = fuzz(design, fs.configs(fs.mixed(txs=(2, 12)), (2, 4)),
                  FuzzSettings(examples=examples, database=None, seed=1))
    assert result.verdict == "pass", result.trace and result.trace.violation
