"""Per-module Tendermint: bad configurations refused, mutants found and replayed."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from hypothesis import strategies as st

from shardcheck import model
from shardcheck.checker import SearchSettings, explore, load_trace, replay, write_trace
from shardcheck.checker.design.resolve import DesignRef
from shardcheck.checker.fuzz.api import FuzzFailure, fuzz_design
from shardcheck.checker.trace.files import Trace
from shardcheck.model.designs import bft as bft_module
from shardcheck.model.designs.bft import MUTANTS, Bft

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
    ("bft:byzantine=4", "byzantine=4 leaves no honest replica of 4"),
    ("bft:replicas=1,f=0,byzantine=1", "byzantine=1 leaves no honest replica of 1"),
    ("bft:exec=parallel", "exec must be one of serial, block-stm"),
    ("bft:drops=1", "drops and duplicates are not modelled"),
    ("bft:duplicates=1", "drops and duplicates are not modelled"),
])
def test_a_bad_configuration_is_one_line_and_exit_2(spec: str, fragment: str) -> None:
    """A combination Tendermint does not cover is refused before anything runs."""
    assert_bad_input(invoke("explore", "bft", "--workload", spec), fragment)


def test_more_byzantine_replicas_than_f_fork_a_module_as_tendermint_warns() -> None:
    """Breaking the assumption on purpose: byzantine = f + 1 runs, the report header says
    the assumption is exceeded, and breadth-first search finds the fork, two honest
    replicas deciding different blocks in round 0, in 6 steps on 156 states."""
    spec = "bft:byzantine=2,txs=1,rounds=1"
    config = model.Config(model.build_workload(spec), 2)
    assert BFT.notes(config)[0] == ("byzantine=2 exceeds f=1: Tendermint's assumption is "
                                    "broken on purpose, so a violation is expected (a fork, "
                                    "INV-AGR)")
    result = run(BFT, spec)
    assert result.violation is not None
    assert (result.violation.property, result.violation.step) == ("INV-AGR", 6)
    assert result.stats.states == 156
    assert result.violation.message == ("m0/r2 decided T0 in round 0 but m0/r3 decided "
                                        "empty in round 0")
    shown = flat(invoke("explore", "bft", "--workload", spec, "--no-timeline",
                        "--trace-out", os.devnull, "--force").output)
    assert "note byzantine=2 exceeds f=1" in shown


def test_the_workload_splits_transactions_by_module() -> None:
    """Transaction i belongs to module i mod modules, whose key it appends to."""
    workload = model.build_workload("bft:modules=2,txs=3")
    store = workload.initial
    owners = [store.module_of(model.block_keys((tx,), ())[0]) for tx in workload.block]
    assert owners == ["m0", "m1", "m0"]
    assert workload.param("replicas") == 4 and workload.param("exec") == "serial"


def test_two_modules_with_block_stm_execution_pass_every_schedule() -> None:
    """One replica per module, Block-STM execution and a version fault: every schedule safe."""
    result = run(BFT, SMALL)
    assert result.verdict == "pass", result.violation
    assert (result.stats.states, result.stats.terminal_states) == (2_145, 260)
    assert result.stats.distinct_outcomes == 4


CORRECT = [
    # (workload, states, terminal states): where weak-quorum and shared-version-diverges
    # fail, then where no-lock does (a fork needs a second round)
    pytest.param("bft:txs=1,rounds=1", 299, 48, id="rounds=1"),
    pytest.param("bft:txs=1,rounds=1,version_faults=1", 1_675, 110, id="version_faults=1"),
    pytest.param("bft:txs=1,rounds=2", 228_024, 32_591, id="rounds=2"),
]


@pytest.mark.parametrize(("spec", "states", "terminal"), CORRECT)
def test_the_correct_design_passes_every_schedule_where_a_mutant_fails(
        spec: str, states: int, terminal: int) -> None:
    """Tendermint as published holds on the whole space of each mutant's smallest failing
    configuration: every property in every state, ``stall`` in every terminal one."""
    assert spec in {m.known_failure.workload for m in BFT.mutants() if m.known_failure}
    result = run(BFT, spec)
    assert result.verdict == "pass", result.violation
    assert result.stats.complete
    assert (result.stats.states, result.stats.terminal_states) == (states, terminal)


MUTANT_FINDS = [
    # (mutant, states searched, what the violation says)
    pytest.param("weak-quorum", 953,
                 "m0/r1 decided T0 in round 0 but m0/r2 decided empty in round 0",
                 id="weak-quorum"),
    pytest.param("shared-version-diverges", 332,
                 "m0/r1 executed T0 to state root 1aeeecb0b8abe0a6; serial execution of that "
                 "block gives 888d0565b7584d9f", id="shared-version-diverges"),
    pytest.param("no-lock", 93_270,
                 "m0/r1 decided T0 in round 1 but m0/r2 decided empty in round 0",
                 id="no-lock"),
]


@pytest.mark.parametrize(("name", "states", "message"), MUTANT_FINDS)
def test_breadth_first_search_finds_each_mutant_and_the_trace_replays(
        name: str, states: int, message: str, tmp_path: Path) -> None:
    """Each mutant fails on its known configuration, in the steps it names, and the trace
    written from the search reproduces the violation from the file alone."""
    found = mutant(name)
    failure = found.known_failure
    assert failure is not None
    result = run(found.design, failure.workload)
    assert result.violation is not None
    assert (result.violation.property, result.violation.step) == (failure.property,
                                                                  failure.steps)
    assert len(result.path) == failure.steps
    assert result.stats.states == states
    assert message in result.violation.message
    spec = model.build_workload(failure.workload).spec
    trace = Trace(DesignRef("bft", name), spec, failure.workers,
                  result.initial_fingerprint, result.path, result.violation)
    path = tmp_path / f"{name}.trace.json"
    write_trace(trace, path)
    replayed = replay(load_trace(path))
    assert replayed.verdict == "reproduced", replayed.message


def test_the_weak_quorum_fork_reads_per_replica(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kept trace shows each replica's upon rules in its column, the messages each
    rule acts on (its deliveries: Byzantine r0's two proposals, and each side's f+1
    prevotes and precommits), and what each replica sent (in a log 150 columns wide)."""
    monkeypatch.setenv("COLUMNS", "150")
    path = Path(__file__).parent.parent / "traces" / "bft" / "weak-quorum.trace.json"
    shown = flat(invoke("replay", str(path)).output)
    for column in ("m0/r1", "m0/r2"):
        assert column in shown
    for fragment in ("on-proposal round=0 value=T0 vr=-1 from=r0",
                     "on-proposal round=0 value=empty vr=-1 from=r0",
                     "on-polka round=0 value=T0 from=r0,r1",
                     "on-polka round=0 value=empty from=r0,r2",
                     "decide round=0 value=T0 from=r0,r1",
                     "replicas[0][1].prevotes: () → (Vote(round=0,"):
        assert fragment in shown, fragment


def test_a_rule_names_only_the_messages_its_footprint_reads() -> None:
    """A rule's senders grow only by sends to the objects it reads, so an action another
    replica's independent step leaves enabled is still the same action (sleep sets rely
    on it); and the compact path, which never shows an action, names no senders."""
    workload = model.build_workload("bft:txs=1,rounds=2")
    state = BFT.initial(model.Config(workload, 2))
    for _ in range(12):
        actions = BFT.actions(state)
        if not actions:
            break
        for a in actions:
            after = BFT.step(state, a)
            for b in BFT.actions(state):
                if b.actor != a.actor and not a.conflicts_with(b):
                    assert b in BFT.actions(after), (a.label(), b.label())
        state = BFT.step(state, actions[len(actions) // 2])
    sent = bft_module.Sent.of_logs([], 1)
    assert sent.names is None and sent.who(bft_module.PREVOTE, 0) is None


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


def test_the_byzantine_proposer_equivocates_and_honest_proposers_do_not() -> None:
    """Round 0's Byzantine proposer has sent both values; round 1's honest one sends one."""
    config = model.Config(model.build_workload("bft:txs=2,rounds=2"), 2)
    state = BFT.initial(config)
    offered = {(a.actor, a.param("value")) for a in BFT.actions(state)
               if a.name == "on-proposal"}
    assert offered == {(f"m0/r{i}", v) for i in (1, 2, 3) for v in ("T0.T1", "T1.T0")}
    # every honest replica times out on the proposal and on nil prevotes: round 0 ends
    for name in ("timeout-propose", "on-nil-polka"):
        for actor in ("m0/r1", "m0/r2", "m0/r3"):
            state = BFT.step(state, next(a for a in BFT.actions(state) if a.actor == actor
                                         and a.name == name))
    skip = BFT.step(state, next(a for a in BFT.actions(state) if a.actor == "m0/r1"
                                and a.name == "timeout-precommit"))
    leader = skip.replicas[0][1]
    assert leader is not None and leader.round == 1
    assert [(p.round, p.value, p.valid_round) for p in leader.proposals] == [(1, "T0.T1", -1)]
    offered = {a.param("value") for a in BFT.actions(skip)
               if a.name == "on-proposal" and a.actor == "m0/r1"}
    assert offered == {"T0.T1"}


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


def test_fuzzing_finds_the_version_fault_on_a_larger_block(tmp_path: Path) -> None:
    """Uniform random schedules find M12 on two transactions too; the trace replays."""
    with pytest.raises(FuzzFailure) as caught:
        fuzz_design("bft:shared-version-diverges",
                    workloads=st.just("bft:txs=2,rounds=1,version_faults=1"), workers=2,
                    examples=300, schedule="uniform", shrink_runs=0, trace_dir=tmp_path)
    trace = caught.value.result.trace
    assert trace is not None and trace.violation is not None
    assert trace.violation.property == "INV-DET"
    replayed = replay(load_trace(caught.value.trace_path))
    assert replayed.verdict == "reproduced", replayed.message


@pytest.mark.parametrize("spec", [
    "bft:txs=2,rounds=2",
    "bft:byzantine=0,crashes=1,txs=1,rounds=2",
    "bft:txs=2,rounds=3",
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


@pytest.mark.parametrize("spec", ["bft:txs=1,rounds=1,version_faults=1",
                                  "bft:byzantine=0,crashes=1,txs=1,rounds=2,version_faults=1",
                                  "bft:modules=2,txs=2,rounds=1,version_faults=1"])
def test_the_compact_path_is_the_ordinary_one_on_random_runs(spec: str) -> None:
    """pack/unpack round-trip, successors are the packed steps in action order (None only
    where a run ends or a property fails), and canonical codes match canonical states."""
    rng = random.Random(spec)
    failing_seen = 0
    for mutant_name in (None, "weak-quorum", "shared-version-diverges"):
        design = BFT if mutant_name is None else mutant(mutant_name).design
        config = model.Config(model.build_workload(spec), 2)
        initial = design.initial(config)
        packing = design.compact(initial)  # type: ignore[attr-defined]
        for _ in range(30):
            state = initial
            while True:
                code = packing.pack(state)
                assert packing.unpack(code) == state
                actions = design.actions(state)
                nexts = packing.successors(code)
                failing = any(p.check(state) for p in design.properties()
                              if p.kind == "state")
                failing_seen += failing
                if nexts is None:
                    assert failing or not actions
                else:
                    assert not failing
                    assert nexts == [packing.pack(design.step(state, a)) for a in actions]
                canonical = packing.pack(BFT.canonical(state))
                assert packing.canonical(code) == packing.canonical(canonical)
                if not actions:
                    break
                state = design.step(state, rng.choice(actions))
    assert failing_seen > 0  # the runs met states the compact path must hand back
