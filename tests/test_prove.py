"""`shardcheck prove`: each claim kind with a known answer, bad claims, and unknown."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shardcheck.checker.prove import solver
from shardcheck.checker.prove.solver import StateAnswer

from .cli_helpers import assert_bad_input, invoke


def test_every_transfer_conserves_the_sum_of_balances() -> None:
    """Each of the four default transfers is proved to conserve sum(acct*)."""
    result = invoke("prove", "invariant", "-w", "transfers:txs=4", "--conserves", "acct")
    assert result.exit_code == 0, result.output
    assert result.output.count("✓ proved") == 4


def test_a_mint_does_not_conserve_and_the_counterexample_is_shown() -> None:
    """A deposit from nowhere (audit's T0) raises sum(acct/*): refuted, with the state."""
    result = invoke("prove", "invariant", "-w", "audit:txs=1", "--conserves", "acct/")
    assert result.exit_code == 1, result.output
    assert "✗ refuted" in result.output
    assert "sum('acct/'): 0 before, 1 after" in result.output
    assert "re-run: python -c" in result.output


def test_a_transfer_keeps_balances_nonnegative_and_an_expression_can_fail() -> None:
    """The require guards non-negativity; a bound the transfer can cross is refuted."""
    ok = invoke("prove", "invariant", "-w", "transfers:txs=1", "--nonnegative", "acct")
    assert ok.exit_code == 0, ok.output
    bad = invoke("prove", "invariant", "-w", "transfers:txs=1", "--tx", "0",
                 "--invariant", "acct1 <= 10", "--format", "json")
    assert bad.exit_code == 1
    (doc,) = json.loads(bad.output)["results"]
    assert doc["verdict"] == "refuted"


def test_transfers_between_disjoint_accounts_commute() -> None:
    """acct1->acct2 and acct0->acct3 touch different keys: proved for every store."""
    result = invoke("prove", "commute", "-w", "transfers:txs=2,accounts=4", "0", "1")
    assert result.exit_code == 0, result.output
    assert "✓ proved" in result.output


def test_two_withdrawals_from_one_account_near_its_balance_do_not_commute() -> None:
    """With acct0 holding enough for only one, whichever runs first is the one that pays."""
    result = invoke("prove", "commute", "-w", "transfers:txs=4", "1", "2", "--format", "json")
    assert result.exit_code == 1
    (doc,) = json.loads(result.output)["results"]
    assert doc["verdict"] == "refuted"
    assert any("reverted" in line for line in doc["counterexample"])


def test_equal_stake_two_thirds_quorums_intersect_honestly_with_one_fault() -> None:
    """n = 4, f = 1, quorums of at least 2/3: any two share an honest validator."""
    result = invoke("prove", "quorum", "--stakes", "1,1,1,1", "--quorum", "2/3", "--faults", "1")
    assert result.exit_code == 0, result.output


def test_a_one_half_threshold_lets_two_quorums_miss_each_other() -> None:
    """Quorums of at least half of four validators can be disjoint: refuted."""
    result = invoke("prove", "quorum", "--stakes", "1,1,1,1", "--quorum", "1/2", "--faults", "1")
    assert result.exit_code == 1
    assert "shared: no validator" in result.output


def test_a_strict_majority_of_four_still_intersects_honestly_with_one_fault() -> None:
    """More than half of four is three: two such quorums share two, one of them honest."""
    result = invoke("prove", "quorum", "--stakes", "1,1,1,1", "--quorum", ">1/2", "--faults", "1")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("args", "fragment"), [
    (("invariant", "-w", "transfers:txs=2", "--invariant", "acct9 >= 0"), "unknown key 'acct9'"),
    (("invariant", "-w", "transfers:txs=2", "--invariant", "acct0 >="), "does not parse"),
    (("invariant", "-w", "transfers:txs=2", "--invariant", "open('x')"), "unknown function"),
    (("invariant", "-w", "transfers:txs=2", "--conserves", "bal"), "starts with 'bal'"),
    (("invariant", "-w", "transfers:txs=2", "--tx", "7", "--conserves", "acct"),
     "no transaction '7'"),
    (("commute", "-w", "transfers:txs=2", "0", "send"), "no transaction 'send'"),
    (("quorum", "--stakes", "1,0,1"), "must be positive integers"),
    (("quorum", "--stakes", "1,-2"), "must be positive integers"),
    (("quorum", "--stakes", "1,1", "--quorum", "3/2"), "at most 1"),
], ids=["unknown-key", "no-parse", "unsafe-call", "no-prefix", "no-tx", "no-tx-label",
        "zero-stake", "negative-stake", "threshold"])
def test_a_malformed_claim_is_one_line_and_exit_2(args: tuple[str, ...], fragment: str) -> None:
    """Unknown keys and transactions, unparsable invariants, bad stakes: one line, exit 2."""
    assert_bad_input(invoke("prove", *args), fragment)


def test_z3_unknown_is_exit_3_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    """When z3 gives up the answer is unknown, exit 3: never a pass."""
    monkeypatch.setattr(solver, "refute_invariant",
                        lambda *_args: StateAnswer("unknown", reason="timeout"))
    result = invoke("prove", "invariant", "-w", "transfers:txs=1", "--conserves", "acct")
    assert result.exit_code == 3
    assert "? unknown" in result.output and "(timeout)" in result.output


def test_a_hard_nonlinear_claim_with_a_tiny_timeout_is_unknown_not_proved() -> None:
    """x*x*x + y*y*y == z*z*z style questions are NIA; a 1 ms budget cannot settle them."""
    result = invoke("prove", "invariant", "-w", "transfers:txs=1", "--timeout", "0.001",
                    "--invariant", "acct0*acct0*acct0 + acct1*acct1*acct1 != acct2*acct2*acct2"
                    " or acct0 == 0")
    assert result.exit_code in (1, 3), result.output
    assert "✓ proved" not in result.output


def test_the_same_claim_gives_the_same_counterexample() -> None:
    """Determinism: z3's seed is fixed, so a refutation prints the same text twice."""
    args = ("prove", "commute", "-w", "transfers:txs=4")
    assert invoke(*args).output == invoke(*args).output


@pytest.mark.parametrize(("n", "faults", "expected"), [
    (64, 21, 0), (64, 22, 1), (100, 33, 0), (100, 34, 1)])
def test_large_equal_stake_validator_sets_are_decided(n: int, faults: int,
                                                     expected: int) -> None:
    """With equal stakes 3f + 1 <= n holds honestly and one more fault breaks it: decided
    for 64 and 100 validators (the linear relaxation proves, opposite-end quorums refute),
    where the integer search alone ran out of time."""
    stakes = ",".join(["1"] * n)
    result = invoke("prove", "quorum", "--stakes", stakes, "--quorum", ">2/3",
                    "--faults", str(faults), "--timeout", "20")
    assert result.exit_code == expected, result.output


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=1, max_size=5), st.integers(1, 3),
       st.integers(2, 4), st.booleans(), st.integers(0, 2))
def test_quorum_answers_agree_with_trying_every_pair(stakes: list[int], num: int, den: int,
                                                     strict: bool, faults: int) -> None:
    """The shortcut, the relaxation and the integer search together give brute force's
    answer: is there a pair of quorums whose common validators can all be faulty?"""
    from itertools import combinations

    total = sum(stakes)

    def quorum(members: tuple[int, ...]) -> bool:
        weight = sum(stakes[i] for i in members)
        return weight * den > num * total if strict else weight * den >= num * total

    sets = [c for r in range(len(stakes) + 1) for c in combinations(range(len(stakes)), r)
            if quorum(c)]
    expected = any(len(set(a) & set(b)) <= faults for a in sets for b in sets)
    answer = solver.refute_quorum_intersection(stakes, (num, den), strict, faults,
                                                       None, timeout_s=20)
    assert answer.status == ("sat" if expected else "unsat")
    if answer.status == "sat":
        assert quorum(answer.first) and quorum(answer.second)
        assert set(answer.first) & set(answer.second) <= set(answer.faulty)
        assert len(answer.faulty) <= faults
