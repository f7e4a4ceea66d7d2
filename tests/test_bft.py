"""Per-module Tendermint: bad configurations refused, mutants found and replayed."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import strategies as st

import model
from checker import SearchSettings, explore, load_trace, replay, write_trace
from checker.designs import DesignRef
from checker.fuzz.api import FuzzFailure, fuzz_design
from checker.trace import Trace
from model.designs.bft import MUTANTS, Bft

from .cli_helpers import assert_bad_input, flat, invoke

BFT = Bft()
SMALL = "bft:replicas=1,f=0,byzantine=0,modules=2,txs=2,rounds=2,exec=block-stm,version_faults=1"


def run(design: model.Design, spec: str, **settings: object):  # type: ignore[no-untyped-def]
    """Explore ``design`` on ``spec`` (two workers, for a Block-STM execution)."""
    config = model.Config(model.build_workload(spec), 2)
    return explore(design, config, SearchSettings(**settings))  # type: ignore[arg-type]


def mutant(name: str) -> model.Mutant:
    """One of the design's mutants, by name."""
    return next(m for m in BFT.mutants() if m.name == name)


@pytest.mark.parametrize(("spec", "fragment"), [
    ("bft:replicas=3", "replicas must be 3f + 1 = 4 for f=1, got 3"),
    ("bft:replicas=7,f=1", "replicas must be 3f + 1 = 4 for f=1, got 7"),
    ("bft:byzantine=2", "byzantine + crashes = 2 exceeds f=1"),
    ("bft:byzantine=1,crashes=1", "byzantine + crashes = 2 exceeds f=1"),
    ("bft:exec=parallel", "exec must be one of serial, block-stm"),
])
def test_a_bad_configuration_is_one_line_and_exit_2(spec: str, fragment: str) -> None:
    """A combination Tendermint does not cover is refused before anything runs."""
    assert_bad_input(invoke("explore", "bft", "--workload", spec), fragment)


def test_the_workload_splits_transactions_by_module() -> None:
    """Transaction i belongs to module i mod modules, whose key it appends to."""
    workload = model.build_workload("bft:modules=2,txs=3")
    store = workload.initial
    owners = [store.module_of(model.block_keys((tx,), ())[0]) for tx in workload.block]
    assert owners == ["m0", "m1", "m0"]
    assert workload.param("replicas") == 4 and workload.param("exec") == "serial"


def test_two_modules_with_block_stm_execution_pass_every_schedule() -> None:
    """One replica per module, Block-STM execution and a version fault: 12 states, all safe."""
    result = run(BFT, SMALL)
    assert result.verdict == "pass", result.violation
    assert (result.stats.states, result.stats.terminal_states) == (12, 3)
    assert result.stats.distinct_outcomes == 1


def test_the_correct_design_survives_the_search_that_forks_weak_quorums() -> None:
    """Where weak-quorum forks, Tendermint's 2f + 1 holds on every state that search sees.

    The whole space of this configuration is far larger (see docs/modules.md), so the
    search is bounded and its verdict honestly inconclusive, never a violation.
    """
    result = run(BFT, "bft:txs=2,rounds=1", max_states=8_000)
    assert result.verdict == "inconclusive"
    assert result.violation is None


def test_weak_quorum_forks_in_round_zero_and_the_trace_replays(tmp_path: Path) -> None:
    """BFS finds the fork after 6 deliveries; the trace reproduces it and reads per replica."""
    found = mutant("weak-quorum")
    failure = found.known_failure
    assert failure is not None
    result = run(found.design, failure.workload)
    assert result.violation is not None
    assert (result.violation.property, result.violation.step) == ("INV-AGR", 6)
    assert len(result.path) == failure.steps == 6
    assert result.stats.states == 7_667
    assert "m0/r1 decided T0.T1 in round 0 but m0/r2 decided T1.T0" in result.violation.message
    spec = model.build_workload(failure.workload).spec
    trace = Trace(DesignRef("bft", "weak-quorum"), spec, failure.workers,
                  result.initial_fingerprint, result.path, result.violation)
    path = tmp_path / "weak-quorum.trace.json"
    write_trace(trace, path)
    replayed = replay(load_trace(path))
    assert replayed.verdict == "reproduced", replayed.message
    shown = flat(invoke("replay", str(path)).output)
    for column in ("m0/r1", "m0/r2"):
        assert column in shown
    # a delivery in the receiver's column, and what the handler sent in its changes
    for fragment in ("deliver", "msg=proposal", "from=m0/r0", "network.in_flight", "+<prevote"):
        assert fragment in shown, fragment


def test_every_mutant_names_its_bug_and_how_it_is_found() -> None:
    """Three mutants, each with a docstring that says where the bug is real."""
    assert [m.name for m in BFT.mutants()] == [spec.name for spec in MUTANTS]
    assert [m.name for m in BFT.mutants()] == ["weak-quorum", "no-lock",
                                               "shared-version-diverges"]
    for m in BFT.mutants():
        assert "Where:" in m.doc and "Found by:" in m.doc


def test_the_corpus_traces_reproduce() -> None:
    """Every trace kept under traces/bft/ still reproduces its violation."""
    traces = sorted((Path(__file__).parent.parent / "traces" / "bft").glob("*.trace.json"))
    assert traces
    for path in traces:
        replayed = replay(load_trace(path))
        assert replayed.verdict == "reproduced", (path.name, replayed.message)


def test_a_duplicate_changes_nothing_but_the_budget() -> None:
    """Votes are sets: a duplicated message delivered twice counts once."""
    config = model.Config(model.build_workload("bft:byzantine=0,txs=1,rounds=1,duplicates=1"), 2)
    state = BFT.initial(config)
    dup = next(a for a in BFT.actions(state) if a.name == "duplicate")
    twice = BFT.step(state, dup)
    deliver = next(a for a in BFT.actions(twice) if a.name == "deliver"
                   and a.actor == dup.param("to") and a.param("from") == dup.param("from")
                   and a.param("msg") == dup.param("msg"))
    once = BFT.step(twice, deliver)
    again = BFT.step(once, deliver)
    assert again.replicas == once.replicas
    assert again.network.in_flight == BFT.step(state, deliver).network.in_flight


def test_renamed_replicas_have_one_representative() -> None:
    """Swapping two interchangeable replicas gives the same canonical state."""
    config = model.Config(model.build_workload("bft:txs=1,rounds=1"), 2)
    state = BFT.initial(config)
    first = next(a for a in BFT.actions(state) if a.actor == "m0/r1")
    second = next(a for a in BFT.actions(state) if a.actor == "m0/r2"
                  and a.params == first.params)
    a, b = BFT.step(state, first), BFT.step(state, second)
    assert a != b
    assert BFT.canonical(a) == BFT.canonical(b)
    assert BFT.canonical(BFT.canonical(a)) == BFT.canonical(a)


@pytest.mark.parametrize(("name", "prop"), [("no-lock", "INV-AGR"),
                                            ("shared-version-diverges", "INV-DET")])
def test_fuzzing_finds_the_deep_mutants_and_the_trace_replays(name: str, prop: str,
                                                               tmp_path: Path) -> None:
    """Uniform schedules find what breadth-first search reaches too slowly; it replays."""
    failure = {"no-lock": "bft:txs=2,rounds=2",
               "shared-version-diverges": "bft:txs=1,rounds=1,version_faults=1"}[name]
    with pytest.raises(FuzzFailure) as caught:
        fuzz_design(f"bft:{name}", workloads=st.just(failure), workers=2, examples=300,
                    schedule="uniform", shrink_runs=0, trace_dir=tmp_path)
    trace = caught.value.result.trace
    assert trace is not None and trace.violation is not None
    assert trace.violation.property == prop
    replayed = replay(load_trace(caught.value.trace_path))
    assert replayed.verdict == "reproduced", replayed.message


@pytest.mark.parametrize("spec", [
    "bft:txs=2,rounds=2",
    "bft:byzantine=0,crashes=1,txs=1,rounds=2",
    "bft:txs=2,rounds=3,drops=1,duplicates=1",
    "bft:modules=2,txs=2,rounds=2,exec=block-stm",
])
def test_random_schedules_keep_every_property_and_end_quiescent(spec: str) -> None:
    """Seeded random runs: no property fails, and terminal means no action is enabled."""
    rng = random.Random(spec)
    config = model.Config(model.build_workload(spec), 2)
    decided = 0
    for _ in range(40):
        state = BFT.initial(config)
        while actions := BFT.actions(state):
            assert not BFT.is_terminal(state)
            state = BFT.step(state, rng.choice(actions))
            for prop in BFT.properties():
                if prop.kind == "state":
                    assert prop.check(state) is None, (prop.name, prop.check(state))
        assert BFT.is_terminal(state)
        for prop in BFT.properties():
            assert prop.check(state) is None, (prop.name, prop.check(state))
        decided += sum(1 for module in state.replicas for r in module
                       if r is not None and r.decision is not None)
    assert decided > 0
