"""A user's variant of Block-STM, the bank or serial is checked as surely as ours (issue 21).

Each variant is written as a user would: a file of its own that imports the built-in
design from its public module, subclasses it and overrides one method. The override is
what the explorer runs, on the ordinary path and, when the subclass declares
``compact_fits = True``, on the packed one; a state field the subclass adds survives
every step; a mutant of the subclass runs the subclass's code.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from shardcheck import model
from shardcheck.checker import SearchSettings, explore, resolve_design
from shardcheck.checker.errors import DesignBug
from shardcheck.checker.search import SearchResult
from shardcheck.model.designs.bank import Bank

from .cli_helpers import flat, invoke

TRUSTING_STM = '''
from shardcheck.model.designs.block_stm import BlockStm, BlockStmState, ReadEntry


class TrustingStm(BlockStm):
    """Block-STM whose validation believes every read it recorded."""

    def still_valid(self, state: BlockStmState, tx: int, entry: ReadEntry) -> bool:
        return True
'''

UNGUARDED_BANK = '''
from shardcheck.model.designs.bank import DONE, Bank, BankState, Worker


class UnguardedBank(Bank):
    """The bank with an unconditional fetch-and-increment of the claim counter."""

    def claim(self, state: BankState, w: int, worker: Worker) -> BankState:
        if self.claims_left(state):
            return super().claim(state, w, worker)
        return self.with_worker(state, w, Worker(DONE, 0, 0, 0), nxt=state.nxt + 1)


class PackedUnguardedBank(UnguardedBank):
    """The same bug, with a false claim that the bank's packing still fits."""

    compact_fits = True
'''

FORGETFUL_SERIAL = '''
import attrs

from shardcheck.model.designs.serial import Serial, SerialState


class ForgetfulSerial(Serial):
    """Serial execution that forgets the first transaction's writes."""

    def execute(self, state: SerialState, index: int) -> SerialState:
        after = super().execute(state, index)
        return attrs.evolve(after, store=state.store) if index == 0 else after
'''

UNCHANGED = '''
from shardcheck.model.designs.bank import Bank
from shardcheck.model.designs.block_stm import BlockStm
from shardcheck.model.designs.serial import Serial


class SameStm(BlockStm):
    """Block-STM, unchanged."""


class PackedStm(BlockStm):
    """Block-STM, unchanged, on the packed path."""

    compact_fits = True


class SameBank(Bank):
    """The bank, unchanged."""


class PackedBank(Bank):
    """The bank, unchanged, on the packed path."""

    compact_fits = True


class SameSerial(Serial):
    """Serial, unchanged."""
'''

GHOST_STM = '''
from collections.abc import Sequence

import attrs

from shardcheck.model import Property
from shardcheck.model.designs.block_stm import BlockStm, BlockStmState, Worker


@attrs.frozen
class GhostState(BlockStmState):
    """Block-STM's state and a ghost: the highest incarnation any transaction reached."""

    top_incarnation: int = 0


class GhostStm(BlockStm):
    """Block-STM that keeps the highest incarnation in its state, and bounds it."""

    state_class = GhostState
    limit = 100

    def set_ready_status(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        after = super().set_ready_status(state, w, worker)
        assert isinstance(after, GhostState)  # the step kept the state's class
        return attrs.evolve(after, top_incarnation=max(inc for inc, _ in after.status))

    def properties(self) -> Sequence[Property]:
        return (*super().properties(),
                Property("ghost-kept", "the ghost is the highest incarnation", "state",
                         self.ghost_kept),
                Property("below-limit", "no incarnation passes the limit", "state",
                         self.below_limit))

    def ghost_kept(self, state: GhostState) -> str | None:
        top = max(inc for inc, _ in state.status)
        if state.top_incarnation == top:
            return None
        return f"the ghost says {state.top_incarnation}, the status {top}"

    def below_limit(self, state: GhostState) -> str | None:
        if state.top_incarnation <= self.limit:
            return None
        return f"incarnation {state.top_incarnation} passed the limit {self.limit}"


class NoReexecution(GhostStm):
    """The ghost bounded at 0: no transaction may run twice."""

    limit = 0


class PackedGhostStm(GhostStm):
    """The ghost on the packed path."""

    compact_fits = True
'''

VERSIONED_SCANS = '''
from shardcheck.model.designs.block_stm import BlockStm, BlockStmState, ReadEntry


class VersionedScans(BlockStm):
    """Block-STM whose scans are always validated by version, whatever the flags say."""

    def still_valid(self, state: BlockStmState, tx: int, entry: ReadEntry) -> bool:
        if entry.kind != "scan":
            return super().still_valid(state, tx, entry)
        blocker, found = self.mv_scan(state, entry.key, tx)
        return blocker is None and [(f.key, f.version) for f in found] == [
            (f.key, f.version) for f in entry.found]
'''

YIELDING_STM = '''
from shardcheck.model.designs.block_stm import (
    BlockStm, BlockStmState, Footprint, Worker)


class YieldingStm(BlockStm):
    """Block-STM whose idle workers yield once before they look for a task."""

    steps = {**BlockStm.steps, "idle.yield": "idle_yield"}
    footprints = {**BlockStm.footprints, "idle.yield": "idle_yield_footprint"}

    def loop(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        after = super().loop(state, w, worker)
        if after.workers[w].pc == "next_task.compare_indices":
            return self.with_worker(after, w, Worker(pc="idle.yield"))
        return after

    def idle_yield(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        return self.with_worker(state, w, Worker(pc="next_task.compare_indices"))

    def idle_yield_footprint(self, state: BlockStmState, w: int, worker: Worker) -> Footprint:
        return {}, set(), set()


class MisspelledStm(BlockStm):
    """A step table that names a method the class does not have."""

    steps = {**BlockStm.steps, "vm.read": "vm_reed"}
'''


UNSORTED_STM = '''
from shardcheck.model.designs.block_stm import BlockStm, BlockStmState


class UnsortedStm(BlockStm):
    """Block-STM without the symmetry reduction, claiming its packing still fits."""

    compact_fits = True

    def canonical(self, state: BlockStmState) -> BlockStmState:
        return state
'''


def _write(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def _search(spec: str, workload: str | None = None, **settings: object) -> SearchResult:
    """Explore a design as the CLI does by default: its default workload and workers."""
    design, _ = resolve_design(spec)
    config = model.Config(model.build_workload(workload or model.default_workload(design)),
                          model.default_workers(design))
    return explore(design, config, SearchSettings(**settings))  # type: ignore[arg-type]


# --- one overridden method is what runs -----------------------------------------------------


def test_a_block_stm_variant_that_trusts_every_read_is_caught(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`still_valid` always True: serial-equivalence fails after 86 steps, with the CLI's
    defaults (Block-STM's default workload, counter:txs=3,keys=1 on 2 workers)."""
    path = _write(tmp_path, "trusting.py", TRUSTING_STM)
    monkeypatch.chdir(tmp_path)
    result = invoke("explore", f"{path}:TrustingStm")
    assert result.exit_code == 1, result.output
    output = flat(result.output)
    assert "TrustingStm, a variant of block-stm" in output
    assert "workload counter:txs=3,keys=1" in output
    assert "violation of serial-equivalence after 86 steps" in output
    (trace,) = tmp_path.glob("*.trace.json")
    replayed = invoke("replay", str(trace), "--design-file", str(path), "--no-timeline")
    assert replayed.exit_code == 1 and "reproduced" in replayed.output, replayed.output


def test_a_bank_variant_with_an_unguarded_claim_is_caught(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`claim` without its guard pushes nxt past N: `counter` fails after 13 steps on the
    bank's default workload (the CLI is given it: see the next test)."""
    path = _write(tmp_path, "unguarded.py", UNGUARDED_BANK)
    monkeypatch.chdir(tmp_path)
    result = invoke("explore", f"{path}:UnguardedBank",
                    "--workload", Bank.default_workload, "--workers", str(Bank.default_workers))
    assert result.exit_code == 1, result.output
    output = flat(result.output)
    assert "workload bank:txs=4,accounts=3,balance=10, 3 worker(s)" in output
    assert "violation of counter after 13 steps: nxt = 5 passed the block size 4" in output


def test_the_cli_explores_a_bank_variant_on_the_banks_default_workload(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no --workload, the bank's variant runs bank:txs=4,accounts=3 on 3 workers."""
    path = _write(tmp_path, "unguarded.py", UNGUARDED_BANK)
    monkeypatch.chdir(tmp_path)
    result = invoke("explore", f"{path}:UnguardedBank", "--quiet")
    assert result.exit_code == 1, result.output
    assert "violation of counter after 13 steps" in flat(result.output)


def test_a_serial_variant_that_forgets_writes_is_caught(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`execute` that drops the first transaction's writes: serial-equivalence fails after
    3 steps, with the CLI's defaults."""
    path = _write(tmp_path, "forgetful.py", FORGETFUL_SERIAL)
    monkeypatch.chdir(tmp_path)
    result = invoke("explore", f"{path}:ForgetfulSerial", "--quiet")
    assert result.exit_code == 1, result.output
    assert "violation of serial-equivalence after 3 steps" in flat(result.output)


# --- a subclass that changes nothing is its base ----------------------------------------------


Counts = tuple[int, int, str]
"""States, transitions and the engine of a search that passed."""


def _counts(result: SearchResult) -> Counts:
    assert result.verdict == "pass", result.violation
    return result.stats.states, result.stats.transitions, result.stats.engine


@pytest.mark.parametrize(("same", "packed", "base", "workload", "ordinary", "compact"), [
    ("SameStm", "PackedStm", "block-stm", "counter:txs=2,keys=1",
     (10_784, 16_166, "ordinary+sleep-sets"), (10_784, 21_265, "compact")),
    pytest.param("SameStm", "PackedStm", "block-stm", None,
                 (78_937, 122_356, "ordinary+sleep-sets"), (78_937, 156_448, "compact"),
                 marks=pytest.mark.slow),
    ("SameBank", "PackedBank", "bank", None,
     (8_055, 12_278, "ordinary+sleep-sets"), (4_153, 6_053, "compact+persistent-sets")),
    ("SameSerial", None, "serial", None, (4, 3, "ordinary+sleep-sets"), None),
])
def test_a_subclass_that_overrides_nothing_explores_as_its_base(
        tmp_path: Path, same: str, packed: str | None, base: str, workload: str | None,
        ordinary: Counts, compact: Counts | None) -> None:
    """The subclass takes the ordinary path with the base's counts there (the base's own
    --no-compact ones); with compact_fits = True it takes the packed path with the base's
    default counts. On the design's default workload (Block-STM's in the slow stage)."""
    path = _write(tmp_path, "unchanged.py", UNCHANGED)
    assert _counts(_search(f"{path}:{same}", workload)) == ordinary
    assert _counts(_search(base, workload, compact=False)) == ordinary
    if compact is not None:
        assert _counts(_search(f"{path}:{packed}", workload)) == compact
        assert _counts(_search(base, workload)) == compact


# --- a state field of the subclass's own --------------------------------------------------------


@pytest.mark.parametrize(("workload", "states"), [
    ("counter:txs=2,keys=1", 10_784),
    pytest.param(None, 78_937, marks=pytest.mark.slow),
])
def test_a_state_field_a_subclass_adds_survives_every_step(
        tmp_path: Path, workload: str | None, states: int) -> None:
    """A ghost field kept by one overridden step holds in each of Block-STM's states (had
    any step dropped it, ghost-kept would fail), whose count it leaves as it was; the
    packed path carries it too."""
    path = _write(tmp_path, "ghost.py", GHOST_STM)
    ordinary = _search(f"{path}:GhostStm", workload)
    packed = _search(f"{path}:PackedGhostStm", workload)
    for result, engine in ((ordinary, "ordinary+sleep-sets"), (packed, "compact")):
        assert result.verdict == "pass", result.violation
        assert (result.stats.states, result.stats.engine) == (states, engine)


def test_an_invariant_over_a_subclass_field_is_checked(tmp_path: Path) -> None:
    """Bounding the ghost at 0 fails at the first re-execution, 43 steps in."""
    path = _write(tmp_path, "ghost.py", GHOST_STM)
    result = _search(f"{path}:NoReexecution")
    assert result.violation is not None
    assert (result.violation.property, result.violation.step) == ("below-limit", 43)
    assert result.violation.message == "incarnation 1 passed the limit 0"


def test_the_audit_holds_a_subclass_packed_path_to_its_ordinary_one(tmp_path: Path) -> None:
    """`explore --audit` on the ghost's packed path: every reduction agrees."""
    path = _write(tmp_path, "ghost.py", GHOST_STM)
    result = invoke("explore", f"{path}:PackedGhostStm", "--workload", "counter:txs=2,keys=1",
                    "--audit")
    assert result.exit_code == 0, result.output
    assert "every reduction agrees" in result.output


# --- mutants of a subclass ----------------------------------------------------------------------


def test_a_mutant_of_a_subclass_runs_the_subclass_code(tmp_path: Path) -> None:
    """VersionedScans:scan-keys-only is a VersionedScans with M09's flag on, and its
    override of still_valid undoes M09: it passes on audit:txs=2 with the published
    design's 10,784 states, where block-stm:scan-keys-only fails after 61 steps."""
    path = _write(tmp_path, "versioned.py", VERSIONED_SCANS)
    design, _ = resolve_design(f"{path}:VersionedScans:scan-keys-only")
    assert type(design).__name__ == "VersionedScans"
    assert design.flags.scan_keys_only  # type: ignore[attr-defined]
    ours = _search(f"{path}:VersionedScans:scan-keys-only", "audit:txs=2")
    assert (ours.verdict, ours.stats.states) == ("pass", 10_784)
    base = _search("block-stm:scan-keys-only", "audit:txs=2")
    assert base.violation is not None
    assert (base.violation.property, base.violation.step) == ("serial-equivalence", 61)


# --- extending the step table, and what the packed path refuses ---------------------------------


def test_a_new_program_counter_runs_its_step_and_footprint(tmp_path: Path) -> None:
    """A step added through the steps and footprints tables: an idle worker yields before
    it looks for a task, which adds states (11,984 against 10,784) and keeps the verdict."""
    path = _write(tmp_path, "yielding.py", YIELDING_STM)
    result = _search(f"{path}:YieldingStm", "counter:txs=2,keys=1")
    assert result.verdict == "pass", result.violation
    assert result.stats.states == 11_984
    design, _ = resolve_design(f"{path}:YieldingStm")
    state = design.initial(model.Config(model.build_workload("counter:txs=1"), 1))
    state = design.step(state, design.actions(state)[0])
    assert [a.name for a in design.actions(state)] == ["idle.yield"]


def test_a_step_table_naming_a_missing_method_is_refused_on_load(tmp_path: Path) -> None:
    """The tables are checked when the design is created: one line, exit 2."""
    path = _write(tmp_path, "yielding.py", YIELDING_STM)
    result = invoke("explore", f"{path}:MisspelledStm")
    assert result.exit_code == 2, result.output
    assert "maps 'vm.read' to 'vm_reed', which is not a method" in flat(result.stderr)


@pytest.mark.parametrize(("source", "name", "message"), [
    (UNGUARDED_BANK, "PackedUnguardedBank", "PackedUnguardedBank changes claim, which the "
     "bank's packing works out on bit fields"),
    (UNSORTED_STM, "UnsortedStm", "UnsortedStm overrides canonical, which Block-STM's "
     "packed path mirrors"),
])
def test_a_packing_refuses_a_subclass_it_cannot_describe(
        tmp_path: Path, source: str, name: str, message: str) -> None:
    """A packing that mirrors code instead of calling it (the bank's steps on bit fields,
    Block-STM's sorted workers) refuses a subclass that changed that code, even one that
    declares compact_fits = True: in words, never by exploring the base's behaviour."""
    path = _write(tmp_path, "variant.py", source)
    with pytest.raises(DesignBug, match=f"{message}.*remove compact_fits = True"):
        _search(f"{path}:{name}")
