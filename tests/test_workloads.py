"""Workload specs: parsed strictly, generated deterministically."""

from __future__ import annotations

from pathlib import Path

import pytest

from shardcheck import model


def test_a_spec_is_completed_with_every_default() -> None:
    """The canonical spec spells out every parameter, so a trace names one block."""
    workload = model.build_workload("transfers:txs=4,accounts=2")
    assert workload.spec == "transfers:txs=4,accounts=2,amount=2,balance=3,seed=0,modules=1"
    assert len(workload.block) == 4
    assert workload.initial.as_dict() == {"acct0": 3, "acct1": 3}


def test_the_same_seed_gives_the_same_block_and_another_seed_another() -> None:
    """Generation is a pure function of the spec."""
    a = model.build_workload("transfers:txs=6,accounts=4,seed=7")
    b = model.build_workload("transfers:txs=6,accounts=4,seed=7")
    c = model.build_workload("transfers:txs=6,accounts=4,seed=8")
    assert a == b
    assert a.block != c.block


def test_modules_own_keys_round_robin_and_have_their_own_roots() -> None:
    """Keys are partitioned over modules, each with a state root."""
    workload = model.build_workload("counter:txs=2,keys=4,modules=2")
    store = workload.initial
    assert [store.module_of(f"ctr{k}") for k in range(4)] == ["m0", "m1", "m0", "m1"]
    roots = dict(store.state_roots())
    assert set(roots) == {"m0", "m1"} and roots["m0"] != roots["m1"]


def test_transfers_revert_serially_when_funds_run_out() -> None:
    """The default transfers workload exercises reverts."""
    outcome = model.execute_serially(model.build_workload("transfers:txs=4,accounts=2"))
    assert {t.status for t in outcome.transactions} == {"committed", "reverted"}


@pytest.mark.parametrize(("spec", "message"), [
    ("transfer:txs=2", "did you mean 'transfers'"),
    ("counter:tx=2", "has no parameter 'tx'"),
    ("counter:txs=two", "must be an integer"),
    ("counter:txs=0", "between 1 and 64"),
    ("counter:txs", "expected key=value"),
    ("condwrite:mode=sideways", "must be one of appear, vanish"),
])
def test_a_malformed_spec_says_what_is_wrong(spec: str, message: str) -> None:
    """Every malformed spec gets a message naming the problem."""
    with pytest.raises(model.WorkloadError, match=message):
        model.build_workload(spec)


def test_initial_values_can_be_set_after_an_at_sign() -> None:
    """`@KEY=VALUE` sets the initial store, `KEY=absent` removes a key, and the canonical
    spec carries them sorted, so building it again gives the same workload."""
    workload = model.build_workload("transfers:txs=2@acct1=absent,acct0=1")
    assert workload.initial.as_dict() == {"acct0": 1, "acct2": 3}
    assert workload.spec.endswith("@acct0=1,acct1=absent")
    again = model.build_workload(workload.spec)
    assert again == workload
    plain = model.build_workload("transfers:txs=2")
    assert plain.block == workload.block and "@" not in plain.spec


def test_initial_values_change_what_serial_execution_does() -> None:
    """A sender short of the amount makes its transfer revert serially."""
    rich = model.execute_serially(model.build_workload("transfers:txs=1,accounts=2"))
    # Seed 0 draws a transfer from acct1 to acct0.
    poor = model.execute_serially(model.build_workload("transfers:txs=1,accounts=2@acct1=1"))
    assert [t.status for t in rich.transactions] == ["committed"]
    assert [t.status for t in poor.transactions] == ["reverted"]


@pytest.mark.parametrize(("spec", "message"), [
    ("transfers:txs=2@acct9=1", "never touches key 'acct9'; did you mean"),
    ("transfers:txs=2@acct0=x", "must be an integer or 'absent'"),
    ("transfers:txs=2@acct0", "expected KEY=VALUE"),
    ("transfers:txs=2@acct0=1,acct0=2", "set twice"),
])
def test_a_malformed_initial_value_says_what_is_wrong(spec: str, message: str) -> None:
    """Each mistake after '@' is named."""
    with pytest.raises(model.WorkloadError, match=message):
        model.build_workload(spec)


def test_a_trace_of_a_workload_with_initial_values_replays(tmp_path: Path) -> None:
    """The values after '@' travel in the trace's spec, so replay rebuilds the same run."""
    from .cli_helpers import flat, invoke

    trace = tmp_path / "t.json"
    found = invoke("explore", "block-stm:read-own-entries", "-w", "counter:txs=2,keys=1@ctr0=7",
                   "-q", "--no-timeline", "--trace-out", str(trace))
    assert found.exit_code == 1, found.output
    assert "counter:txs=2,keys=1,modules=1@ctr0=7" in trace.read_text()
    replayed = invoke("replay", str(trace), "--no-timeline")
    assert "reproduced" in flat(replayed.output) and "ctr0 = 8" in flat(replayed.output)


def test_initial_values_decide_whether_a_mutant_shows() -> None:
    """exists-unrecorded loses a registration when the name starts free; with the name
    already taken both registrations revert and every schedule agrees with serial."""
    from shardcheck.checker.design.resolve import resolve_design
    from shardcheck.checker.search.explorer import explore

    design, _ = resolve_design("block-stm:exists-unrecorded")
    free = explore(design, model.Config(model.build_workload("registry:txs=2"), 2))
    taken = explore(design, model.Config(model.build_workload("registry:txs=2@name0=5"), 2))
    assert free.verdict == "violation"
    assert taken.verdict == "pass"
