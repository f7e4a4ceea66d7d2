"""The z3 meaning of the transaction language agrees with the concrete interpreter."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shardcheck import model
from shardcheck.checker.prove.solver import meaning_at
from shardcheck.model.language import (
    BinOp,
    Const,
    Let,
    Not,
    Scan,
    Stmt,
    Transaction,
    Var,
    Write,
    deliver,
    pending_read,
    start,
)
from shardcheck.model.reference import observe

from .test_language import KEYS, programs


@st.composite
def programs_with_scans(draw: st.DrawFn) -> tuple[Stmt, ...]:
    """The language tests' random programs, with a scan, a negation and every comparison
    mixed in so each statement kind and operator meets the symbolic meaning."""
    # Half the time no random program around the arithmetic below: random requires
    # revert most programs, and a reverted program's writes say nothing.
    stmts = list(draw(st.one_of(programs(), st.just(()))))
    if draw(st.booleans()):
        at = draw(st.integers(0, len(stmts)))
        prefix = draw(st.sampled_from(["", "a", "b"]))
        stmts[at:at] = [Scan("total", prefix), Write(draw(st.sampled_from(KEYS)), Var("total"))]
    # Arithmetic on a value read from the store, so negative dividends and divisors
    # of every sign meet floor division and modulo.
    op = draw(st.sampled_from(["//", "%", "//", "%", "!=", "<=", ">"]))
    stmts[0:0] = [model.Read("r", draw(st.sampled_from(KEYS))),
                  model.Read("d", draw(st.sampled_from(KEYS)))]
    right = draw(st.sampled_from([Var("d"), *(Const(c) for c in range(-3, 4))]))
    stmts.append(Let("n", Not(BinOp(op, Var("r"), right))))
    stmts.append(Write("c", BinOp(op, Var("r"), right)))
    return tuple(stmts)


def concrete(program: tuple[Stmt, ...], values: dict[str, int]) -> tuple[
        bool, tuple[tuple[int, int], ...], tuple[tuple[str, int], ...]]:
    """Status, the value each read that reached storage bound, and the effective writes."""
    store = model.Store(values)
    frame = start(program)
    reads = []
    while (stmt := pending_read(program, frame)) is not None:
        pc = frame.pc
        result, _ = observe(stmt, store, {})
        frame = deliver(program, frame, result)
        reads.append((pc, dict(frame.env)[stmt.var]))
    record, _ = model.execute_transaction(Transaction(0, "t", program), store, {})
    return record.status == "committed", tuple(reads), record.writes


@settings(max_examples=300)
@given(programs_with_scans(), st.dictionaries(st.sampled_from(KEYS), st.integers(-20, 20)))
def test_the_symbolic_meaning_evaluated_at_a_store_is_the_concrete_run(
        program: tuple[Stmt, ...], values: dict[str, int]) -> None:
    """Status, every read's value and the final writes agree, negative division included."""
    meaning = meaning_at(program, values)
    committed, reads, writes = concrete(program, values)
    assert meaning.committed == committed
    assert meaning.reads == reads
    assert meaning.writes == writes


def test_floor_division_by_a_negative_divisor_is_pythons_not_z3s() -> None:
    """z3's div and mod are Euclidean; 7 // -2 must still be -4 and 7 % -2 must be -1."""
    program = (model.Read("x", "a"),
               Write("q", BinOp("//", Var("x"), Const(-2))),
               Write("r", BinOp("%", Var("x"), Const(-2))),
               Write("z", BinOp("//", Var("x"), Const(0))))
    assert dict(meaning_at(program, {"a": 7}).writes) == {"q": -4, "r": -1, "z": 0}
