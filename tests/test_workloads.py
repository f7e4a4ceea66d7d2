"""Workload specs: parsed strictly, generated deterministically."""

from __future__ import annotations

import pytest

import model


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
