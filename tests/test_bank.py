"""The standard benchmark design: state counts equal to the peers', the lost update, packing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shardcheck import model
from shardcheck.checker.search.explorer import SearchSettings, explore
from shardcheck.model.designs.bank import Bank, BankState

BANK = Bank()

# shared/anchors/peers.md, variant a: (K, N) -> (states, transitions, depth)
PEER_COUNTS = {
    (2, 1): (21, 30, 7),
    (3, 1): (57, 111, 8),
    (2, 2): (114, 188, 12),
    (2, 3): (465, 774, 17),
    (3, 4): (41_115, 100_737, 23),
}


def _config(workers: int, txs: int) -> model.Config:
    return model.Config(model.build_workload(f"bank:txs={txs},accounts=3"), workers)


@pytest.mark.parametrize(("workers", "txs"), [k for k in PEER_COUNTS if k != (3, 4)])
def test_state_counts_equal_the_peers(workers: int, txs: int) -> None:
    """States, transitions and depth agree with minicheck, musil and SPIN exactly."""
    result = explore(BANK, _config(workers, txs), SearchSettings(symmetry=False, persistent=False))
    states, transitions, depth = PEER_COUNTS[(workers, txs)]
    assert result.verdict == "pass"
    assert (result.stats.states, result.stats.transitions, result.stats.max_depth) == (
        states, transitions, depth)


@pytest.mark.slow
def test_state_counts_equal_the_peers_at_size_m() -> None:
    """K=3, N=4: 41,115 states and 100,737 transitions, as every peer counts."""
    result = explore(BANK, _config(3, 4), SearchSettings(symmetry=False, persistent=False))
    assert (result.stats.states, result.stats.transitions) == (41_115, 100_737)


def test_final_sum_finds_the_lost_update_in_exactly_5n_plus_k_steps() -> None:
    """Every counterexample is a complete run: 5N + K actions."""
    final_sum = next(m.design for m in BANK.mutants() if m.name == "final-sum")
    result = explore(final_sum, _config(2, 3))
    assert result.verdict == "violation"
    assert result.violation is not None and result.violation.property == "final_sum"
    assert len(result.path) == 5 * 3 + 2


def test_one_transaction_never_loses_an_update() -> None:
    """With one transfer there is nothing to race: final_sum holds on every schedule."""
    final_sum = next(m.design for m in BANK.mutants() if m.name == "final-sum")
    assert explore(final_sum, _config(3, 1)).verdict == "pass"


def test_a_block_that_is_not_transfers_is_refused_in_words() -> None:
    """The design names the workload it needs."""
    config = model.Config(model.build_workload("counter:txs=2"), 2)
    with pytest.raises(model.WorkloadError, match="bank:txs=4"):
        BANK.initial(config)


def _reachable(workers: int, txs: int, limit: int = 400) -> list[BankState]:
    config = _config(workers, txs)
    seen = [BANK.initial(config)]
    i = 0
    while i < len(seen) and len(seen) < limit:
        for action in BANK.actions(seen[i]):
            nxt = BANK.step(seen[i], action)
            if nxt not in seen:
                seen.append(nxt)
        i += 1
    return seen


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3), st.integers(1, 4), st.data())
def test_packing_is_an_inverse_and_its_successors_follow_the_actions(
        workers: int, txs: int, data: st.DataObject) -> None:
    """unpack(pack(s)) == s, and packed successors are pack(step(s, a)) in action order."""
    states = _reachable(workers, txs)
    state = data.draw(st.sampled_from(states))
    packing = BANK.compact(states[0])
    code = packing.pack(state)
    assert packing.unpack(code) == state
    expected = [packing.pack(BANK.step(state, a)) for a in BANK.actions(state)] or None
    assert packing.successors(code) == expected
    # Both canonical forms pick one state per renaming of the workers (not the same one).
    renamed = packing.pack(BankState(state.block, state.nxt, state.balances,
                                     state.workers[::-1]))
    assert packing.canonical(code) == packing.canonical(renamed)
    assert packing.canonical(code) == packing.canonical(packing.pack(BANK.canonical(state)))
    assert (packing.successors(code) is None) == BANK.is_terminal(state)


def _all_states(workers: int, txs: int) -> list[BankState]:
    config = _config(workers, txs)
    found = {BANK.initial(config): None}
    todo = list(found)
    while todo:
        state = todo.pop()
        for action in BANK.actions(state):
            nxt = BANK.step(state, action)
            if nxt not in found:
                found[nxt] = None
                todo.append(nxt)
    return list(found)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 3), st.integers(1, 3), st.data())
def test_the_action_persistent_names_is_a_persistent_set(workers: int, txs: int,
                                                         data: st.DataObject) -> None:
    """Whatever the other workers do first, by the design's own footprints: the action
    stays enabled, the same, independent of every one of their actions, and it never
    changes nxt (all that ``counter`` reads)."""
    states = [s for s in _all_states(workers, txs) if not BANK.is_terminal(s)]
    state = data.draw(st.sampled_from(states))
    packing = BANK.compact(BANK.initial(_config(workers, txs)))
    index = packing.persistent(packing.pack(state))
    if index < 0:
        return
    chosen = BANK.actions(state)[index]
    assert BANK.step(state, chosen).nxt == state.nxt
    todo, seen = [state], {state}
    while todo:
        here = todo.pop()
        assert chosen in BANK.actions(here)
        for action in BANK.actions(here):
            if action.actor == chosen.actor:
                continue
            assert not action.conflicts_with(chosen), (here, action, chosen)
            nxt = BANK.step(here, action)
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)


def test_persistent_sets_single_out_an_action_in_most_states_of_size_m() -> None:
    """K=3, N=4: how much the reduction has to work with (pinned, so a weaker choice
    shows)."""
    states = _all_states(3, 4)
    packing = BANK.compact(BANK.initial(_config(3, 4)))
    live = [s for s in states if not BANK.is_terminal(s)]
    singled = sum(packing.persistent(packing.pack(s)) >= 0 for s in live)
    assert (len(live), singled) == (41_115 - 73, 33_961)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.data())
def test_grade_is_the_number_of_steps_of_every_run(workers: int, txs: int,
                                                   data: st.DataObject) -> None:
    """``model.Graded``: a state's grade is one more than each predecessor's, from 0."""
    states = _all_states(workers, txs)
    state = data.draw(st.sampled_from(states))
    packing = BANK.compact(BANK.initial(_config(workers, txs)))
    assert packing.grade(packing.pack(BANK.initial(_config(workers, txs)))) == 0
    for action in BANK.actions(state):
        after = BANK.step(state, action)
        assert packing.grade(packing.pack(after)) == packing.grade(packing.pack(state)) + 1
