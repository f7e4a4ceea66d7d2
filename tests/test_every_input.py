"""Schedules checked for every input: classes of initial stores, explore --every-input,
prove-trace, and the mutant only some balances show."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest

from shardcheck import model
from shardcheck.checker import SearchSettings, explore, load_trace, replay
from shardcheck.checker.design.resolve import DesignRef, resolve_design
from shardcheck.checker.search.every_input import (
    class_workload,
    explore_every_input,
    follow_schedule,
    input_classes,
    parse_assumption,
    prove_trace,
)
from shardcheck.checker.trace.files import write_trace

from .cli_helpers import assert_bad_input, flat, invoke
from .conftest import ROOT

# Both transfers move 2 out of acct0; with balances of 10 neither ever reverts.
GENEROUS = "transfers:txs=2,accounts=2,seed=2,balance=10"
MUTANT = "block-stm:revert-keeps-writes"
MUTANT_TRACE = ROOT / "traces" / "block-stm" / "revert-keeps-writes.trace.json"


def _verdict(design_spec: str, workload: model.Workload) -> str:
    design, _ = resolve_design(design_spec)
    return explore(design, model.Config(workload, 2), SearchSettings()).verdict


def test_the_classes_split_the_stores_by_which_transfers_can_revert() -> None:
    """acct0 < 2: both revert; 2..3: T0 commits, T1 reverts serially; >= 4: both commit.
    Each class is represented by the store closest to the workload's own."""
    classes = input_classes(model.build_workload(GENEROUS))
    stores = [w.initial.as_dict() for w in classes.workloads]
    assert stores == [{"acct0": 1, "acct1": 10}, {"acct0": 3, "acct1": 10},
                      {"acct0": 10, "acct1": 10}]
    assert classes.atoms == 2
    assert classes.workloads[2].spec == model.build_workload(GENEROUS).spec


def test_the_mutant_is_missed_on_the_workloads_values_and_found_for_every_input() -> None:
    """The acceptance test: exhaustive search on balances of 10 passes the mutant; the
    search under every class of initial stores finds it, on a store it names."""
    workload = model.build_workload(GENEROUS)
    assert _verdict(MUTANT, workload) == "pass"
    design, _ = resolve_design(MUTANT)
    result = explore_every_input(design, model.Config(workload, 2), SearchSettings(),
                                 input_classes(workload))
    assert result.verdict == "violation"
    failing = result.searched[-1]
    assert failing.workload.initial.as_dict() == {"acct0": 3, "acct1": 10}
    assert failing.result.violation is not None
    assert failing.result.violation.property == "serial-equivalence"


def test_correct_block_stm_passes_under_every_class() -> None:
    """The published algorithm is serializable on every store of every class."""
    workload = model.build_workload(GENEROUS)
    design, _ = resolve_design("block-stm")
    result = explore_every_input(design, model.Config(workload, 2), SearchSettings(),
                                 input_classes(workload))
    assert result.verdict == "pass"
    assert len(result.searched) == 3


def test_one_store_per_class_agrees_with_brute_force_over_the_stores() -> None:
    """Explore the mutant on every acct0 in 0..4 and 10: it fails exactly on 2 and 3,
    which is the failing class (represented by 3); the other classes' stores pass."""
    workload = model.build_workload(GENEROUS)
    verdicts = {acct0: _verdict(MUTANT, class_workload(workload, {"acct0": acct0,
                                                                   "acct1": 10}))
                for acct0 in (0, 1, 2, 3, 4, 10)}
    assert {v for v, verdict in verdicts.items() if verdict == "violation"} == {2, 3}
    representatives = [w.initial.as_dict()["acct0"] for w in input_classes(workload).workloads]
    assert [verdicts[v] for v in representatives] == ["pass", "violation", "pass"]


def test_an_assumption_narrows_the_stores() -> None:
    """With acct0 >= 4 no transfer can revert: one class, and the mutant passes it."""
    workload = model.build_workload(GENEROUS)
    classes = input_classes(workload, parse_assumption(workload, "acct0 >= 4"))
    assert [w.initial.as_dict() for w in classes.workloads] == [{"acct0": 10, "acct1": 10}]


def test_prove_trace_finds_the_classes_a_recorded_schedule_breaks_on() -> None:
    """The mutant's kept trace breaks on its own store's class only; a correct design
    following the same turns breaks on none."""
    trace = load_trace(MUTANT_TRACE)
    proof = prove_trace(trace, None)
    assert proof.verdict == "refuted"
    broken = [r.workload.initial.as_dict() for r in proof.runs if r.violation]
    assert broken == [{"acct0": 3, "acct1": 3}]
    correct = attrs.evolve(trace, design=DesignRef("block-stm"))
    assert prove_trace(correct, None).verdict == "proved"


def test_a_followed_schedule_is_the_recorded_one_on_the_recorded_store() -> None:
    """On the trace's own store every step is taken as recorded, with the same fingerprints."""
    trace = load_trace(MUTANT_TRACE)
    design, _ = resolve_design(MUTANT)
    run = follow_schedule(design, model.Config(model.build_workload(trace.workload), 2),
                          trace.steps, trace.step_bound)
    assert (run.as_recorded, run.adapted, run.skipped, run.completed) == (86, 0, 0, 0)
    assert [s.fingerprint for s in run.steps] == [s.fingerprint for s in trace.steps]
    assert run.violation == trace.violation


def test_cli_explore_every_input_writes_a_trace_that_replays(tmp_path: Path) -> None:
    """explore --every-input exits 1 and its trace names the store it needs."""
    out = tmp_path / "found.trace.json"
    result = invoke("explore", MUTANT, "-w", GENEROUS, "--every-input", "--no-timeline",
                    "--trace-out", str(out))
    assert result.exit_code == 1, result.output
    text = flat(result.output)
    assert "3 class(es) of initial stores" in text
    assert "the violation needs the initial store acct0=3 acct1=10" in text
    trace = load_trace(out)
    assert trace.workload.endswith("@acct0=3")
    assert replay(trace).verdict == "reproduced"
    plain = invoke("explore", MUTANT, "-w", GENEROUS, "-q", "--no-timeline")
    assert plain.exit_code == 0, plain.output


def test_cli_prove_trace_refutes_and_writes_a_replayable_run(tmp_path: Path) -> None:
    """prove-trace: exit 1, a line per class, and a trace that replays bit for bit."""
    out = tmp_path / "input.trace.json"
    result = invoke("prove-trace", str(MUTANT_TRACE), "--trace-out", str(out))
    assert result.exit_code == 1, result.output
    text = flat(result.output)
    assert "class 1/3" in text and "class 3/3" in text
    assert "✗ refuted: on the initial store acct0=3 acct1=3" in text
    assert replay(load_trace(out)).verdict == "reproduced"


def test_cli_prove_trace_proves_a_correct_schedule_and_speaks_json(tmp_path: Path) -> None:
    """A correct design's schedule: exit 0; --format json gives every class's run."""
    trace = attrs.evolve(load_trace(MUTANT_TRACE), design=DesignRef("block-stm"))
    path = tmp_path / "correct.trace.json"
    write_trace(trace, path)
    result = invoke("prove-trace", str(path), "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["verdict"] == "proved"
    assert [c["store"] for c in report["classes"]] == [
        {"acct0": 1, "acct1": 3}, {"acct0": 3, "acct1": 3}, {"acct0": 4, "acct1": 3}]
    assert all(c["violation"] is None for c in report["classes"])


@pytest.mark.parametrize(("args", "fragments"), [
    (("explore", MUTANT, "-w", GENEROUS, "--every-input", "--assume", "acct0 >="),
     ("does not parse",)),
    (("explore", MUTANT, "-w", GENEROUS, "--every-input", "--assume", "acct7 >= 0"),
     ("unknown key 'acct7'",)),
    (("explore", MUTANT, "-w", GENEROUS, "--every-input", "--assume", "acct0 < acct0"),
     ("no initial store",)),
    (("prove-trace", "no/such/file.json"), ("no/such/file.json",)),
])
def test_bad_input_is_one_line_and_exit_2(args: tuple[str, ...],
                                          fragments: tuple[str, ...]) -> None:
    """A malformed assumption, an unsatisfiable one, or a missing trace: exit 2."""
    assert_bad_input(invoke(*args), *fragments)


def test_assume_without_every_input_is_a_usage_error() -> None:
    """--assume alone would silently do nothing, so it is refused."""
    result = invoke("explore", MUTANT, "-w", GENEROUS, "--assume", "acct0 >= 0")
    assert result.exit_code == 2
    assert "--every-input" in result.output


def test_too_many_classes_is_inconclusive_never_a_pass() -> None:
    """Past --max-classes the answer is exit 3 with the reason."""
    result = invoke("explore", MUTANT, "-w", GENEROUS, "--every-input", "--max-classes", "2",
                    "-q")
    assert result.exit_code == 3, result.output
    assert "more than 2 classes" in flat(result.output + result.stderr)
