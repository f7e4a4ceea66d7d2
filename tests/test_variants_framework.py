"""What the checker does for a user's variant of any design: a packed path only when the
variant says it still fits, its own properties checked on every state, the properties
chosen per run, its name in the header, and workloads that fit."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from shardcheck import model
from shardcheck.checker import SearchSettings, explore
from shardcheck.checker.design import Judge, Selection, design_title
from shardcheck.checker.errors import BadInput
from shardcheck.checker.search import path_notes
from shardcheck.model.designs.block_stm import BlockStm

from .cli_helpers import assert_bad_input, flat, invoke

COUNTER = model.Config(model.build_workload("counter:txs=2,keys=1"), 2)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Counterexample traces land in the test's folder, not the repository."""
    monkeypatch.chdir(tmp_path)


class SameStm(BlockStm):
    """Block-STM, unchanged: a variant that overrides nothing."""


class DeclaredStm(BlockStm):
    """Block-STM, unchanged, declaring that the packing still describes it."""

    compact_fits = True


class WatchedStm(BlockStm):
    """Block-STM with an invariant of its own: validation never runs ahead of T1."""

    compact_fits = True

    def properties(self) -> Sequence[model.Property]:
        return (*super().properties(),
                model.Property("validation-behind", "validation_idx stays at most 1", "state",
                               self.behind))

    def behind(self, state: object) -> str | None:
        index: int = state.validation_idx  # type: ignore[attr-defined]
        return None if index <= 1 else f"validation_idx reached {index}"


def states(design: model.Design, **settings: object) -> tuple[str, int, str]:
    """Verdict, state count and engine of a default search."""
    result = explore(design, COUNTER, SearchSettings(**settings))  # type: ignore[arg-type]
    return result.verdict, result.stats.states, result.stats.engine


def test_a_variant_that_overrides_nothing_takes_the_ordinary_path_with_the_same_counts() -> None:
    """An inherited packing describes the base class only: the variant is searched the
    ordinary way, to exactly the counts of the base's ordinary search."""
    base = states(BlockStm(), compact=False)
    assert states(SameStm()) == base
    assert model.packing_fits(SameStm()) is not None
    assert base[2] == "ordinary+sleep-sets"


def test_a_variant_that_declares_the_packing_fits_takes_it_with_the_same_counts() -> None:
    """compact_fits = True in the variant's own body: the packed path, the base's counts."""
    assert model.packing_fits(DeclaredStm()) is None
    assert states(DeclaredStm()) == states(BlockStm())
    assert states(DeclaredStm())[2].startswith("compact")


def test_a_declaration_is_not_inherited() -> None:
    """A subclass of a declaring variant must declare again: it may have changed a step."""

    class Further(DeclaredStm):
        """A variant of the variant."""

    assert "declare compact_fits = True" in (model.packing_fits(Further()) or "")


def test_a_property_the_packing_does_not_know_is_checked_on_every_packed_state() -> None:
    """The variant's own invariant is found on the packed path at the same depth as on the
    ordinary path: the packing's flags are not trusted for it."""
    packed = explore(WatchedStm(), COUNTER)
    plain = explore(WatchedStm(), COUNTER, SearchSettings(compact=False, por=False))
    assert packed.violation is not None and plain.violation is not None
    assert packed.violation.property == plain.violation.property == "validation-behind"
    assert packed.violation.step == plain.violation.step
    assert model.packing_properties(WatchedStm()) >= {"I3-single-execution"}
    assert "validation-behind" not in model.packing_properties(WatchedStm())


def test_an_overridden_invariant_is_not_the_packings_either() -> None:
    """A variant that restates an inherited invariant has it checked on every state."""

    class Restated(DeclaredStm):
        """I4 restated."""

        def properties(self) -> Sequence[model.Property]:
            return tuple(model.Property(p.name, p.description, p.kind, self.never)
                         if p.name == "I4-active-count" else p for p in super().properties())

        def never(self, state: object) -> str | None:
            return None

    assert "I4-active-count" not in model.packing_properties(Restated())
    assert "I4-active-count" in model.packing_properties(DeclaredStm())


def test_the_header_says_which_path_and_why() -> None:
    """The report names the ordinary path's reason, or what the packed path also checks."""
    judge = Judge(WatchedStm(), COUNTER, 10_000)
    assert "validation-behind" in path_notes(WatchedStm(), judge.state_properties, True)[0]
    same = Judge(SameStm(), COUNTER, 10_000)
    assert path_notes(SameStm(), same.state_properties, True)[0].startswith(
        "ordinary path: SameStm inherits BlockStm's packed path")
    assert path_notes(BlockStm(), same.state_properties, True) == ()


def test_the_header_names_a_variant_and_its_docstring() -> None:
    """A subclass that keeps the base's name is shown as itself."""
    assert design_title(WatchedStm()) == ("WatchedStm, a variant of block-stm: Block-STM with an "
                                          "invariant of its own: validation never runs ahead "
                                          "of T1.")
    assert design_title(BlockStm()).startswith("block-stm: Block-STM (PPoPP 2023)")


def test_skipping_the_violated_property_passes_and_only_checks_just_that() -> None:
    """--skip leaves a property out; --property keeps only the named ones (and the
    well-formedness checks)."""
    skipped = explore(WatchedStm(), COUNTER, SearchSettings(
        selection=Selection(skip=("validation-behind",))))
    assert skipped.verdict == "pass"
    only = Judge(BlockStm(), COUNTER, 10, selection=Selection(only=("I3-single-execution",)))
    assert only.names() == ("deadlock", "termination", "I3-single-execution")


@pytest.mark.parametrize(("selection", "fragment"), [
    (Selection(skip=("I3-single-execution-x",)), "did you mean 'I3-single-execution'?"),
    (Selection(only=("serial-equivalance",)), "did you mean 'serial-equivalence'?"),
    (Selection(skip=("deadlock",)), "cannot be skipped"),
])
def test_a_property_name_that_is_not_the_designs_is_bad_input(selection: Selection,
                                                             fragment: str) -> None:
    """Names are checked against the design's, with a suggestion."""
    with pytest.raises(BadInput, match=fragment.replace("?", r"\?")):
        Judge(BlockStm(), COUNTER, 10, selection=selection)


class OnlyBank(BlockStm):
    """Block-STM that only runs bank blocks."""

    workload_kinds = ("bank",)


def test_a_workload_that_does_not_fit_is_refused_before_the_search() -> None:
    """A design names the generators it runs; any other is bad input, saying what fits."""
    with pytest.raises(BadInput, match="runs 'bank' workloads, not 'counter'"):
        explore(OnlyBank(), COUNTER)
    assert model.workload_misfit(OnlyBank(), model.build_workload("bank:txs=2")) is None


def test_a_design_file_registers_its_own_workload(tmp_path: Path) -> None:
    """model.register_workload from a design file: the workload is then usable by name."""
    design = tmp_path / "mine.py"
    design.write_text('''
from shardcheck import model
from shardcheck.model.designs.block_stm import BlockStm


def _build(params):
    n = int(params["txs"])
    block = tuple(model.Transaction(i, f"bump {i}", (model.Read("x", "k"),
                  model.Write("k", model.BinOp("+", model.Var("x"), model.Const(1)))))
                  for i in range(n))
    return block, model.Store({"k": 0})


model.register_workload(model.Generator(
    "bumps", "increments of one key", (model.Param("txs", 2, "increments", 1, 8),), _build))


class Mine(BlockStm):
    """Block-STM on my workload."""

    default_workload = "bumps:txs=2"
''')
    result = invoke("explore", f"{design}:Mine", "--workload", "bumps:txs=2")
    assert result.exit_code == 0, result.output
    assert "workload bumps:txs=2" in flat(result.output)
    with pytest.raises(model.WorkloadError, match="one of shardcheck's own"):
        model.register_workload(model.Generator("counter", "", (), lambda p: ((), model.Store())))


def test_a_misfit_workload_on_the_command_line_is_one_line_exit_2(tmp_path: Path) -> None:
    """The CLI says what fits, in one line."""
    design = tmp_path / "only.py"
    design.write_text("from shardcheck.model.designs.block_stm import BlockStm\n\n\n"
                      "class Only(BlockStm):\n    workload_kinds = ('bank',)\n")
    assert_bad_input(invoke("explore", f"{design}:Only", "-w", "counter:txs=2"),
                     "runs 'bank' workloads, not 'counter'")


def test_a_design_file_imports_the_modules_beside_it(tmp_path: Path) -> None:
    """`import rules` finds rules.py next to the design, as Python does for a script; a
    sibling model.py does not shadow shardcheck's model."""
    (tmp_path / "rules.py").write_text("def never_valid(state, tx, entry):\n    return False\n")
    (tmp_path / "model.py").write_text("raise ImportError('the user model, not ours')\n")
    (tmp_path / "strict.py").write_text('''
import rules
from shardcheck.model.designs.block_stm import BlockStm


class Strict(BlockStm):
    """Block-STM whose validation always fails: re-executions, yet serial results."""

    def still_valid(self, state, tx, entry):
        return rules.never_valid(state, tx, entry)
''')
    result = invoke("explore", f"{tmp_path / 'strict.py'}:Strict", "-w", "counter:txs=2,keys=1",
                    "--quiet")
    assert "Strict" not in result.stderr, result.stderr
    assert result.exit_code in (0, 1), result.output


def test_the_cli_takes_the_designs_defaults_and_names_them(tmp_path: Path) -> None:
    """No --workload: the design's own default workload and worker count, shown in the
    header and listed by `shardcheck designs`."""
    result = invoke("explore", "bank")
    assert result.exit_code == 0, result.output
    assert "workload bank:txs=4,accounts=3,balance=10, 3 worker(s)" in flat(result.output)
    listed = invoke("designs")
    assert "default: --workload bank:txs=4,accounts=3 --workers 3" in flat(listed.output)


def test_property_and_skip_on_the_command_line(tmp_path: Path) -> None:
    """--skip leaves a violated property out; --property keeps only it; a wrong name is
    one line with a suggestion."""
    design = tmp_path / "watched.py"
    design.write_text('''
from shardcheck import model
from shardcheck.model.designs.block_stm import BlockStm


class Watched(BlockStm):
    """Block-STM that promises validation never runs ahead of T1."""

    def properties(self):
        return (*super().properties(), model.Property(
            "validation-behind", "validation_idx stays at most 1", "state",
            lambda s: None if s.validation_idx <= 1 else "ahead"))
''')
    spec = f"{design}:Watched"
    failing = invoke("explore", spec, "-w", "counter:txs=2,keys=1", "--quiet")
    assert failing.exit_code == 1 and "validation-behind" in flat(failing.output)
    skipped = invoke("explore", spec, "-w", "counter:txs=2,keys=1", "--skip",
                     "validation-behind")
    assert skipped.exit_code == 0, skipped.output
    assert "skipping validation-behind" in flat(skipped.output)
    only = invoke("explore", spec, "-w", "counter:txs=2,keys=1", "--property",
                  "I3-single-execution")
    assert only.exit_code == 0, only.output
    assert "checking deadlock, termination, I3-single-execution" in flat(only.output)
    assert_bad_input(invoke("explore", spec, "--skip", "validation-behnd"),
                     "did you mean 'validation-behind'?")
