"""The user's variant of a module design is checked as surely as ours (issue 21).

Each test writes a subclass of two-phase-commit, receipts or bft to a file, as a user
would, importing only public names, and explores it through the CLI (``path.py:Name``)
or the Python API: a bug in one overridden method is found with the design's default
settings, a subclass that changes nothing explores like its base, a field of its own
survives every step, and its mutants run its code.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest
from click.testing import Result

from shardcheck import model
from shardcheck.checker import SearchSettings, explore, resolve_design

from .cli_helpers import assert_bad_input, flat, invoke

# --- the users' files ---------------------------------------------------------------------

BUGS = {
    # name: (file text, class, property the bug breaks, what the violation says)
    "two-phase-commit": ('''
        """A user's variant of two-phase commit."""
        from shardcheck.model.designs.xmodule_2pc import ABORT, ACCEPT, TwoPhaseCommit


        class AnyAccept(TwoPhaseCommit):
            """Two-phase commit that accepts when any module pre-accepted (all/any slip)."""

            def decide(self, votes):
                return ACCEPT if any(v == ACCEPT for _, v in votes) else ABORT
        ''', "AnyAccept", "INV-ATOM", "T0 attempt 1: m1 decided accept, m0 decided abort"),
    "receipts": ('''
        """A user's variant of receipts."""
        from shardcheck.model.designs.xmodule_receipts import Receipts


        class ForgetfulSplit(Receipts):
            """Receipts whose reshard does not hand the parent's applied set to the child."""

            def carried_applied(self, state):
                return state.applied
        ''', "ForgetfulSplit", "INV-ONCE", "the receipt of T0 was applied twice"),
    "bft": ('''
        """A user's variant of Tendermint."""
        from shardcheck.model.designs.bft import Bft


        class LockBlind(Bft):
            """Tendermint whose prevote checks validity but not the lock (l.23, l.29)."""

            def accepts(self, place, replica, value, valid_round):
                return self.valid(place.module, value)
        ''', "LockBlind", "INV-AGR", "decided T0 in round 1 but m0/r2 decided empty in round 0"),
}

SAME = {
    # A subclass that changes nothing; bft's second one claims the packing still fits.
    "two-phase-commit": '''
        from shardcheck.model.designs.xmodule_2pc import TwoPhaseCommit


        class Mine(TwoPhaseCommit):
            """Two-phase commit, unchanged."""
        ''',
    "receipts": '''
        from shardcheck.model.designs.xmodule_receipts import Receipts


        class Mine(Receipts):
            """Receipts, unchanged."""
        ''',
    "bft": '''
        from shardcheck.model.designs.bft import Bft


        class Mine(Bft):
            """Tendermint, unchanged."""


        class MinePacked(Bft):
            """Tendermint, unchanged, on the packed path."""

            compact_fits = True
        ''',
}

FIELDS = {
    # A field of the user's own on the state (or, for bft, on each replica), kept up by
    # one overridden step, and an invariant over it: any step that rebuilt the state
    # instead of evolving it would drop the field and break the invariant.
    "two-phase-commit": '''
        import attrs

        from shardcheck.model import Property
        from shardcheck.model.designs.xmodule_2pc import TwoPcState, TwoPhaseCommit


        @attrs.frozen
        class CountingState(TwoPcState):
            """The state, and how many writes the modules have installed."""

            installs: int = 0


        class Counting(TwoPhaseCommit):
            """Two-phase commit that counts the writes it installs."""

            state_class = CountingState

            def install(self, state, name, module, session):
                done = super().install(state, name, module, session)
                return attrs.evolve(done, installs=done.installs + 1)

            def properties(self):
                return (*super().properties(),
                        Property("installs-counted", "the count matches the install log",
                                 "state", self.installs_counted))

            def installs_counted(self, state):
                cross = sum(1 for tx, _ in state.log if state.local[tx] is None)
                if state.installs != cross:
                    return f"counted {state.installs} installs, the log has {cross}"
                return None
        ''',
    "receipts": '''
        import attrs

        from shardcheck.model import Property
        from shardcheck.model.designs.xmodule_receipts import Receipts, ReceiptsState


        @attrs.frozen
        class CountingState(ReceiptsState):
            """The state, and how many receipts have been emitted."""

            emitted: int = 0


        class Counting(Receipts):
            """Receipts that count the receipts they emit."""

            state_class = CountingState

            def send_receipt(self, state, transfer, read):
                sent = super().send_receipt(state, transfer, read)
                return attrs.evolve(sent, emitted=sent.emitted + 1)

            def properties(self):
                return (*super().properties(),
                        Property("receipts-counted", "the count matches the progress",
                                 "state", self.receipts_counted))

            def receipts_counted(self, state):
                sent = state.progress.count("sent")
                if state.emitted != sent:
                    return f"counted {state.emitted} receipts, {sent} transfers sent one"
                return None
        ''',
    "bft": '''
        import attrs

        from shardcheck.model import Property
        from shardcheck.model.designs.bft import Bft, Replica


        @attrs.frozen
        class CountingReplica(Replica):
            """A replica that also counts the votes it has sent."""

            votes_sent: int = 0


        class Counting(Bft):
            """Tendermint whose replicas count their votes."""

            compact_fits = True  # the packing numbers whole replicas, fields and all
            replica_class = CountingReplica

            def vote(self, replica, kind, value):
                voted = super().vote(replica, kind, value)
                return attrs.evolve(voted, votes_sent=voted.votes_sent + 1)

            def properties(self):
                return (*super().properties(),
                        Property("votes-counted", "each replica's count matches its votes",
                                 "state", self.votes_counted))

            def votes_counted(self, state):
                for m in range(len(state.replicas)):
                    for actor, r in self.honest(state, m):
                        if r.votes_sent != len(r.prevotes) + len(r.precommits):
                            return f"{actor} counted {r.votes_sent} votes"
                return None
        ''',
}

MARKED = {
    # Each invariant the mutant is caught by says whose code judged it.
    "two-phase-commit": ("atomicity", "unbound-session", "INV-ATOM", "xtransfers:xtxs=2"),
    "receipts": ("once", "no-dedup", "INV-ONCE", "xtransfers:xtxs=1,dups=1"),
    "bft": ("agreement", "weak-quorum", "INV-AGR", "bft:txs=1,rounds=1"),
}

DEFAULTS = [
    # design, default workload, states, terminal states
    ("two-phase-commit", "xtransfers:xtxs=1,txs=1,accounts=2,replays=1", 167, 6),
    ("receipts", "xtransfers:accounts=2,reshard=1,dups=1", 15, 4),
    ("bft", "bft:txs=1,rounds=2", 228_024, 32_591),
]

def write(tmp_path: Path, name: str, text: str) -> Path:
    """The user's file, after checking it imports no leading-underscore name."""
    source = textwrap.dedent(text)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            assert not any(a.name.startswith("_") for a in node.names), source
            assert not any(part.startswith("_") for part in (node.module or "").split("."))
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    return path


def explore_default(design: str, *options: str) -> Result:
    """``shardcheck explore DESIGN`` on the design's declared defaults (its
    ``default_workload`` and ``default_workers``), spelled out for the CLI."""
    found, _ = resolve_design(design)
    return invoke("explore", design, "--workload", model.default_workload(found),
                  "--workers", str(model.default_workers(found)), "--no-timeline", *options)


def run(design: model.Design, spec: str | None = None, **settings: object):  # type: ignore[no-untyped-def]
    """Explore ``design`` on ``spec`` (default: its own default workload)."""
    workload = model.build_workload(spec or model.default_workload(design))
    config = model.Config(workload, model.default_workers(design))
    return explore(design, config, SearchSettings(**settings))  # type: ignore[arg-type]


# --- a bug in one overridden method is found with the defaults ----------------------------


@pytest.mark.parametrize("base", sorted(BUGS))
def test_a_bug_in_one_overridden_method_is_found_with_the_design_defaults(
        base: str, tmp_path: Path) -> None:
    """The subclass overrides one method with a bug; exploring ``path.py:Name`` on the
    design's defaults exits 1 on the property the bug breaks, and the header names the
    subclass and its docstring."""
    text, name, prop, message = BUGS[base]
    path = write(tmp_path, "mine", text)
    trace = tmp_path / "found.trace.json"
    result = explore_default(f"{path}:{name}", "--trace-out", str(trace))
    shown = flat(result.output)
    assert result.exit_code == 1, shown
    assert f"violation of {prop}" in shown and message in shown
    assert f"{name}, a variant of {base}:" in shown
    assert trace.is_file()


@pytest.mark.parametrize("base", sorted(BUGS))
def test_with_no_workload_the_bug_is_found_on_the_design_default(
        base: str, tmp_path: Path) -> None:
    """``shardcheck explore path.py:Name`` with no --workload runs the design's default."""
    text, name, prop, _ = BUGS[base]
    path = write(tmp_path, "mine", text)
    result = invoke("explore", f"{path}:{name}", "--no-timeline",
                    "--trace-out", str(tmp_path / "found.trace.json"))
    assert result.exit_code == 1, result.output
    assert f"violation of {prop}" in flat(result.output)


# --- the defaults ---------------------------------------------------------------------------


@pytest.mark.parametrize(("base", "spec", "states", "terminal"), DEFAULTS)
def test_each_design_declares_a_default_its_correct_version_passes(
        base: str, spec: str, states: int, terminal: int) -> None:
    """The default workload fits the design, has a fault budget (bft: a Byzantine replica
    and two rounds), and the published protocol passes all of it: the counts are pinned."""
    design = model.builtin_designs()[base]
    assert model.default_workload(design) == spec
    assert model.workload_misfit(design, model.build_workload(spec)) is None
    result = explore_default(base)
    shown = flat(result.output)
    assert result.exit_code == 0, shown
    canonical = model.build_workload(spec).spec
    assert f"workload {canonical}, 2 worker(s)" in shown
    assert f"terminal states {terminal:,}" in shown
    assert f"every schedule explored ({states:,} states)" in shown


@pytest.mark.parametrize(("base", "spec", "states", "terminal"), DEFAULTS)
def test_explore_with_no_workload_runs_the_design_default(
        base: str, spec: str, states: int, terminal: int) -> None:
    """``shardcheck explore DESIGN`` with no --workload runs the design's default."""
    result = invoke("explore", base)
    assert result.exit_code == 0, result.output
    assert f"every schedule explored ({states:,} states)" in flat(result.output)


@pytest.mark.parametrize(("base", "mutant"), [
    (base, m.name) for base in sorted(BUGS) for m in model.builtin_designs()[base].mutants()])
def test_the_default_finds_every_mutant_but_two_its_notes_name(base: str, mutant: str) -> None:
    """Every mutant of the three designs fails on its design's default workload, except
    two whose configurations would cost the default its speed: receipts:reshard-drops-
    nonces needs a moved sender that sends twice, bft:shared-version-diverges a version
    fault (nine times the states); the default's notes name each."""
    design = model.builtin_designs()[base]
    config = model.Config(model.build_workload(model.default_workload(design)), 2)
    named = any(mutant in note for note in design.notes(config))  # type: ignore[attr-defined]
    if (base, mutant) in (("receipts", "reshard-drops-nonces"),
                          ("bft", "shared-version-diverges")):
        assert named  # and it passes there: the correct design's whole space, pinned above
        return
    found = next(m.design for m in design.mutants() if m.name == mutant)
    assert run(found).verdict == "violation", (base, mutant)
    assert not named


def test_bft_refuses_a_counter_block_before_the_search_in_one_line() -> None:
    """A workload of a kind bft does not run is bad input: exit 2, one line naming the
    kinds it runs and its default, and no search."""
    result = invoke("explore", "bft", "--workload", "counter:txs=3")
    line = assert_bad_input(result, "design 'bft' runs 'bft' workloads, not 'counter'",
                            "--workload bft:txs=1,rounds=2")
    assert "distinct states" not in result.output, line


@pytest.mark.parametrize(("spec", "says"), [
    ("bft:txs=1,rounds=2", ["no version fault"]),
    ("bft:byzantine=0,txs=1,rounds=1,version_faults=1",
     ["no Byzantine replica: this run cannot find equivocation bugs", "one round"]),
    ("bft:byzantine=2,txs=1,rounds=2,version_faults=1", ["byzantine=2 exceeds f=1"]),
    ("xtransfers:xtxs=1", ["no fault budget (replays=0, dups=0)"]),
    ("xtransfers:xtxs=1,attempts=1,replays=1", ["attempts=1"]),
])
def test_the_notes_say_what_a_configuration_cannot_show(spec: str, says: list[str]) -> None:
    """bft with no Byzantine replica says it cannot find equivocation bugs; a module
    design with no fault budget says which bugs it cannot show; each note is one line."""
    design = model.builtin_designs()["bft" if spec.startswith("bft") else "two-phase-commit"]
    notes = design.notes(model.Config(model.build_workload(spec), 2))  # type: ignore[attr-defined]
    assert len(notes) == len(says)
    for note, fragment in zip(notes, says, strict=True):
        assert fragment in note and "\n" not in note


def test_receipts_notes_name_the_missing_duplicate_and_reshard() -> None:
    """With no duplicate and no reshard, receipts says which mutants the run cannot show."""
    design = model.builtin_designs()["receipts"]
    notes = design.notes(model.Config(model.build_workload("xtransfers:xtxs=1"), 2))  # type: ignore[attr-defined]
    assert [n.split(":")[0] for n in notes] == ["no duplicate (dups=0)",
                                                "no reshard (reshard=0)"]
    assert "no-dedup" in notes[0] and "reshard-misroute" in notes[1]


# --- a subclass that changes nothing explores like its base -------------------------------


@pytest.mark.parametrize("base", ["two-phase-commit", "receipts"])
def test_a_subclass_that_changes_nothing_explores_like_its_base(
        base: str, tmp_path: Path) -> None:
    """Same states, terminal states and outcomes as the built-in, on its default."""
    path = write(tmp_path, "same", SAME[base])
    mine, _ = resolve_design(f"{path}:Mine")
    ours, theirs = run(model.builtin_designs()[base]), run(mine)
    assert theirs.verdict == ours.verdict == "pass"
    assert theirs.stats.states == ours.stats.states
    assert theirs.stats.terminal_states == ours.stats.terminal_states
    assert theirs.outcomes == ours.outcomes


@pytest.mark.parametrize("spec", [
    "bft:txs=1,rounds=1,version_faults=1",
    pytest.param("bft:txs=1,rounds=2", marks=pytest.mark.slow, id="default"),
])
def test_a_bft_subclass_that_changes_nothing_explores_like_bft_on_either_path(
        spec: str, tmp_path: Path) -> None:
    """With no claim it takes the ordinary path, with compact_fits = True the packed one;
    both reach the built-in's counts and outcomes."""
    path = write(tmp_path, "same", SAME["bft"])
    plain, _ = resolve_design(f"{path}:Mine")
    packed, _ = resolve_design(f"{path}:MinePacked")
    assert model.packing_fits(plain) is not None and model.packing_fits(packed) is None
    ours = run(model.builtin_designs()["bft"], spec)
    for design in (plain, packed):
        theirs = run(design, spec)
        assert theirs.verdict == ours.verdict == "pass"
        assert (theirs.stats.states, theirs.stats.terminal_states) == (
            ours.stats.states, ours.stats.terminal_states)
        assert theirs.outcomes == ours.outcomes


# --- a field of the user's own survives every step ------------------------------------------


@pytest.mark.parametrize("base", sorted(FIELDS))
def test_a_new_state_field_and_an_invariant_over_it_hold_on_the_default(
        base: str, tmp_path: Path) -> None:
    """The subclass's state (bft: replica) class adds a field one overridden step keeps;
    every other step evolves what it is given, so the field's invariant holds on every
    state of the default workload, which explores to the built-in's counts."""
    path = write(tmp_path, "counting", FIELDS[base])
    mine, _ = resolve_design(f"{path}:Counting")
    assert mine.properties()[-1].name in {"installs-counted", "receipts-counted",
                                          "votes-counted"}
    theirs = run(mine)
    assert theirs.verdict == "pass", theirs.violation
    counts = {b: (states, terminal) for b, _, states, terminal in DEFAULTS}
    assert (theirs.stats.states, theirs.stats.terminal_states) == counts[base]


def test_the_field_invariant_would_catch_a_step_that_drops_the_field(tmp_path: Path) -> None:
    """The field test has teeth: a step that rebuilds the state from the base class's
    fields only (as a positional rebuild would) resets the count, and the invariant
    says so."""
    text = textwrap.dedent(FIELDS["receipts"]) + textwrap.indent(textwrap.dedent('''
        def reshard(self, state):
            done = super().reshard(state)
            return type(done)(**{f.name: getattr(done, f.name)
                                 for f in attrs.fields(ReceiptsState)})
        '''), " " * 4)
    path = write(tmp_path, "dropping", text)
    mine, _ = resolve_design(f"{path}:Counting")
    result = run(mine)
    assert result.violation is not None
    assert result.violation.property == "receipts-counted"
    assert result.violation.message == "counted 0 receipts, 1 transfers sent one"


# --- a subclass's mutants run the subclass's code -----------------------------------------


@pytest.mark.parametrize("base", sorted(MARKED))
def test_a_subclass_mutant_runs_the_subclass_code(base: str, tmp_path: Path) -> None:
    """``path.py:Name:mutant`` is the subclass with the mutant's flag on: the subclass's
    own invariant (marked) is what reports the violation."""
    method, mutant, prop, spec = MARKED[base]
    module, cls = {"two-phase-commit": ("xmodule_2pc", "TwoPhaseCommit"),
                   "receipts": ("xmodule_receipts", "Receipts"),
                   "bft": ("bft", "Bft")}[base]
    path = write(tmp_path, "marked", f'''
        from shardcheck.model.designs.{module} import {cls}


        class Marked({cls}):
            """{cls} whose {method} invariant signs its messages."""

            def {method}(self, state):
                found = super().{method}(state)
                return None if found is None else "marked: " + found
        ''')
    design, _ = resolve_design(f"{path}:Marked")
    found = {m.name: m.design for m in design.mutants()}[mutant]
    assert type(found) is type(design)
    result = invoke("explore", f"{path}:Marked:{mutant}", "--workload", spec, "--no-timeline",
                    "--trace-out", str(tmp_path / "marked.trace.json"))
    shown = flat(result.output)
    assert result.exit_code == 1, shown
    assert f"violation of {prop} after" in shown
    assert "steps: marked: " in shown
