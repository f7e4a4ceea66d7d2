"""The declared path (``model.Structure``): the ordinary search's results, memoized steps.

A design that declares which field holds its actors and which fields they share is
searched over interned parts with each actor's step memoized; everything it finds must
be what the ordinary path finds (counts, verdicts, counterexamples, trace fingerprints),
and a declaration that does not hold must be caught, never memoized wrong.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest

from shardcheck import model
from shardcheck.checker import SearchSettings, explore, resolve_design
from shardcheck.checker.errors import DesignBug
from shardcheck.checker.search.audit import audit

from .conftest import ROOT, USER_DESIGN

BANK_USER = ROOT / "benchmarks" / "bank_user.py"
PLAIN = SearchSettings(por=False, symmetry=False, compact=False)


def _design(name: str) -> Any:
    return resolve_design(f"{BANK_USER}:{name}")[0]


def _bank(txs: int, workers: int = 3) -> model.Config:
    return model.Config(model.build_workload(f"bank:txs={txs},accounts=3"), workers)


def _same_search(design: Any, config: model.Config, settings: SearchSettings) -> None:
    ordinary = explore(design, config, attrs.evolve(settings, compact=False))
    declared = explore(design, config, settings)
    assert declared.stats.engine == "declared"
    assert ordinary.stats.engine.startswith("ordinary")
    assert (declared.verdict, declared.stats.states, declared.stats.transitions,
            declared.stats.max_depth, declared.stats.terminal_states, declared.outcomes,
            declared.violation, declared.path) == (
        ordinary.verdict, ordinary.stats.states, ordinary.stats.transitions,
        ordinary.stats.max_depth, ordinary.stats.terminal_states, ordinary.outcomes,
        ordinary.violation, ordinary.path)


@pytest.mark.parametrize("strategy", ["bfs", "dfs"])
@pytest.mark.parametrize("symmetry", [False, True])
def test_the_declared_bank_finds_what_the_ordinary_path_finds(strategy: str,
                                                              symmetry: bool) -> None:
    """Same states, transitions, depth, terminal states and outcomes, either order."""
    _same_search(_design("BankUserDeclared"), _bank(3),
                 SearchSettings(strategy=strategy, por=False, symmetry=symmetry))


def test_the_user_written_bank_has_the_peers_state_counts_on_every_path() -> None:
    """41,115 states and 100,737 transitions at K=3, N=4 (peers.md), as the built-in bank."""
    for name, compact in (("BankUser", False), ("BankUserDeclared", True)):
        result = explore(_design(name), _bank(4), attrs.evolve(PLAIN, compact=compact))
        assert (result.stats.states, result.stats.transitions) == (41_115, 100_737)
        assert result.stats.engine == ("declared" if compact else "ordinary")
    symmetric = explore(_design("BankUserDeclared"), _bank(4),
                        SearchSettings(por=False, symmetry=True))
    assert symmetric.stats.states == 8_055


class _FinalSum:
    """Adds the peers' variant b: lost updates break the total."""

    def properties(self) -> Sequence[model.Property]:
        def final_sum(state: Any) -> str | None:
            total = 30
            return None if sum(state.balances) == total else "an update was lost"
        return (*super().properties(), model.Property(  # type: ignore[misc]
            "final_sum", "the total is conserved", "terminal", final_sum))


def test_the_shortest_counterexample_and_its_fingerprints_are_the_ordinary_ones() -> None:
    """The lost update: the same 12-step path, action for action and fingerprint for
    fingerprint, breadth-first; depth-first the same path as the ordinary depth-first."""
    base = type(_design("BankUserDeclared"))
    variant = type("BankFinalSum", (_FinalSum, base), {})()
    config = _bank(2, workers=2)
    for strategy in ("bfs", "dfs"):
        _same_search(variant, config, SearchSettings(strategy=strategy, por=False,
                                                     symmetry=False))
    found = explore(variant, config, SearchSettings(por=False, symmetry=False))
    assert found.violation is not None and len(found.path) == 12


def test_bounds_stop_the_declared_search_where_they_stop_the_ordinary_one() -> None:
    """A state bound and a depth bound cut both searches at the same place."""
    design = _design("BankUserDeclared")
    for bound in ({"max_states": 1000}, {"max_depth": 7}):
        _same_search(design, _bank(3), SearchSettings(por=False, symmetry=False, **bound))


def test_a_user_design_with_a_declaration_loses_the_same_update() -> None:
    """naive_occ declared: the same lost update, 8 steps, the same state counts."""
    design, _ = resolve_design(f"{USER_DESIGN}:NaiveOccDeclared")
    workload = model.build_workload("counter:txs=2,keys=1")
    _same_search(design, model.Config(workload, 2), SearchSettings(por=False))
    _same_search(design, model.Config(model.build_workload("transfers:txs=3,accounts=3"), 2),
                 SearchSettings(por=False))


class _Peeking:
    """A claim that waits for worker 0 to be idle: it reads another actor's value."""

    def actions(self, state: Any) -> Sequence[model.Action]:
        acts = super().actions(state)  # type: ignore[misc]
        busy = state.workers[0].pc != "claim"
        return tuple(a for a in acts if not (busy and a.name == "claim" and a.actor != "w0"))


class _Meddling:
    """A claim that also resets worker 0: it changes another actor's value."""

    def step(self, state: Any, action: model.Action) -> Any:
        after = super().step(state, action)  # type: ignore[misc]
        if action.name == "claim" and action.actor == "w1":
            workers = (attrs.evolve(after.workers[0], rs=1), *after.workers[1:])
            return attrs.evolve(after, workers=workers)
        return after


@pytest.mark.parametrize(("mixin", "fragment"), [
    (_Peeking, "read something its structure does not declare"),
    (_Meddling, "changed w0's value"),
])
def test_a_declaration_that_does_not_hold_is_caught(mixin: type, fragment: str) -> None:
    """An actor that reads or writes another actor's value is the design's bug, reported."""
    design = type("Broken", (mixin, type(_design("BankUserDeclared"))), {})()
    with pytest.raises(DesignBug, match=fragment):
        explore(design, _bank(3), SearchSettings(por=False, symmetry=False))


def test_the_audit_compares_the_declared_path_with_the_reference() -> None:
    """The audit's compact row is the declared path for a design with no packing, every
    memoized step run again on every reuse, and it agrees with the reference."""
    report = audit(_design("BankUserDeclared"), _bank(3))
    row = next(r for r in report.rows if r.reduction == "compact")
    assert row.result.stats.engine == "declared"
    assert report.agrees
    assert row.result.stats.states == report.reference.stats.states == 4_395


def test_the_protocol_docstring_example_runs_and_loses_an_update_on_both_paths() -> None:
    """model.Structure's complete example: the same lost update, declared or not."""
    doc = model.Structure.__doc__ or ""
    start = doc.rindex("\n", 0, doc.index("import attrs")) + 1
    code = textwrap.dedent(doc[start:doc.index("Each (counter value")])
    namespace: dict[str, Any] = {}
    exec(compile(code, "model.Structure docstring", "exec"), namespace)
    design = namespace["Adders"]()
    config = model.Config(model.build_workload("counter:txs=1,keys=1"), 3)
    _same_search(design, config, SearchSettings(por=False))
    found = explore(design, config, SearchSettings(por=False))
    assert found.violation is not None and found.violation.property == "every-add"
    assert (found.stats.engine, found.stats.states) == ("declared", 58)


def test_a_block_stm_subclass_with_its_structure_declared_has_the_ordinary_counts() -> None:
    """benchmarks/block_stm_variant.py: one method overridden, three lines of declaration;
    the declared path finds what the ordinary path finds (Block-STM's 21,182 states on
    counter:txs=2,keys=1 with 2 workers, 10,784 with symmetry)."""
    design, _ = resolve_design(f"{ROOT / 'benchmarks' / 'block_stm_variant.py'}:"
                               "OneMethodDeclared")
    config = model.Config(model.build_workload("counter:txs=2,keys=1"), 2)
    _same_search(design, config, SearchSettings(por=False, symmetry=False))
    _same_search(design, config, SearchSettings(por=False))
    found = explore(design, config, SearchSettings(por=False, symmetry=False))
    assert (found.stats.states, found.stats.engine) == (21_182, "declared")
    assert explore(design, config, SearchSettings(por=False)).stats.states == 10_784


def test_declared_and_ordinary_traces_are_byte_identical_under_any_hash_seed(
        tmp_path: Path) -> None:
    """The lost update of naive_occ, declared and not, under two PYTHONHASHSEEDs: one
    trace file, byte for byte (the visited sets hold states and ints, whose hash order
    never reaches the output)."""
    outputs = []
    for seed in ("0", "4242"):
        for name in ("NaiveOcc", "NaiveOccDeclared"):
            folder = tmp_path / f"{seed}-{name}"
            folder.mkdir()
            run = subprocess.run(
                [sys.executable, "-c", "from shardcheck.checker.cli import main; main()",
                 "explore", f"{USER_DESIGN}:{name}", "--workload", "counter:txs=2,keys=1",
                 "--workers", "2", "--no-por", "--trace-out", "trace.json", "--quiet"],
                env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True, text=True,
                cwd=folder)
            assert run.returncode == 1, run.stderr
            trace = json.loads((folder / "trace.json").read_text())
            trace["design"].pop("name", None)  # NaiveOcc or NaiveOccDeclared
            outputs.append(json.dumps(trace, sort_keys=True))
    assert len(set(outputs)) == 1
