"""The reduction audit on every built-in design and mutant, and what it must catch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from shardcheck import model
from shardcheck.checker.ci.suite import load_suite
from shardcheck.checker.search.audit import applicable, audit
from shardcheck.checker.search.explorer import SearchSettings, explore
from shardcheck.model.designs.bank import Bank, BankPacking, BankState

from .cli_helpers import invoke
from .conftest import ROOT

BUDGET = 30_000
"""Largest reference search (in states) the default run audits on..."""
SECONDS = 4.0
"""... and the longest."""


def _candidates(name: str, design: model.Design) -> list[tuple[str, int]]:
    """Small configurations a design is known to run on: its mutants' and the suite's."""
    found = [(m.known_failure.workload, m.known_failure.workers)
             for m in design.mutants() if m.known_failure is not None]
    suite = load_suite(ROOT / "shardcheck.toml")
    found += [(c.workload, c.workers) for c in suite.checks
              if c.design == name and c.strategy == "explore" and c.workload is not None]
    return sorted(dict.fromkeys(found), key=lambda c: (c[1], c[0]))


def _small_config(name: str, design: model.Design) -> model.Config:
    """The first candidate whose unreduced search completes within the budget."""
    for workload, workers in _candidates(name, design):
        config = model.Config(model.build_workload(workload), workers)
        reference = explore(design, config, SearchSettings(
            por=False, symmetry=False, compact=False, max_states=BUDGET, time_limit=SECONDS))
        if reference.verdict != "inconclusive":
            return config
    raise AssertionError(f"design {name!r} has no configuration of at most {BUDGET:,} states "
                         f"searched in {SECONDS:g}s among its mutants' known failures and "
                         "shardcheck.toml's explore checks: give it a small passing check there")


@pytest.mark.parametrize("name", sorted(model.builtin_designs()))
def test_every_reduction_agrees_on_every_built_in_design(name: str) -> None:
    """Sleep sets, symmetry, the compact path and persistent sets each keep the verdict
    and the outcomes."""
    design = model.builtin_designs()[name]
    config = _small_config(name, design)
    report = audit(design, config)
    assert [row.reduction for row in report.rows] == list(applicable(design, config))
    for row in report.rows:
        assert row.agrees, (row.reduction, row.problems)


def _mutants() -> list[Any]:
    return [pytest.param(name, m, id=f"{name}:{m.name}")
            for name, design in sorted(model.builtin_designs().items())
            for m in design.mutants() if m.known_failure is not None]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "mutant"), _mutants())
def test_every_reduction_still_finds_each_mutants_known_failure(name: str,
                                                                mutant: model.Mutant) -> None:
    """A reduction never hides a violation: each mutant fails under each one."""
    known = mutant.known_failure
    assert known is not None
    config = model.Config(model.build_workload(known.workload), known.workers)
    report = audit(mutant.design, config, SearchSettings(max_states=200_000))
    assert report.reference.verdict == "violation"
    for row in report.rows:
        assert row.agrees, (row.reduction, row.problems)


def test_sleep_sets_keep_every_state_and_prune_transitions() -> None:
    """On the bank, the reduction walks fewer transitions over the same 4,395 states."""
    config = model.Config(model.build_workload("bank:txs=3"), 3)
    report = audit(Bank(), config, reductions=("por",))
    (row,) = report.rows
    assert row.result.stats.states == report.reference.stats.states == 4_395
    assert row.result.stats.transitions < report.reference.stats.transitions


class _LyingBank(Bank):
    """A bank whose canonical form forgets the balances: it merges states that differ."""

    def canonical(self, state: BankState) -> BankState:
        return BankState(state.block, state.nxt, (0,) * len(state.balances),
                         tuple(sorted(state.workers)))


def test_the_audit_catches_an_unsound_canonical_form() -> None:
    """Merging states with different balances loses terminal outcomes: the audit says so."""
    config = model.Config(model.build_workload("bank:txs=3"), 2)
    report = audit(_LyingBank(), config, reductions=("symmetry",))
    assert not report.agrees
    assert "terminal outcomes differ" in report.rows[0].problems[0]


class _OneFootprint(Bank):
    """A bank whose writes claim to touch nothing: sleep sets then skip real interleavings."""

    def actions(self, state: BankState) -> Sequence[model.Action]:
        return tuple(model.Action(a.actor, a.name, a.params) for a in super().actions(state))


def test_the_audit_catches_footprints_that_hide_a_conflict() -> None:
    """Missing footprints make independent-looking actions race: states go missing."""
    config = model.Config(model.build_workload("bank:txs=3"), 2)
    report = audit(_OneFootprint(), config, reductions=("por",))
    assert not report.agrees


def test_explore_audit_prints_each_reduction_and_exits_0_when_all_agree() -> None:
    """The command line form: one row per reduction, and a verdict line."""
    result = invoke("explore", "bank", "--workload", "bank:txs=2", "--workers", "2", "--audit")
    assert result.exit_code == 0, result.output
    for word in ("none", "por", "symmetry", "compact", "persistent", "every reduction agrees"):
        assert word in result.output


def test_persistent_sets_skip_states_and_keep_every_outcome() -> None:
    """On the bank (K=3, N=4), persistent sets visit 21,518 of the 41,115 states, over
    32,409 of the 100,737 transitions, and reach all 73 terminal outcomes."""
    config = model.Config(model.build_workload("bank:txs=4,accounts=3"), 3)
    report = audit(Bank(), config, reductions=("persistent",))
    (row,) = report.rows
    assert row.agrees, row.problems
    assert row.result.stats.engine == "compact+persistent-sets"
    assert (report.reference.stats.states, report.reference.stats.transitions) == (
        41_115, 100_737)
    assert (row.result.stats.states, row.result.stats.transitions) == (21_518, 32_409)
    assert len(row.result.outcomes) == len(report.reference.outcomes) == 73


class _EagerPacking(BankPacking):
    """Takes the first action alone everywhere, persistent or not."""

    def persistent(self, code: int) -> int:
        return 0


class _EagerBank(Bank):
    def compact(self, initial: BankState) -> BankPacking:
        return _EagerPacking(initial)


def test_the_audit_catches_a_persistent_set_that_is_not_one() -> None:
    """Always taking the first worker's action runs the block serially: the lost updates,
    and the outcomes they give, go missing."""
    config = model.Config(model.build_workload("bank:txs=3"), 2)
    report = audit(_EagerBank(), config)
    rows = {row.reduction: row for row in report.rows}
    assert rows["compact"].agrees and rows["symmetry"].agrees
    assert not rows["persistent"].agrees
    assert "terminal outcomes differ" in rows["persistent"].problems[0]
