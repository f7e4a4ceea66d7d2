"""The explorer's two paths (ordinary and compact) and its bounds agree and report honestly."""

from __future__ import annotations

import pytest

from shardcheck import model
from shardcheck.checker.errors import DesignBug
from shardcheck.checker.search.explorer import SearchSettings, collision_probability, explore
from shardcheck.model.designs.bank import Bank, BankPacking, BankState

BANK = Bank()
FINAL_SUM = next(m.design for m in BANK.mutants() if m.name == "final-sum")


def _config(workers: int = 3, txs: int = 3) -> model.Config:
    return model.Config(model.build_workload(f"bank:txs={txs},accounts=3"), workers)


@pytest.mark.parametrize("strategy", ["bfs", "dfs"])
@pytest.mark.parametrize("symmetry", [False, True])
def test_compact_and_ordinary_paths_count_the_same_states(strategy: str, symmetry: bool) -> None:
    """Same states, transitions and outcomes on both paths, either strategy."""
    results = [explore(BANK, _config(), SearchSettings(
        strategy=strategy, symmetry=symmetry, por=False, compact=compact,  # type: ignore[arg-type]
        persistent=False))
        for compact in (True, False)]
    fast, ordinary = results
    assert fast.stats.engine == "compact" and ordinary.stats.engine == "ordinary"
    assert fast.stats.states == ordinary.stats.states
    assert fast.stats.transitions == ordinary.stats.transitions
    assert fast.outcomes == ordinary.outcomes


def test_only_fingerprint_keys_can_collide_and_they_report_their_chance() -> None:
    """Packed states and the ordinary path's states are their own keys; 64-bit
    fingerprints (the audit's reference) carry TLC's estimate, and find the same."""
    fast = explore(BANK, _config(), SearchSettings(compact=True))
    ordinary = explore(BANK, _config(), SearchSettings(compact=False, por=False))
    keyed = explore(BANK, _config(), SearchSettings(compact=False, por=False,
                                                    fingerprint_keys=True))
    assert fast.stats.collision_probability == ordinary.stats.collision_probability == 0.0
    expected = collision_probability(keyed.stats.states, keyed.stats.transitions + 1)
    assert keyed.stats.collision_probability == expected > 0
    assert (keyed.stats.states, keyed.stats.transitions, keyed.outcomes) == (
        ordinary.stats.states, ordinary.stats.transitions, ordinary.outcomes)


@pytest.mark.parametrize("persistent", [False, True])
@pytest.mark.parametrize("strategy", ["bfs", "dfs"])
def test_the_compact_path_finds_the_lost_update_with_a_replayable_path(
        strategy: str, persistent: bool) -> None:
    """The path is rebuilt through actions() and step(): it is an ordinary run, with
    persistent sets too (the action they single out is recorded by its index)."""
    result = explore(FINAL_SUM, _config(2, 3), SearchSettings(
        strategy=strategy, persistent=persistent))  # type: ignore[arg-type]
    assert result.stats.engine == ("compact+persistent-sets" if persistent else "compact")
    assert result.violation is not None and result.violation.property == "final_sum"
    assert len(result.path) == 5 * 3 + 2
    state = FINAL_SUM.initial(_config(2, 3))
    for step in result.path:
        assert step.action in FINAL_SUM.actions(state)
        state = FINAL_SUM.step(state, step.action)
        assert model.fingerprint(state) == step.fingerprint


def test_dfs_finds_the_lost_update_long_before_bfs_has_swept() -> None:
    """Every counterexample is at the maximum depth: BFS sweeps, DFS dives."""
    bfs = explore(FINAL_SUM, _config(3, 4), SearchSettings(symmetry=False))
    dfs = explore(FINAL_SUM, _config(3, 4), SearchSettings(symmetry=False, strategy="dfs"))
    assert bfs.verdict == dfs.verdict == "violation"
    assert dfs.stats.states * 100 < bfs.stats.states


@pytest.mark.parametrize("compact", [True, False])
def test_a_state_bound_is_inconclusive_on_either_path(compact: bool) -> None:
    """Stopping early is never a pass."""
    result = explore(BANK, _config(), SearchSettings(max_states=100, compact=compact))
    assert result.verdict == "inconclusive"
    assert "state bound of 100" in result.reason
    assert result.stats.states == 100


class _BrokenPacking(BankPacking):
    def successors(self, code: int) -> list[int] | None:
        raise ZeroDivisionError("division by zero")


class _BrokenBank(Bank):
    def compact(self, initial: BankState) -> BankPacking:
        return _BrokenPacking(initial)


def test_a_failing_compact_path_is_reported_as_the_designs_bug() -> None:
    """The packing is the design's code: its failure names the design, not shardcheck."""
    with pytest.raises(DesignBug, match="compact path raised ZeroDivisionError"):
        explore(_BrokenBank(), _config())


@pytest.mark.parametrize("strategy", ["bfs", "dfs"])
def test_sleep_sets_with_symmetry_give_a_path_that_replays(strategy: str) -> None:
    """A state re-explored under other actor names is numbered as reached, so its path
    is a real run."""
    config = _config(3, 3)
    result = explore(FINAL_SUM, config, SearchSettings(
        strategy=strategy, compact=False, por=True, symmetry=True))  # type: ignore[arg-type]
    assert result.violation is not None
    state = FINAL_SUM.initial(config)
    for step in result.path:
        assert step.action in FINAL_SUM.actions(state)
        state = FINAL_SUM.step(state, step.action)
    assert FINAL_SUM.is_terminal(state)
    assert len(result.path) == 5 * 3 + 3


@pytest.mark.parametrize("strategy", ["bfs", "dfs"])
@pytest.mark.parametrize("max_depth", [12, 13])
def test_a_depth_bound_judges_the_last_level_on_either_path(strategy: str,
                                                           max_depth: int) -> None:
    """The lost update sits at depth 12 (K=2, N=2): a bound of 12 still finds it."""
    for compact in (True, False):
        result = explore(FINAL_SUM, _config(2, 2), SearchSettings(
            strategy=strategy, max_depth=max_depth, compact=compact,  # type: ignore[arg-type]
            symmetry=False, por=False))
        assert result.verdict == "violation", (compact, result.reason)
        assert len(result.path) == 12


class _MisgradedPacking(BankPacking):
    def grade(self, code: int) -> int:
        return 0


class _MisgradedBank(Bank):
    def compact(self, initial: BankState) -> BankPacking:
        return _MisgradedPacking(initial)


def test_a_packing_whose_grade_is_not_the_depth_is_reported_as_the_designs_bug() -> None:
    """Forgetting a level's keys is only sound for a graded state graph: a grade that is
    not the depth stops the search, naming the design."""
    with pytest.raises(DesignBug, match=r"grade\(\) is 0 for a state breadth-first search "
                                        r"reached at depth 1"):
        explore(_MisgradedBank(), _config())


def test_dropping_each_levels_keys_changes_no_count() -> None:
    """With every level's keys dropped once the next is built, the counts are still the
    peers' (K=3, N=3: 4,395 states), as depth-first search, which keeps every key,
    finds them."""
    levels = explore(BANK, _config(), SearchSettings(symmetry=False, persistent=False))
    stack = explore(BANK, _config(), SearchSettings(symmetry=False, persistent=False,
                                                    strategy="dfs"))
    assert levels.stats.states == stack.stats.states == 4_395
    assert levels.outcomes == stack.outcomes
