"""Block-STM's compact fast path keeps the ``model.Compact`` contract, and searches agree.

The contract, on random runs of Block-STM and of every mutant: ``unpack`` inverts
``pack``; ``successors`` is the packed ``step`` of every enabled action in action order;
it is None exactly in the states that are terminal or break a state property (including
states perturbed to break I3, I4, I5 and L2, which correct runs never reach); and
``canonical`` picks one code per renaming of the workers. Then whole searches: the
compact path finds the same states, transitions and outcomes as the ordinary one.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shardcheck import model
from shardcheck.checker import SearchSettings, explore
from shardcheck.model.designs.block_stm import ABORTING, EXECUTED, MUTANTS, BlockStm, BlockStmState
from shardcheck.model.designs.block_stm_compact import BlockStmPacking

BLOCK_STM = BlockStm()
DESIGNS: tuple[BlockStm, ...] = (BLOCK_STM, *(
    m.design for m in BLOCK_STM.mutants() if isinstance(m.design, BlockStm)))

WORKLOADS = st.one_of(
    st.builds(lambda n, k: f"counter:txs={n},keys={k}", st.integers(1, 4), st.integers(1, 2)),
    st.builds(lambda n, a, s: f"transfers:txs={n},accounts={a},seed={s}",
              st.integers(1, 4), st.integers(2, 3), st.integers(0, 5)),
    st.builds(lambda n, mode: f"condwrite:txs={n},mode={mode}", st.integers(2, 3),
              st.sampled_from(["appear", "vanish"])),
    st.builds(lambda n: f"registry:txs={n}", st.integers(1, 3)),
    st.builds(lambda n: f"audit:txs={n}", st.integers(1, 3)),
    st.builds(lambda n: f"chain:txs={n}", st.integers(1, 3)),
)


def _breaks(design: BlockStm, state: BlockStmState) -> bool:
    return any(p.kind == "state" and p.check(state) is not None for p in design.properties())


def _check_contract(design: BlockStm, packing: BlockStmPacking, state: BlockStmState) -> None:
    code = packing.pack(state)
    assert packing.unpack(code) == state
    assert packing.pack(packing.unpack(code)) == code
    nexts = packing.successors(code)
    notable = design.is_terminal(state) or _breaks(design, state)
    assert (nexts is None) == notable
    if nexts is not None:
        assert nexts == [packing.pack(design.step(state, a)) for a in design.actions(state)]
    # One code per renaming: every permutation of the workers packs to the same canonical
    # code, which is itself the code of one of the renamings.
    renamed = attrs.evolve(state, workers=state.workers[::-1])
    shifted = attrs.evolve(state, workers=(*state.workers[1:], *state.workers[:1]))
    canon = packing.canonical(code)
    assert packing.canonical(packing.pack(renamed)) == canon
    assert packing.canonical(packing.pack(shifted)) == canon
    assert sorted(packing.unpack(canon).workers, key=model.canonical_bytes) == sorted(
        state.workers, key=model.canonical_bytes)


def _perturbations(state: BlockStmState, bound: int) -> list[BlockStmState]:
    """States next to ``state`` that break I4, L2, I3 or I5 (or may, for I3 and I5)."""
    out = [attrs.evolve(state, num_active_tasks=state.num_active_tasks + 1),
           attrs.evolve(state, num_active_tasks=-1)]
    inc, phase = state.status[0]
    out.append(attrs.evolve(state, status=((bound + 1, phase), *state.status[1:])))
    out.append(attrs.evolve(state, status=((inc + 1, phase), *state.status[1:])))  # I3
    if len(state.status) > 1:
        # T1 waits on T0: I5 holds only if T1 is aborting and T0 is not finished, or a
        # worker is draining T0's dependencies.
        deps = ((*state.dependencies[0], 1), *state.dependencies[1:])
        out.append(attrs.evolve(state, dependencies=deps))
        status = (state.status[0], (state.status[1][0], ABORTING), *state.status[2:])
        out.append(attrs.evolve(state, dependencies=deps, status=status))
        status = ((inc, EXECUTED), (state.status[1][0], ABORTING), *state.status[2:])
        out.append(attrs.evolve(state, dependencies=deps, status=status))
    if len(state.workers) > 1:  # two workers in the same place: I3 if it is an execution
        out.append(attrs.evolve(state, workers=(state.workers[0], *state.workers[:-1])))
    return out


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(DESIGNS), WORKLOADS, st.integers(1, 3), st.data())
def test_the_packing_keeps_the_compact_contract_on_random_runs(
        design: BlockStm, spec: str, workers: int, data: st.DataObject) -> None:
    """Round trip, successors, notable states and canonical codes, along a random run
    and on states next to it perturbed to break each state property."""
    config = model.Config(model.build_workload(spec), workers)
    state: Any = design.initial(config)
    packing = design.compact(state)
    bound = packing.bound
    steps = 0
    while True:
        _check_contract(design, packing, state)
        if steps % 7 == 0:
            for broken in _perturbations(state, bound):
                _check_contract(design, packing, broken)
        actions = design.actions(state)
        if not actions or steps >= 400 or _breaks(design, state):
            break
        state = design.step(state, actions[data.draw(st.integers(0, len(actions) - 1))])
        steps += 1


def test_perturbed_states_are_flagged_for_each_state_property() -> None:
    """Each of I3, I4, I5 and L2 has a perturbed state the packing flags as notable."""
    config = model.Config(model.build_workload("counter:txs=2,keys=1"), 2)
    state = BLOCK_STM.initial(config)
    steps = 0
    while state.workers[0].pc != "vm.read":  # w0 runs until it executes T0
        state = BLOCK_STM.step(state, BLOCK_STM.actions(state)[0])
        steps += 1
    assert steps == 7
    packing = BLOCK_STM.compact(state)
    broken = {p.name for s in _perturbations(state, packing.bound)
              for p in BLOCK_STM.properties()
              if p.kind == "state" and p.check(s) is not None
              and packing.successors(packing.pack(s)) is None}
    assert broken == {"I3-single-execution", "I4-active-count", "I5-no-lost-wakeup",
                      "L2-bounded-incarnations"}


def _search(design: model.Design, spec: str, workers: int, **switches: bool) -> Any:
    config = model.Config(model.build_workload(spec), workers)
    return explore(design, config, SearchSettings(por=False, **switches))


@pytest.mark.parametrize(("spec", "workers", "states", "transitions", "symmetric"), [
    ("counter:txs=3,keys=1", 2, 155_974, 309_256, 78_937),
    ("audit:txs=2", 2, 21_182, 41_794, 10_784),
    ("counter:txs=1,keys=1", 3, 224_828, 657_906, 41_185),
    ("condwrite:txs=3,mode=vanish", 2, 128_729, 255_156, 65_152),
])
def test_the_compact_search_pins_the_counts_of_the_ordinary_one(
        spec: str, workers: int, states: int, transitions: int, symmetric: int) -> None:
    """The compact path's states and transitions, with and without symmetry, pinned. They
    are the ordinary path's numbers: the symmetric ones are pinned for it in
    test_block_stm.py and docs/performance.md has the unreduced counter:txs=3,keys=1."""
    compact = _search(BLOCK_STM, spec, workers, symmetry=False)
    assert (compact.verdict, compact.stats.engine) == ("pass", "compact")
    assert (compact.stats.states, compact.stats.transitions) == (states, transitions)
    assert compact.stats.collision_probability == 0.0
    assert _search(BLOCK_STM, spec, workers, symmetry=True).stats.states == symmetric


def test_the_compact_and_ordinary_searches_find_the_same_states_and_outcomes() -> None:
    """Same states, transitions and terminal outcomes on a block with reverts."""
    spec = "transfers:txs=2,accounts=2,seed=2"
    compact = _search(BLOCK_STM, spec, 2, symmetry=False)
    ordinary = _search(BLOCK_STM, spec, 2, symmetry=False, compact=False)
    assert (compact.stats.states, compact.stats.transitions) == (
        ordinary.stats.states, ordinary.stats.transitions)
    assert compact.outcomes == ordinary.outcomes
    assert compact.stats.engine == "compact" and ordinary.stats.engine == "ordinary"


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_every_mutant_fails_the_same_way_on_both_paths(mutant: Any) -> None:
    """The known failure: same property, same shortest length, compact or not."""
    design = next(m.design for m in BLOCK_STM.mutants() if m.name == mutant.name)
    known = mutant.known_failure
    compact = _search(design, known.workload, known.workers)
    ordinary = _search(design, known.workload, known.workers, compact=False)
    assert compact.stats.engine == "compact"
    for result in (compact, ordinary):
        assert result.violation is not None
        assert (result.violation.property, len(result.path)) == (known.property, known.steps)
    assert compact.path == ordinary.path


@pytest.mark.slow
def test_four_transactions_on_three_workers_finish_with_symmetry() -> None:
    """Issue 8's configuration: exhausted on the compact path with symmetry."""
    result = _search(BLOCK_STM, "counter:txs=4,keys=2", 3, symmetry=True)
    assert result.verdict == "pass" and result.stats.complete
    assert (result.stats.states, result.stats.transitions) == (4_918_161, 14_714_065)
    assert result.stats.distinct_outcomes == 1
