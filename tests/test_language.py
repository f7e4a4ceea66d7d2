"""The transaction language: its meaning, checked against a direct evaluator."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shardcheck import model
from shardcheck.model.language import (
    BinOp,
    Const,
    Exists,
    Let,
    Read,
    Require,
    Scan,
    Status,
    Stmt,
    Transaction,
    Var,
    Write,
    WriteIf,
    deliver,
    evaluate,
    pending_read,
    start,
)
from shardcheck.model.reference import execute_transaction


def test_a_transfer_without_funds_reverts_and_writes_nothing() -> None:
    """A failed require reverts: no writes at all, as on a real chain."""
    workload = model.build_workload("transfers:txs=1,accounts=2,balance=1,amount=2")
    record, store = execute_transaction(workload.block[0], workload.initial, {})
    assert record.status == "reverted"
    assert record.writes == ()
    assert store == workload.initial


def test_a_read_of_an_own_write_never_reaches_the_scheduler() -> None:
    """After writing k, reading k is served from the execution's own buffer."""
    program = (Write("k", Const(7)), Read("x", "k"), Write("out", Var("x")))
    frame = start(program)
    assert frame.status is Status.COMMITTED
    assert dict(frame.writes) == {"k": 7, "out": 7}


def test_division_by_zero_gives_zero_and_division_floors() -> None:
    """Integer division and modulo floor, and give 0 on a zero divisor (as the EVM)."""
    assert evaluate(BinOp("//", Const(7), Const(0)), {}) == 0
    assert evaluate(BinOp("%", Const(7), Const(0)), {}) == 0
    assert evaluate(BinOp("//", Const(-7), Const(2)), {}) == -4


def test_a_scan_sees_its_own_writes_over_the_stores_values() -> None:
    """A scan's result is the scheduler's view with the execution's writes laid over it."""
    program = (Write("p/a", Const(5)), Scan("s", "p/"), Write("total", Var("s")))
    frame = start(program)
    frame = deliver(program, frame, (("p/a", 1), ("p/b", 2)))
    assert dict(frame.writes)["total"] == 7


def test_exists_tells_an_absent_key_from_a_zero() -> None:
    """A present key holding 0 exists; an absent key reads 0 but does not."""
    program = (Exists("e", "k"), Read("v", "k"), Write("out", BinOp("+", Var("e"), Var("v"))))
    store = model.Store({"k": 0})
    record, _ = execute_transaction(Transaction(0, "t", program), store, {})
    assert dict(record.writes) == {"out": 1}
    record, _ = execute_transaction(Transaction(0, "t", program), model.Store(), {})
    assert dict(record.writes) == {"out": 0}


KEYS = ("a", "b", "c")
OPS = ("+", "-", "*", "//", "%", "min", "max", "==", "<", ">=", "and", "or")


@st.composite
def programs(draw: st.DrawFn) -> tuple[Stmt, ...]:
    """Random straight-line programs over three keys; variables are bound before use."""
    bound: list[str] = []
    stmts: list[Stmt] = []
    for i in range(draw(st.integers(1, 7))):
        def expr() -> BinOp | Const | Var:
            leaves = [Const(draw(st.integers(-3, 3)))] + [Var(v) for v in bound]
            left, right = draw(st.sampled_from(leaves)), draw(st.sampled_from(leaves))
            return BinOp(draw(st.sampled_from(OPS)), left, right)
        kind = draw(st.sampled_from(["read", "exists", "let", "write", "writeif", "require"]))
        key = draw(st.sampled_from(KEYS))
        if kind in ("read", "exists") or not bound:
            var = f"v{i}"
            stmts.append(Read(var, key) if kind != "exists" else Exists(var, key))
            bound.append(var)
        elif kind == "let":
            stmts.append(Let(f"v{i}", expr()))
            bound.append(f"v{i}")
        elif kind == "write":
            stmts.append(Write(key, expr()))
        elif kind == "writeif":
            stmts.append(WriteIf(expr(), key, expr()))
        else:
            stmts.append(Require(BinOp(">=", Var(bound[-1]), Const(-2))))
    return tuple(stmts)


def direct(program: tuple[Stmt, ...], store: dict[str, int]) -> tuple[str, dict[str, int]]:
    """An independent, all-at-once evaluator to hold the step-wise interpreter against."""
    env: dict[str, int] = {}
    writes: dict[str, int] = {}
    for stmt in program:
        if isinstance(stmt, Read):
            env[stmt.var] = writes.get(stmt.key, store.get(stmt.key, 0))
        elif isinstance(stmt, Exists):
            env[stmt.var] = int(stmt.key in writes or stmt.key in store)
        elif isinstance(stmt, Let):
            env[stmt.var] = evaluate(stmt.expr, env)
        elif isinstance(stmt, Require):
            if not evaluate(stmt.cond, env):
                return "reverted", {}
        elif isinstance(stmt, Write) or (isinstance(stmt, WriteIf) and evaluate(stmt.cond, env)):
            writes[stmt.key] = evaluate(stmt.expr, env)
    return "committed", writes


@given(programs(), st.dictionaries(st.sampled_from(KEYS), st.integers(-3, 3)))
def test_the_step_wise_interpreter_agrees_with_direct_evaluation(
    program: tuple[Stmt, ...], values: dict[str, int]
) -> None:
    """Running a program read by read gives what evaluating it all at once gives."""
    store = model.Store(values)
    frame = start(program)
    while (stmt := pending_read(program, frame)) is not None:
        assert not isinstance(stmt, Scan)
        frame = deliver(program, frame, store.get(stmt.key))
    status, writes = direct(program, values)
    assert frame.status.value == status
    if status == "committed":
        assert dict(frame.writes) == writes
