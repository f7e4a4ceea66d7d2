"""Fuzzing: strategies draw buildable blocks, failures shrink into traces that replay."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import shardcheck.checker.cli.fuzz
from shardcheck import model
from shardcheck.checker import FuzzFailure, fuzz_design, load_trace, replay, resolve_design
from shardcheck.checker.fuzz import (
    FuzzConfig,
    FuzzProgress,
    FuzzSettings,
    RunsSchedule,
    Segment,
    execute,
    fuzz,
)
from shardcheck.checker.fuzz import strategies as fs

from .cli_helpers import assert_bad_input, flat, invoke
from .conftest import USER_DESIGN

NO_DB = FuzzSettings(database=None, examples=200)


@settings(max_examples=60)
@given(fs.configs(fs.mixed(txs=(1, 12)), (1, 4)))
def test_every_drawn_configuration_is_a_workload_the_model_builds(config: FuzzConfig) -> None:
    """A drawn spec is spelled out in full, so a trace names exactly that block."""
    workload = model.build_workload(config.workload)
    assert workload.spec == config.workload
    assert 1 <= len(workload.block) <= 12 and 1 <= config.workers <= 4


@pytest.mark.parametrize("conflict, keys", [(1.0, 1), (0.0, 6), (0.5, 4)])
@settings(max_examples=5)
@given(data=st.data())
def test_conflict_rate_sets_how_many_counters_six_increments_share(
        conflict: float, keys: int, data: st.DataObject) -> None:
    """Conflict 1 puts every transaction on one key, 0 gives each its own."""
    assert f"keys={keys}," in data.draw(fs.counters(txs=6, conflict=conflict))


def test_a_runs_schedule_with_no_preemption_finishes_a_correct_block() -> None:
    """Once its segments are used up the schedule still ends every run."""
    design, _ = resolve_design("block-stm")
    config = FuzzConfig(workload="transfers:txs=10,accounts=3", workers=4)
    run = execute(design, config, RunsSchedule((Segment(1, 3, 2),)), 10_000)
    assert run.violation is None and run.actions


def test_a_segment_runs_one_worker_for_its_length() -> None:
    """The first segment picks the actor and keeps it for 2**exponent + offset steps."""
    design, _ = resolve_design("block-stm")
    config = FuzzConfig(workload="counter:txs=3,keys=1", workers=3)
    run = execute(design, config, RunsSchedule((Segment(2, 2, 1), Segment(0, 0, 0))), 10_000)
    assert [a.actor for a in run.actions[:6]] == ["w2"] * 5 + ["w0"]


def test_an_actor_with_several_actions_takes_the_drawn_one_and_one_action_costs_no_draw(
        ) -> None:
    """The choice among an actor's own actions is drawn, only where there is one."""
    asked: list[tuple[int, int]] = []

    def choose(low: int, high: int) -> int:
        asked.append((low, high))
        return high

    enabled = (model.Action("r1", "deliver", {"m": 0}), model.Action("r2", "deliver"),
               model.Action("r1", "deliver", {"m": 1}), model.Action("r1", "timeout"))
    schedule = RunsSchedule((Segment(0, 0, 0),)).choosing_with(choose)
    assert schedule.pick(enabled) == 3 and asked == [(0, 2)]
    first = RunsSchedule((Segment(0, 0, 0),))
    assert first.pick(enabled) == 0
    single = RunsSchedule((Segment(1, 0, 0),)).choosing_with(choose)
    assert single.pick(enabled) == 1 and asked == [(0, 2)]


def test_the_default_schedule_reorders_deliveries_and_finds_the_diverging_version(
        tmp_path: Path) -> None:
    """A replica has several rules it may fire; taking each actor's first action, the
    runs schedule missed bft:shared-version-diverges in 3,000 runs."""
    with pytest.raises(FuzzFailure) as caught:
        fuzz_design("bft:shared-version-diverges",
                    workloads=st.just("bft:txs=1,rounds=1,version_faults=1"), workers=2,
                    examples=300, shrink_runs=0, seed=0, trace_dir=tmp_path)
    trace = caught.value.result.trace
    assert trace is not None and trace.violation is not None
    assert trace.violation.property == "INV-DET"


@pytest.mark.parametrize("mutant, workloads, steps", [
    ("read-own-entries", fs.counters(txs=(2, 4)), 103),
    ("exists-unrecorded", fs.registrations(txs=(2, 4)), 68),
    ("scan-keys-only", fs.audits(txs=(2, 4)), 70),
])
def test_fuzz_shrinks_a_mutant_to_a_trace_that_replays(mutant: str,
                                                       workloads: st.SearchStrategy[str],
                                                       steps: int, tmp_path: Path) -> None:
    """The shrunk trace is pinned in length and replays as reproduced."""
    with pytest.raises(FuzzFailure) as failure:
        fuzz_design(f"block-stm:{mutant}", workloads=workloads, workers=(2, 4),
                    trace_dir=tmp_path)
    trace = load_trace(failure.value.trace_path)
    assert len(trace.steps) == steps
    assert trace.workers == 2
    assert replay(trace).verdict == "reproduced"
    message = str(failure.value)
    assert str(failure.value.trace_path) in message
    assert "replay with: shardcheck replay" in message and "✗" in message


@pytest.mark.parametrize("design", ["block-stm", "serial"])
def test_correct_designs_survive_a_short_campaign(design: str) -> None:
    """No false alarm on the designs that are right."""
    result = fuzz(design, fs.configs(fs.mixed(txs=(2, 8))), NO_DB)
    assert result.verdict == "pass", result.trace and result.trace.violation
    assert result.stats.runs >= 200


def _interrupt_after(runs: int) -> object:
    def progress(now: FuzzProgress) -> None:
        if now.runs >= runs:
            raise KeyboardInterrupt
    return progress


def test_ctrl_c_while_shrinking_keeps_the_smallest_failure_so_far() -> None:
    """An interrupted campaign returns what it found and says how far it got."""
    result = fuzz("block-stm:read-own-entries", fs.configs(fs.counters(txs=(6, 8)), 4),
                  NO_DB, progress=_interrupt_after(2))  # type: ignore[arg-type]
    assert result.verdict == "violation" and not result.shrunk
    assert result.trace is not None and result.reason.startswith("interrupted after 2 runs")


def test_ctrl_c_before_a_failure_is_not_a_pass() -> None:
    """Nothing found yet: the verdict says interrupted."""
    result = fuzz("block-stm", fs.configs(fs.counters()), NO_DB,
                  progress=_interrupt_after(3))  # type: ignore[arg-type]
    assert result.verdict == "interrupted" and result.stats.runs == 3


def test_cli_fuzz_writes_a_trace_that_replay_reproduces(tmp_path: Path) -> None:
    """`shardcheck fuzz` exits 1, writes the trace, and `shardcheck replay` reproduces it."""
    out = tmp_path / "t.json"
    result = invoke("fuzz", "block-stm:scan-keys-only", "-s", "audit:txs=2-4", "-k", "2",
                    "--no-database", "--trace-out", str(out), "-q")
    assert result.exit_code == 1, result.output
    assert "violation of serial-equivalence" in flat(result.output)
    replayed = invoke("replay", str(out), "--no-timeline")
    assert replayed.exit_code == 1 and "reproduced" in replayed.output


def test_cli_ctrl_c_writes_what_it_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Interrupted while shrinking: the trace is written and the output says so."""
    real = shardcheck.checker.cli.fuzz.fuzz

    def interrupted(*args: object, **kwargs: object) -> object:
        kwargs["progress"] = _interrupt_after(2)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(shardcheck.checker.cli.fuzz, "fuzz", interrupted)
    out = tmp_path / "t.json"
    result = invoke("fuzz", "block-stm:read-own-entries", "-s", "counter:txs=6-8", "-k", "4",
                    "--no-database", "--trace-out", str(out), "-q", "--no-timeline")
    assert result.exit_code == 1, result.output
    assert "interrupted after 2 runs, while shrinking" in flat(result.output)
    assert out.exists()


def test_a_correct_design_passes_the_cli_within_its_budget() -> None:
    """Exit 0 when the budget runs out with nothing violated."""
    result = invoke("fuzz", "block-stm", "-s", "counter:txs=2-5", "--examples", "50",
                    "--no-database", "-q")
    assert result.exit_code == 0, result.output
    assert "✓ no violation: 50 runs" in flat(result.output)


def test_the_database_retries_a_saved_failure_first(tmp_path: Path) -> None:
    """A second campaign finds the saved failure in its first run and the same trace."""
    db, first, second = tmp_path / "db", tmp_path / "a.json", tmp_path / "b.json"
    args = ("fuzz", "block-stm:scan-keys-only", "-s", "audit:txs=2-4", "-k", "2",
            "--database", str(db), "--no-timeline")
    assert invoke(*args, "--trace-out", str(first)).exit_code == 1
    again = invoke(*args, "--trace-out", str(second))
    assert again.exit_code == 1
    assert "saved example(s) retried first" in flat(again.output)
    assert "first failure after 1 run(s)" in flat(again.output)
    assert load_trace(first) == load_trace(second)


def test_two_processes_with_one_seed_write_byte_identical_traces(tmp_path: Path) -> None:
    """Same seed, same shrunk trace, under any PYTHONHASHSEED."""
    outputs = []
    for hash_seed in ("0", "4242"):
        (tmp_path / hash_seed).mkdir()
        out = tmp_path / hash_seed / "trace.json"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        run = subprocess.run(
            [sys.executable, "-c", "from shardcheck.checker.cli.main import main; main()", "fuzz",
             "block-stm:exists-unrecorded", "-s", "mix:txs=2-5", "-k", "2-3", "--seed", "7",
             "--no-database", "--trace-out", "trace.json", "-q", "--no-timeline"],
            env=env, capture_output=True, text=True, cwd=tmp_path / hash_seed)
        assert run.returncode == 1, run.stdout + run.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize("args, fragment", [
    (("-s", "zipf"), "unknown workload strategy 'zipf'"),
    (("-s", "counter:size=3"), "counter has no parameter 'size'"),
    (("-s", "condwrite:conflict=0.5"), "condwrite has no parameter 'conflict'"),
    (("-s", "counter:txs=0-3"), "txs must be a range within 1..64"),
    (("-s", "counter:conflict=2"), "conflict must be between 0 and 1"),
    (("--examples", "0"), "--examples must be positive"),
    (("--time-limit", "0"), "--time-limit must be positive"),
    (("--workers", "two"), "--workers must be N or LOW-HIGH"),
    (("--workload", "counter:txs=2", "-s", "mix"), "not both"),
    (("--workload", "nope"), "unknown workload 'nope'"),
])
def test_bad_input_is_one_line_and_exit_2(args: tuple[str, ...], fragment: str) -> None:
    """Every bad parameter is named in one line, never a traceback."""
    assert_bad_input(invoke("fuzz", "block-stm", "--no-database", "-q", *args), fragment)


def test_an_unusable_example_database_is_bad_input(tmp_path: Path) -> None:
    """A database path that is a file cannot keep examples: exit 2 before any run."""
    not_a_directory = tmp_path / "db"
    not_a_directory.write_text("")
    assert_bad_input(invoke("fuzz", "block-stm", "--database", str(not_a_directory), "-q"),
                     "is not a directory", "--no-database")


def test_an_unknown_design_is_bad_input() -> None:
    """The design is resolved as everywhere else, suggestion included."""
    assert_bad_input(invoke("fuzz", "block-stn", "-q"), "did you mean 'block-stm'")


def test_a_user_design_is_fuzzed_and_replayed_from_its_file(tmp_path: Path) -> None:
    """The naive optimistic scheduler's lost update comes back as a trace of that file."""
    out = tmp_path / "occ.json"
    design = f"{USER_DESIGN}:NaiveOcc"
    result = invoke("fuzz", design, "-s", "counter:txs=2-4", "-k", "2", "--no-database",
                    "--trace-out", str(out), "-q", "--no-timeline")
    assert result.exit_code == 1, result.output
    replayed = invoke("replay", str(out), "--design-file", str(USER_DESIGN), "--no-timeline")
    assert replayed.exit_code == 1 and "reproduced" in replayed.output


def test_cli_ctrl_c_before_a_failure_exits_130_and_says_how_far(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Interrupted with nothing found: not a pass, and the run count is reported."""
    real = shardcheck.checker.cli.fuzz.fuzz

    def interrupted(*args: object, **kwargs: object) -> object:
        kwargs["progress"] = _interrupt_after(5)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(shardcheck.checker.cli.fuzz, "fuzz", interrupted)
    result = invoke("fuzz", "block-stm", "--no-database", "-q")
    assert result.exit_code == 130, result.output
    assert "interrupted after 5 runs" in flat(result.output)


def test_a_time_limit_ends_a_clean_campaign_as_a_pass() -> None:
    """A time limit is a budget: running out of it with nothing violated passes."""
    result = fuzz("block-stm", fs.configs(fs.mixed()),
                  FuzzSettings(database=None, examples=100_000, time_limit=0.5))
    assert result.verdict == "pass" and result.reason.startswith("time limit of 0.5s")
