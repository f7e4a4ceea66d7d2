"""Block-STM: correct on every schedule, and every mutant caught by its shortest trace."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from shardcheck import model
from shardcheck.checker import SearchSettings, explore, load_trace, replay, write_trace
from shardcheck.checker.design.resolve import DesignRef, resolve_design
from shardcheck.checker.trace.files import Trace
from shardcheck.model.designs.block_stm import MUTANTS, BlockStm, incarnation_bound

BLOCK_STM = BlockStm()


def run(design: model.Design, spec: str, workers: int, **settings: object):  # type: ignore[no-untyped-def]
    """Explore ``design`` on ``spec`` with ``workers``."""
    config = model.Config(model.build_workload(spec), workers)
    return explore(design, config, SearchSettings(**settings))  # type: ignore[arg-type]


@pytest.mark.parametrize(("spec", "workers", "states"), [
    ("counter:txs=2,keys=1", 2, 10_784),
    ("registry:txs=2", 2, 9_329),
    ("audit:txs=2", 2, 10_784),
    ("chain:txs=2", 2, 10_784),
    ("counter:txs=1,keys=1", 2, 1_982),
    ("condwrite:txs=2", 2, 9_458),
    ("transfers:txs=2,accounts=2", 2, 22_930),
])
def test_block_stm_is_serializable_on_every_schedule(spec: str, workers: int,
                                                     states: int) -> None:
    """The whole space is explored, nothing is violated, and the state count is pinned."""
    result = run(BLOCK_STM, spec, workers)
    assert result.verdict == "pass", result.violation
    assert result.stats.complete
    assert result.stats.states == states
    assert result.stats.distinct_outcomes == 1


@pytest.mark.slow
@pytest.mark.parametrize(("spec", "workers", "states"), [
    ("counter:txs=3,keys=1", 2, 78_937),
    ("condwrite:txs=3,mode=appear", 2, 40_144),
    ("condwrite:txs=3,mode=vanish", 2, 65_152),
    ("transfers:txs=3,accounts=2", 2, None),
    ("counter:txs=1,keys=1", 3, 41_185),
    ("counter:txs=2,keys=1", 3, None),
    ("counter:txs=4,keys=1", 2, 526_797),
    ("transfers:txs=4,accounts=2", 2, 4_516_955),
])
def test_block_stm_is_serializable_on_bigger_blocks(spec: str, workers: int,
                                                    states: int | None) -> None:
    """Bigger exhaustive runs, kept for CI's slow stage."""
    result = run(BLOCK_STM, spec, workers)
    assert result.verdict == "pass", result.violation
    if states is not None:
        assert result.stats.states == states


@pytest.mark.parametrize(("spec", "workers", "reduced", "full"), [
    ("counter:txs=2,keys=1", 2, 10_784, 21_182),
    ("condwrite:txs=2", 2, 9_458, 18_555),
    ("counter:txs=1,keys=1", 3, 41_185, 224_828),
])
def test_symmetry_reduction_keeps_every_verdict_and_outcome(spec: str, workers: int,
                                                            reduced: int, full: int) -> None:
    """The audit: with and without renaming workers, the same verdict and terminal outcomes,
    in fewer states."""
    with_symmetry = run(BLOCK_STM, spec, workers)
    without = run(BLOCK_STM, spec, workers, symmetry=False)
    assert (with_symmetry.verdict, without.verdict) == ("pass", "pass")
    assert with_symmetry.stats.distinct_outcomes == without.stats.distinct_outcomes
    assert (with_symmetry.stats.states, without.stats.states) == (reduced, full)


@pytest.mark.parametrize("mutant", BLOCK_STM.mutants(), ids=lambda m: m.name)
def test_symmetry_reduction_finds_each_mutant_at_the_same_depth(mutant: model.Mutant) -> None:
    """Renaming workers never hides a bug or lengthens its shortest trace."""
    failure = mutant.known_failure
    assert failure is not None
    without = run(mutant.design, failure.workload, failure.workers, symmetry=False)
    assert without.violation is not None
    assert (without.violation.property, without.violation.step) == (failure.property,
                                                                     failure.steps)


def test_the_canonical_state_ignores_which_worker_is_which() -> None:
    """Swapping two workers gives the same representative, and it is idempotent."""
    config = model.Config(model.build_workload("counter:txs=2"), 2)
    state = BLOCK_STM.initial(config)
    for _ in range(9):
        state = BLOCK_STM.step(state, BLOCK_STM.actions(state)[0])
    swapped = attrs.evolve(state, workers=tuple(reversed(state.workers)))
    assert swapped != state
    assert BLOCK_STM.canonical(swapped) == BLOCK_STM.canonical(state)
    assert BLOCK_STM.canonical(BLOCK_STM.canonical(state)) == BLOCK_STM.canonical(state)


def test_serial_has_one_schedule_and_it_is_the_reference() -> None:
    """The reference design explores to one terminal state equal to serial execution."""
    serial, _ = resolve_design("serial")
    result = run(serial, "transfers:txs=4,accounts=2", 1)
    assert result.verdict == "pass"
    assert (result.stats.states, result.stats.terminal_states) == (5, 1)


def test_every_mutant_is_listed_with_a_known_failing_configuration() -> None:
    """Ten mutants, each with a configuration of at most 4 transactions and 3 workers."""
    mutants = BLOCK_STM.mutants()
    assert [m.name for m in mutants] == [spec.name for spec in MUTANTS]
    assert len(mutants) == 10
    for mutant in mutants:
        failure = mutant.known_failure
        assert failure is not None
        assert failure.workers <= 3
        assert len(model.build_workload(failure.workload).block) <= 4
        assert "Found by:" in mutant.doc


@pytest.mark.parametrize("mutant", BLOCK_STM.mutants(), ids=lambda m: m.name)
def test_each_mutant_is_found_by_its_shortest_trace_which_replays(
    mutant: model.Mutant, tmp_path: Path
) -> None:
    """BFS finds the mutant's bug at the pinned depth; its trace file replays as reproduced."""
    failure = mutant.known_failure
    assert failure is not None
    result = run(mutant.design, failure.workload, failure.workers)
    assert result.verdict == "violation"
    assert result.violation is not None
    assert result.violation.property == failure.property
    assert result.violation.step == failure.steps == len(result.path)
    ref = DesignRef("block-stm", mutant.name)
    spec = model.build_workload(failure.workload).spec
    trace = Trace(ref, spec, failure.workers, result.initial_fingerprint, result.path,
                  result.violation)
    path = tmp_path / f"{mutant.name}.trace.json"
    write_trace(trace, path)
    replayed = replay(load_trace(path))
    assert replayed.verdict == "reproduced", replayed.message
    assert replayed.violation == result.violation


def test_the_correct_design_passes_where_each_mutant_fails() -> None:
    """Each mutant's failing configuration is one the published algorithm survives."""
    for config in {(m.known_failure.workload, m.known_failure.workers)
                   for m in BLOCK_STM.mutants() if m.known_failure}:
        assert run(BLOCK_STM, *config).verdict == "pass", config


def test_depth_first_search_finds_a_mutant_too() -> None:
    """DFS finds the bug as well, by a path at least as long as BFS's."""
    design, _ = resolve_design("block-stm:scan-keys-only")
    result = run(design, "audit:txs=2", 2, strategy="dfs")
    assert result.verdict == "violation"
    assert len(result.path) >= 61


def test_a_livelock_is_reported_past_the_incarnation_bound() -> None:
    """L2's bound follows Aptos's n + W² + c sanity check."""
    assert incarnation_bound(3, 2) == 9


def test_actions_are_deterministic_and_round_trip_through_json() -> None:
    """The same state gives the same actions, each surviving JSON exactly."""
    config = model.Config(model.build_workload("audit:txs=2"), 2)
    state = BLOCK_STM.initial(config)
    for _ in range(40):
        actions = BLOCK_STM.actions(state)
        assert actions == BLOCK_STM.actions(state)
        for action in actions:
            assert model.Action.from_json(action.to_json()) == action
        state = BLOCK_STM.step(state, actions[-1])
