"""``shardcheck prove``: facts for every data value, decided by z3.

Three claims, each answered ``proved``, ``refuted`` (with a counterexample that the
concrete interpreter has re-run and confirmed before it is shown) or ``unknown`` (z3's
reason; never a pass):

- invariant preservation: from every pre-state satisfying the invariant, a transaction
  leaves a state satisfying it. Serializable executions of such transactions preserve
  the invariant, which is why it is worth proving per transaction.
- commutativity: two transactions, run in either order from any store, leave the same
  final store and every read observes the same value.
- quorum intersection: any two quorums of a stake-weighted validator set share a
  validator that is not faulty.

Pre-states range over the keys the workload names (its programs and its initial store),
each present with any integer value or absent. z3 is reached through
``shardcheck.checker.prove.solver`` only, imported when a claim is decided so the CLI starts fast.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Literal

import attrs

from shardcheck import model
from shardcheck.checker.errors import BadInput, InternalError
from shardcheck.checker.prove.formulas import (
    Invariant,
    check_atoms,
    conserved_sum,
    nonnegative,
    parse_formula,
)

if TYPE_CHECKING:
    from shardcheck.checker.prove.solver import SolverStatus

Verdict = Literal["proved", "refuted", "unknown"]
DEFAULT_TIMEOUT = 10.0


def _as_lines(value: Sequence[str]) -> tuple[str, ...]:
    return tuple(value)


@attrs.frozen
class ProofResult:
    """The answer to one claim."""

    claim: str
    verdict: Verdict
    reason: str = ""
    """Why the answer is unknown."""
    counterexample: tuple[str, ...] = attrs.field(default=(), converter=_as_lines)
    """When refuted: the counterexample, one readable line each."""
    rerun: str = ""
    """When refuted: a command that re-runs the counterexample concretely."""

    def to_json(self) -> dict[str, object]:
        """The result as a JSON-ready dict."""
        return {"claim": self.claim, "verdict": self.verdict, "reason": self.reason,
                "counterexample": list(self.counterexample), "rerun": self.rerun}


def _verdict(status: SolverStatus) -> Verdict:
    # The solver is asked for a counterexample: unsat is the proof.
    verdicts: dict[str, Verdict] = {"sat": "refuted", "unsat": "proved", "unknown": "unknown"}
    return verdicts[status]


def _universe(workload: model.Workload) -> tuple[str, ...]:
    return model.block_keys(workload.block, tuple(workload.initial.as_dict()))


def select_transactions(workload: model.Workload,
                        refs: Sequence[str]) -> tuple[model.Transaction, ...]:
    """The transactions ``refs`` name (index or exact label); every one when ``refs`` is empty."""
    if not refs:
        return workload.block
    chosen = []
    for ref in refs:
        found = [tx for tx in workload.block if str(tx.index) == ref.strip() or tx.label == ref]
        if not found:
            known = "; ".join(f"{tx.index}: {tx.label}" for tx in workload.block)
            raise BadInput(f"no transaction {ref!r} in workload {workload.spec} "
                           f"(give an index or a label: {known})")
        chosen.append(found[0])
    return tuple(chosen)


def _store_text(state: tuple[tuple[str, int | None], ...]) -> str:
    return ", ".join(f"{k} = {v}" if v is not None else f"{k} absent" for k, v in state)


def _store_of(state: tuple[tuple[str, int | None], ...]) -> model.Store:
    return model.Store({k: v for k, v in state if v is not None})


def _rerun(spec: str, state: tuple[tuple[str, int | None], ...],
           indexes: Sequence[int]) -> str:
    values = json.dumps({k: v for k, v in state if v is not None}, sort_keys=True)
    runs = "; ".join(
        f"r, s = model.execute_transaction(w.block[{i}], s, {{}}); print(r); print(s.as_dict())"
        for i in indexes)
    return (f"python -c 'from shardcheck import model; w = model.build_workload(\"{spec}\"); "
            f"s = model.Store({values}); {runs}'")


def _record_text(tx: model.Transaction, record: model.TxRecord) -> str:
    reads = ", ".join(f"{'' if r.kind == 'read' else r.kind + ' '}{r.key} = {r.value}"
                      for r in record.reads) or "nothing"
    writes = ", ".join(f"{k} := {v}" for k, v in record.writes) or "nothing"
    return f"T{tx.index} ({tx.label}) {record.status}; read {reads}; wrote {writes}"


# --- invariant preservation -----------------------------------------------------------

def build_invariant(workload: model.Workload, conserves: str | None, nonnegative_prefix: str | None,
                    expression: str | None) -> Invariant:
    """The invariant exactly one of the three options describes, checked against the workload."""
    given = [x for x in (conserves, nonnegative_prefix, expression) if x is not None]
    if len(given) != 1:
        raise BadInput("give exactly one of --conserves PREFIX, --nonnegative PREFIX or "
                       "--invariant EXPR")
    keys = _universe(workload)
    if conserves is not None:
        invariant = Invariant("unchanged", conserved_sum(conserves),
                              f"sum({conserves!r}) is conserved")
    elif nonnegative_prefix is not None:
        if not any(k.startswith(nonnegative_prefix) for k in keys):
            raise BadInput(f"no key of workload {workload.spec} starts with "
                           f"{nonnegative_prefix!r} (keys: {', '.join(keys)})")
        formula = nonnegative(nonnegative_prefix, keys)
        invariant = Invariant("holds", formula, formula.text)
    else:
        assert expression is not None
        formula = parse_formula(expression)
        invariant = Invariant("holds", formula, f"{formula.text} holds")
    check_atoms(invariant.formula, keys, workload.spec)
    return invariant


def prove_invariant(workload: model.Workload, transactions: Sequence[model.Transaction],
                    invariant: Invariant, timeout_s: float = DEFAULT_TIMEOUT
                    ) -> tuple[ProofResult, ...]:
    """For each transaction: does it preserve ``invariant`` from every pre-state?"""
    from shardcheck.checker.prove.solver import refute_invariant

    keys = _universe(workload)
    results = []
    for tx in transactions:
        claim = f"T{tx.index} ({tx.label}) preserves: {invariant.description}"
        answer = refute_invariant(tx.program, keys, invariant, timeout_s)
        if answer.status != "sat":
            results.append(ProofResult(claim, _verdict(answer.status), answer.reason))
            continue
        store = _store_of(answer.state)
        record, after = model.execute_transaction(tx, store, {})
        before_value = invariant.formula.value_in(store)
        after_value = invariant.formula.value_in(after)
        broken = (before_value != after_value if invariant.kind == "unchanged"
                  else before_value != 0 and after_value == 0)
        if not broken:
            raise InternalError(f"z3's counterexample to {claim!r} does not replay: "
                                f"{_store_text(answer.state)}")
        lines = [f"initial store: {_store_text(answer.state)}",
                 _record_text(tx, record),
                 f"{invariant.formula.text}: {before_value} before, {after_value} after"]
        results.append(ProofResult(claim, "refuted", counterexample=lines,
                                   rerun=_rerun(workload.spec, answer.state, [tx.index])))
    return tuple(results)


# --- commutativity --------------------------------------------------------------------

def _run_in_order(store: model.Store, txs: Sequence[model.Transaction]
                  ) -> tuple[dict[int, model.TxRecord], model.Store]:
    records = {}
    for tx in txs:
        records[tx.index], store = model.execute_transaction(tx, store, {})
    return records, store


def _observed(record: model.TxRecord) -> tuple[tuple[str, str, int], ...]:
    # Which writer a read came from necessarily differs between the orders; the values not.
    return tuple((r.kind, r.key, r.value) for r in record.reads)


def prove_commute(workload: model.Workload, first: model.Transaction,
                  second: model.Transaction, timeout_s: float = DEFAULT_TIMEOUT) -> ProofResult:
    """Do ``first`` and ``second`` commute from every store?"""
    from shardcheck.checker.prove.solver import refute_commutativity

    claim = f"T{first.index} ({first.label}) and T{second.index} ({second.label}) commute"
    answer = refute_commutativity(first.program, second.program, _universe(workload), timeout_s)
    if answer.status != "sat":
        return ProofResult(claim, _verdict(answer.status), answer.reason)
    store = _store_of(answer.state)
    one, after_one = _run_in_order(store, [first, second])
    other, after_other = _run_in_order(store, [second, first])
    differences = []
    for key in sorted(set(after_one.as_dict()) | set(after_other.as_dict())):
        a, b = after_one.get(key), after_other.get(key)
        if a != b:
            differences.append(f"final {key}: {'absent' if a is None else a} vs "
                               f"{'absent' if b is None else b}")
    for tx in (first, second):
        if _observed(one[tx.index]) != _observed(other[tx.index]):
            differences.append(f"T{tx.index} reads differ")
    if not differences:
        raise InternalError(f"z3's counterexample to {claim!r} does not replay: "
                            f"{_store_text(answer.state)}")
    lines = [f"initial store: {_store_text(answer.state)}",
             f"order T{first.index}, T{second.index}:",
             *(f"  {_record_text(tx, one[tx.index])}" for tx in (first, second)),
             f"  final store: {_store_text(tuple(after_one.values))}",
             f"order T{second.index}, T{first.index}:",
             *(f"  {_record_text(tx, other[tx.index])}" for tx in (second, first)),
             f"  final store: {_store_text(tuple(after_other.values))}",
             "differs in: " + "; ".join(differences)]
    return ProofResult(claim, "refuted", counterexample=lines,
                       rerun=_rerun(workload.spec, answer.state, [first.index, second.index]))


# --- quorum intersection --------------------------------------------------------------

@attrs.frozen
class QuorumConfig:
    """A validator set and its thresholds, validated at construction."""

    stakes: tuple[int, ...]
    threshold: Fraction
    strict: bool
    """True: a quorum has stake > threshold x total; False: >=."""
    max_faulty: int | None = None
    """Faults by count: any set of at most this many validators."""
    max_faulty_stake: Fraction | None = None
    """Faults by stake: any set with stake at most this fraction of the total."""

    def describe(self) -> str:
        """The claim in words."""
        relation = ">" if self.strict else ">="
        faults = (f"at most {self.max_faulty} faulty validator(s)"
                  if self.max_faulty_stake is None
                  else f"faulty stake at most {self.max_faulty_stake} of the total")
        return (f"any two quorums (stake {relation} {self.threshold} of "
                f"{sum(self.stakes)}) of stakes {','.join(map(str, self.stakes))} "
                f"share an honest validator, with {faults}")


def parse_fraction(text: str, what: str) -> Fraction:
    """``2/3`` or ``0.5`` as an exact fraction in (0, 1]; BadInput otherwise."""
    try:
        value = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise BadInput(f"{what} {text!r} is not a fraction such as 2/3") from None
    if not 0 < value <= 1:
        raise BadInput(f"{what} {text!r} must be above 0 and at most 1")
    return value


def quorum_config(stakes: str, quorum: str, faults: int | None,
                  faulty_stake: str | None) -> QuorumConfig:
    """Parse the quorum options: ``--stakes 1,1,1,1 --quorum 2/3 --faults 1``."""
    try:
        values = tuple(int(s) for s in stakes.split(","))
    except ValueError:
        raise BadInput(f"stakes {stakes!r} must be positive integers separated by commas"
                       ) from None
    if not values or any(v <= 0 for v in values):
        raise BadInput(f"stakes {stakes!r} must be positive integers separated by commas")
    text = quorum.strip()
    strict = text.startswith(">") and not text.startswith(">=")
    threshold = parse_fraction(text.lstrip(">="), "quorum")
    if faults is not None and faulty_stake is not None:
        raise BadInput("give --faults N or --faulty-stake FRACTION, not both")
    if faults is not None and not 0 <= faults <= len(values):
        raise BadInput(f"--faults {faults} must be between 0 and {len(values)} validators")
    stake_bound = None if faulty_stake is None else parse_fraction(faulty_stake, "faulty stake")
    if stake_bound is None:
        return QuorumConfig(values, threshold, strict, faults or 0)
    return QuorumConfig(values, threshold, strict, None, stake_bound)

def prove_quorum(config: QuorumConfig, timeout_s: float = DEFAULT_TIMEOUT) -> ProofResult:
    """Do any two quorums of ``config`` share a validator that is not faulty?"""
    from shardcheck.checker.prove.solver import refute_quorum_intersection

    stake_bound = (None if config.max_faulty_stake is None else
                   (config.max_faulty_stake.numerator, config.max_faulty_stake.denominator))
    answer = refute_quorum_intersection(
        config.stakes, (config.threshold.numerator, config.threshold.denominator),
        config.strict, config.max_faulty, stake_bound, timeout_s)
    claim = config.describe()
    if answer.status != "sat":
        return ProofResult(claim, _verdict(answer.status), answer.reason)
    total = sum(config.stakes)

    def group(members: tuple[int, ...]) -> str:
        if not members:
            return "none"
        stake = sum(config.stakes[i] for i in members)
        names = ", ".join(f"v{i}" for i in members)
        return f"{{{names}}} with stake {stake} of {total}"

    shared = sorted(set(answer.first) & set(answer.second))
    if set(shared) - set(answer.faulty):
        raise InternalError(f"z3's counterexample to {claim!r} does not check out")
    lines = [f"quorum A: {group(answer.first)}", f"quorum B: {group(answer.second)}",
             f"faulty: {group(answer.faulty)}",
             "shared: " + (", ".join(f"v{i} (faulty)" for i in shared) or "no validator")]
    return ProofResult(claim, "refuted", counterexample=lines)
