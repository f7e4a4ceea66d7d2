"""Cross-module transactions: two-phase commit and receipts hold on every schedule where
each of their mutants breaks, and every mutant is caught by a trace that replays."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shardcheck import model
from shardcheck.checker import SearchSettings, explore, load_trace, replay, write_trace
from shardcheck.checker.design.diff import changes
from shardcheck.checker.design.resolve import DesignRef
from shardcheck.checker.history.records import from_outcome
from shardcheck.checker.history.serializability import check_history
from shardcheck.checker.trace.files import Trace
from shardcheck.model.designs.xmodule import XModuleError
from shardcheck.model.designs.xmodule_2pc import TwoPhaseCommit
from shardcheck.model.designs.xmodule_receipts import Receipts

from .cli_helpers import assert_bad_input, flat, invoke

TWO_PC = TwoPhaseCommit()
RECEIPTS = Receipts()
DESIGNS: dict[str, model.Design] = {"two-phase-commit": TWO_PC, "receipts": RECEIPTS}
MUTANTS = [(name, mutant) for name, design in DESIGNS.items() for mutant in design.mutants()]


def run(design: model.Design, spec: str, **options: object):  # type: ignore[no-untyped-def]
    """Explore ``design`` on ``spec`` (the designs ignore the worker count)."""
    config = model.Config(model.build_workload(spec), 2)
    return explore(design, config, SearchSettings(**options))  # type: ignore[arg-type]


@pytest.mark.parametrize(("design", "spec", "states", "outcomes"), [
    ("two-phase-commit", "xtransfers:xtxs=2", 3_781, 5),
    ("two-phase-commit", "xtransfers:xtxs=1,txs=1,accounts=2", 32, 2),
    ("two-phase-commit", "xtransfers:xtxs=2,accounts=2,txs=2", 2_344, 10),
    ("two-phase-commit", "xtransfers:xtxs=1,replays=1,dups=1", 148, 1),
    ("receipts", "xtransfers:xtxs=1,dups=1", 6, 1),
    ("receipts", "xtransfers:accounts=2,reshard=1", 7, 1),
    # acct0 and acct1 each send twice here, so nonce order removes half the orders.
    ("receipts", "xtransfers:xtxs=2,accounts=2,txs=2,reshard=1,dups=1", 769, 24),
    ("receipts", "xtransfers:modules=1,accounts=2,xtxs=0,txs=2,sends=2,reshard=1", 331, 52),
])
def test_the_correct_designs_hold_on_every_schedule(design: str, spec: str, states: int,
                                                    outcomes: int) -> None:
    """The whole space is explored, nothing is violated, and the state count is pinned."""
    result = run(DESIGNS[design], spec)
    assert result.verdict == "pass", result.violation
    assert result.stats.complete
    assert (result.stats.states, result.stats.distinct_outcomes) == (states, outcomes)


@pytest.mark.slow
def test_two_phase_commit_survives_a_replayed_message_on_every_schedule() -> None:
    """With one replay of any message ever sent, sessions keep every decision atomic."""
    result = run(TWO_PC, "xtransfers:xtxs=2,replays=1")
    assert result.verdict == "pass", result.violation
    assert result.stats.states == 43_453


def test_every_mutant_has_a_known_failure_the_correct_design_survives() -> None:
    """Five mutants; on each one's configuration the published protocol passes."""
    assert [(d, m.name) for d, m in MUTANTS] == [
        ("two-phase-commit", "unbound-session"), ("two-phase-commit", "early-release"),
        ("receipts", "no-dedup"), ("receipts", "reshard-misroute"),
        ("receipts", "reshard-drops-nonces")]
    for design, mutant in MUTANTS:
        failure = mutant.known_failure
        assert failure is not None
        assert "Found by:" in mutant.doc and failure.workload in mutant.doc
        assert run(DESIGNS[design], failure.workload).verdict == "pass"


@pytest.mark.parametrize(("design", "mutant"), MUTANTS, ids=lambda x: getattr(x, "name", x))
def test_each_mutant_is_found_by_its_shortest_trace_which_replays(
        design: str, mutant: model.Mutant, tmp_path: Path) -> None:
    """BFS finds the bug at the pinned depth; its trace file replays as reproduced."""
    failure = mutant.known_failure
    assert failure is not None
    result = run(mutant.design, failure.workload)
    assert result.violation is not None
    assert (result.violation.property, result.violation.step) == (failure.property,
                                                                   failure.steps)
    assert len(result.path) == failure.steps
    spec = model.build_workload(failure.workload).spec
    trace = Trace(DesignRef(design, mutant.name), spec, failure.workers,
                  result.initial_fingerprint, result.path, result.violation)
    path = tmp_path / f"{mutant.name}.trace.json"
    write_trace(trace, path)
    replayed = replay(load_trace(path))
    assert replayed.verdict == "reproduced", replayed.message
    assert replayed.violation == result.violation


def test_a_replayed_pre_abort_also_splits_the_unbound_decision() -> None:
    """The Chainspace replay: with the attacker's budget the mutant still splits."""
    design = TWO_PC.mutants()[0].design
    result = run(design, "xtransfers:xtxs=2,replays=1")
    assert result.violation is not None
    assert result.violation.property == "INV-ATOM"


def test_the_unbound_session_trace_shows_the_stale_vote_deciding_the_retry() -> None:
    """The counterexample: attempt 1's pre-accept reaches m0 during attempt 2."""
    result = run(TWO_PC.mutants()[0].design, "xtransfers:xtxs=2")
    labels = [f"{s.action.actor} {s.action.label()}" for s in result.path]
    assert "coordinator retry tx=1 attempt=2" in labels
    stale = labels.index("m0 deliver msg=pre-accept from=m1 tx=1 attempt=1")
    assert stale > labels.index("coordinator retry tx=1 attempt=2")
    assert result.violation is not None
    assert result.violation.message == "T1 attempt 2: m0 decided accept, m1 decided abort"


def test_early_release_breaks_the_global_order_too() -> None:
    """Judged by its history alone, the lost update has no serial order across modules,
    while every outcome of the correct design that spans two modules has one."""
    workload = model.build_workload("xtransfers:xtxs=1,txs=1,accounts=2")
    design = TWO_PC.mutants()[1].design
    state = design.initial(model.Config(workload, 2))
    # m0 votes and forgets its lock, the local transfer spends the same balance, and then
    # both modules accept the cross-module transfer.
    for actor, label in (("m0", "deliver msg=prepare from=coordinator tx=0 attempt=1"),
                         ("m0", "execute tx=1"),
                         ("m1", "deliver msg=prepare from=coordinator tx=0 attempt=1"),
                         ("m0", "deliver msg=pre-accept from=m1 tx=0 attempt=1"),
                         ("m1", "deliver msg=pre-accept from=m0 tx=0 attempt=1")):
        state = design.step(state, next(a for a in design.actions(state)
                                        if (a.actor, a.label()) == (actor, label)))
    assert design.is_terminal(state)
    report = check_history(from_outcome(design.outcome(state), workload), ["global-order"])
    assert [v.status for v in report.verdicts] == ["violated"]
    statuses: set[str] = set()
    for terminal in _terminal_states(TWO_PC, workload):
        report = check_history(from_outcome(TWO_PC.outcome(terminal), workload),
                               ["global-order"])
        statuses.update(v.status for v in report.verdicts)
    # Where the local transfer goes first, the cross-module one aborts and the history
    # touches one module only: the criterion does not apply.
    assert statuses == {"holds", "not-applicable"}


def _terminal_states(design: model.Design, workload: model.Workload) -> list[Any]:
    """Every terminal state of a small configuration, by plain search."""
    start = design.initial(model.Config(workload, 2))
    seen, stack, found = {model.fingerprint(start)}, [start], []
    while stack:
        state = stack.pop()
        if design.is_terminal(state):
            found.append(state)
            continue
        for action in design.actions(state):
            nxt = design.step(state, action)
            if model.fingerprint(nxt) not in seen:
                seen.add(model.fingerprint(nxt))
                stack.append(nxt)
    return found


def test_a_delivery_and_its_reply_read_as_removed_and_added() -> None:
    """Timelines show the message taken off the network and the reply put on it."""
    state = TWO_PC.initial(model.Config(model.build_workload("xtransfers:xtxs=1"), 2))
    action = TWO_PC.actions(state)[0]
    assert (action.actor, action.label()) == ("m0", "deliver msg=prepare from=coordinator "
                                                    "tx=0 attempt=1")
    lines = changes(state, TWO_PC.step(state, action))
    assert any(line.startswith("network.in_flight +") for line in lines), lines
    assert any(line.startswith("network.in_flight -") for line in lines), lines
    assert not any("in_flight[" in line for line in lines), lines
    assert any("T0 attempt 1, votes m0:accept, undecided" in line for line in lines), lines


def test_a_reshard_moves_the_receipt_in_flight_to_the_child() -> None:
    """Debit, split, deliver: the child applies the credit, once."""
    design = RECEIPTS
    state = design.initial(model.Config(
        model.build_workload("xtransfers:accounts=2,reshard=1"), 2))
    for label in ("debit tx=0", "reshard child=m2"):
        state = design.step(state, next(a for a in design.actions(state) if a.label() == label))
    (delivery,) = [a for a in design.actions(state) if a.name == "deliver"]
    assert delivery.actor == "m2"
    state = design.step(state, delivery)
    assert design.is_terminal(state)
    assert state.store.module_of("acct3") == "m2"
    assert state.store.get("acct3") == 5
    assert all(p.check(state) is None for p in design.properties())


def test_actions_are_deterministic_and_round_trip_through_json() -> None:
    """The same state gives the same actions, each surviving JSON exactly."""
    for design in DESIGNS.values():
        config = model.Config(model.build_workload(
            "xtransfers:xtxs=2,accounts=2,txs=1,dups=1,replays=1,reshard=1"), 2)
        state = design.initial(config)
        for _ in range(12):
            actions = design.actions(state)
            if not actions:
                break
            assert tuple(actions) == tuple(design.actions(state))
            for action in actions:
                assert model.Action.from_json(action.to_json()) == action
            state = design.step(state, actions[-1])


def _serial_law(outcome: model.Outcome, workload: model.Workload) -> None:
    """The committed transfers, run one at a time in the outcome's order, give the same
    reads and the same final store."""
    committed = {r.index: r for r in outcome.transactions if r.status == "committed"}
    store, writers = workload.initial, dict[str, int]()
    for index in outcome.order:
        if index not in committed:
            continue
        record, store = model.execute_transaction(workload.block[index], store, writers)
        assert record.status == "committed"
        assert sorted(record.reads, key=lambda r: r.key) == sorted(
            committed[index].reads, key=lambda r: r.key)
    assert store.values == outcome.store.values


@st.composite
def _workloads(draw: st.DrawFn, sends: int = 1) -> str:
    modules = draw(st.integers(2, 3))
    xtxs, txs = draw(st.integers(1, 3)), draw(st.integers(0, 2))
    return (f"xtransfers:modules={modules},accounts=2,xtxs={xtxs},txs={txs},"
            f"amount={draw(st.integers(1, 3))},balance={draw(st.integers(0, 4))},"
            f"sends={draw(st.integers(1, sends))}")


def _random_run(design: model.Design, spec: str, data: st.DataObject) -> Any:
    state = design.initial(model.Config(model.build_workload(spec), 2))
    for _ in range(200):
        if design.is_terminal(state):
            return state
        actions = design.actions(state)
        assert actions, "a fault-free run never deadlocks"
        state = design.step(state, data.draw(st.sampled_from(actions)))
        for prop in design.properties():
            if prop.kind == "state":
                assert prop.check(state) is None, prop.name
    raise AssertionError("a fault-free run ends within 200 steps")


@settings(max_examples=60, deadline=None)
@given(spec=_workloads(), data=st.data())
def test_on_random_fault_free_schedules_two_phase_commit_is_some_serial_order(
        spec: str, data: st.DataObject) -> None:
    """Atomicity and conservation hold throughout, and the committed outcome is the serial
    execution of the committed transfers in the order modules installed them."""
    state = _random_run(TWO_PC, spec, data)
    for prop in TWO_PC.properties():
        assert prop.check(state) is None, prop.name
    _serial_law(TWO_PC.outcome(state), model.build_workload(spec))


@settings(max_examples=60, deadline=None)
@given(spec=_workloads(sends=3), data=st.data())
def test_on_random_fault_free_schedules_receipts_conserve_and_apply_once(
        spec: str, data: st.DataObject) -> None:
    """Every property holds throughout and at the end; each account ends at its initial
    balance plus what the transfers that went through moved into and out of it."""
    state = _random_run(RECEIPTS, spec + ",reshard=1", data)
    for prop in RECEIPTS.properties():
        assert prop.check(state) is None, prop.name
    workload = model.build_workload(spec)
    outcome = RECEIPTS.outcome(state)
    expected = workload.initial.as_dict()
    for record in outcome.transactions:
        if record.status == "committed":
            program = workload.block[record.index].program
            src, dst = program[0].key, program[1].key  # type: ignore[union-attr]
            amount = record.reads[0].value - dict(record.writes)[src]
            expected[src] -= amount
            expected[dst] += amount
    assert outcome.store.as_dict() == expected


def test_a_workload_that_is_not_transfers_is_refused_in_one_line() -> None:
    """Counters are not transfers: exit 2 before the search, one line naming the kinds
    that fit and the design's default; a block of transfers none of which crosses modules
    is refused by initial() (model.WorkloadError), worded as the user's input, not as a
    design bug; and a transaction that is not a transfer is named."""
    line = assert_bad_input(invoke("explore", "two-phase-commit", "--workload",
                                   "counter:txs=2"),
                            "runs 'xtransfers' or 'transfers'", "not 'counter'",
                            "--workload xtransfers:")
    assert "raised" not in line
    line = assert_bad_input(invoke("explore", "receipts", "--workload", "transfers:txs=2"),
                            "no transfer", "crosses modules")
    assert "raised" not in line
    counter = model.Config(model.build_workload("counter:txs=2"), 2)
    with pytest.raises(XModuleError, match=r"runs transfer workloads.*transaction 0"):
        TWO_PC.initial(counter)
    with pytest.raises(XModuleError):
        RECEIPTS.initial(model.Config(model.build_workload("registry:txs=2"), 2))


@pytest.mark.parametrize(("spec", "message"), [
    ("xtransfers:xtxs=0", "leave the block empty"),
    ("xtransfers:modules=1", "needs modules=2"),
    ("xtransfers:txs=1", "set accounts=2"),
    ("xtransfers:reshard=1", "reshard splits m1"),
    ("xtransfers:reshard=2", "reshard must be between 0 and 1"),
    ("xtransfers:xtxs=8,txs=9,sends=4", "(xtxs + txs) * sends must be at most 64, got 68"),
    ("xtransfers:sends=0", "sends must be between 1 and 8"),
])
def test_a_bad_xtransfers_combination_is_one_line_and_exit_2(spec: str, message: str) -> None:
    """Each impossible combination says what to change."""
    assert_bad_input(invoke("explore", "receipts", "--workload", spec), message)


def test_the_cli_finds_the_replay_bug_and_prints_a_readable_timeline(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """explore exits 1 with the trace; replay shows modules, coordinator and messages (in
    a log 150 columns wide)."""
    monkeypatch.setenv("COLUMNS", "150")
    out = tmp_path / "unbound.trace.json"
    found = invoke("explore", "two-phase-commit:unbound-session", "--workload",
                   "xtransfers:xtxs=2", "--trace-out", str(out), "-q")
    assert found.exit_code == 1, found.output
    replayed = invoke("replay", str(out))
    assert replayed.exit_code == 1
    text = flat(replayed.output)
    for fragment in ("m0", "m1", "coordinator", "retry tx=1", "msg=pre-accept", "from=m1",
                     "network.in_flight +", "pre-abort",
                     "reproduced: violation of INV-ATOM at step 10"):
        assert fragment in text, fragment


def test_designs_lists_both_designs_and_their_mutants() -> None:
    """`shardcheck designs` names them, and `shardcheck workloads` the generator."""
    text = flat(invoke("designs").output)
    for name in ("two-phase-commit", "two-phase-commit:unbound-session",
                 "two-phase-commit:early-release", "receipts", "receipts:no-dedup",
                 "receipts:reshard-misroute"):
        assert name in text
    assert "xtransfers" in flat(invoke("workloads").output)


def test_a_sender_repeats_its_transfer_with_consecutive_nonces() -> None:
    """sends=3 gives each sender three transfers in a row; receipts numbers them 0, 1, 2."""
    workload = model.build_workload("xtransfers:xtxs=2,sends=3")
    assert len(workload.block) == 6
    assert [tx.index for tx in workload.block] == list(range(6))
    assert workload.block[0].program == workload.block[2].program
    state = RECEIPTS.initial(model.Config(workload, 2))
    assert state.spec.value.nonces == (0, 1, 2, 0, 1, 2)


def test_receipts_offer_each_senders_transfers_only_in_nonce_order() -> None:
    """Of acct0's three transfers only nonce 0 is enabled; once it goes, nonce 1 is."""
    workload = model.build_workload("xtransfers:xtxs=1,sends=3,balance=9")
    state = RECEIPTS.initial(model.Config(workload, 2))
    debits = [a for a in RECEIPTS.actions(state) if a.name == "debit"]
    assert [a.param("tx") for a in debits] == [0]
    state = RECEIPTS.step(state, debits[0])
    assert [a.param("tx") for a in RECEIPTS.actions(state) if a.name == "debit"] == [1]
    assert state.taken == (("acct0", (0,)),)


def test_dropped_nonces_break_sender_order_across_the_split_in_two_steps() -> None:
    """The split forgets acct1's nonce, the child takes its nonce 1 first: INV-ORD."""
    mutant = next(m for m in RECEIPTS.mutants() if m.name == "reshard-drops-nonces")
    assert mutant.known_failure is not None
    result = run(mutant.design, mutant.known_failure.workload)
    assert result.violation is not None
    assert [f"{s.action.actor} {s.action.label()}" for s in result.path] == [
        "m0 reshard child=m1", "m1 debit tx=3"]
    assert result.violation.message == (
        "acct1's transfer with nonce 1 (T3) went through while its nonce 0 was due")
