"""The transaction language and its step-wise concrete interpreter.

A transaction is a short straight-line program. Reads are the only statements that
touch shared state, so they are the points where a scheduler interleaves; everything
else (arithmetic, ``require``, buffering writes) is local computation that folds into
the next read or into the end of the program, as a VM's local work does.

Three read kinds exist because real schedulers record them differently: ``read`` (the
value), ``exists`` (whether the key is present: a second path into storage, like
EVM's EXTCODESIZE, that a port can forget to record) and ``scan`` (the sum over every
present key with a prefix: a range read, whose validation must catch both inserted
keys and changed values).

Semantics a symbolic encoding must match: an absent key reads as 0; integer division
and modulo floor toward negative infinity and give 0 on a zero divisor (as the EVM);
comparisons and boolean operators give 1 or 0; any non-zero value is true. A failed
``require`` reverts the transaction: it writes nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Literal

import attrs

BinaryOperator = Literal[
    "+", "-", "*", "//", "%", "min", "max", "==", "!=", "<", "<=", ">", ">=", "and", "or"
]
BINARY_OPERATORS: tuple[str, ...] = (
    "+", "-", "*", "//", "%", "min", "max", "==", "!=", "<", "<=", ">", ">=", "and", "or"
)


@attrs.frozen
class Const:
    """An integer literal."""

    value: int


@attrs.frozen
class Var:
    """A local variable, bound by an earlier read or ``let``."""

    name: str


@attrs.frozen
class BinOp:
    """A binary operation; comparisons and boolean operators give 0 or 1."""

    op: BinaryOperator
    left: Expr
    right: Expr


@attrs.frozen
class Not:
    """Boolean negation: 1 when the operand is 0, else 0."""

    operand: Expr


Expr = Const | Var | BinOp | Not


@attrs.frozen
class Read:
    """``var := store[key]`` (0 when the key is absent)."""

    var: str
    key: str


@attrs.frozen
class Exists:
    """``var := 1 if key is present else 0``: the second read kind."""

    var: str
    key: str


@attrs.frozen
class Scan:
    """``var := sum of store[k] for every present k starting with prefix``: a range read."""

    var: str
    prefix: str


@attrs.frozen
class Let:
    """``var := expr``, local computation."""

    var: str
    expr: Expr


@attrs.frozen
class Require:
    """Revert the transaction (no writes at all) unless ``cond`` is non-zero."""

    cond: Expr
    reason: str = "require failed"


@attrs.frozen
class Write:
    """Buffer ``store[key] := expr``; a later write to the same key wins."""

    key: str
    expr: Expr


@attrs.frozen
class WriteIf:
    """Buffer ``store[key] := expr`` only when ``cond`` is non-zero: a data-dependent write set."""

    cond: Expr
    key: str
    expr: Expr


ReadStmt = Read | Exists | Scan
Stmt = Read | Exists | Scan | Let | Require | Write | WriteIf


def _as_stmts(value: tuple[Stmt, ...] | list[Stmt]) -> tuple[Stmt, ...]:
    return tuple(value)


@attrs.frozen
class Transaction:
    """One transaction of a block: its position, a readable label and its program."""

    index: int
    label: str
    program: tuple[Stmt, ...] = attrs.field(converter=_as_stmts)


class Status(enum.Enum):
    """Where an execution of a program stands."""

    RUNNING = "running"
    COMMITTED = "committed"
    REVERTED = "reverted"

    def __repr__(self) -> str:
        return f"Status.{self.name}"


def _sorted_env(
    pairs: tuple[tuple[str, int], ...] | Mapping[str, int],
) -> tuple[tuple[str, int], ...]:
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    return tuple(sorted(items))


@attrs.frozen
class Frame:
    """The immutable progress of one execution of a program.

    ``pc`` indexes the next statement; ``env`` holds local variables and ``writes`` the
    buffered write set, both sorted by name so equal progress has one encoding.
    """

    pc: int = 0
    env: tuple[tuple[str, int], ...] = attrs.field(default=(), converter=_sorted_env)
    writes: tuple[tuple[str, int], ...] = attrs.field(default=(), converter=_sorted_env)
    status: Status = Status.RUNNING
    reason: str = ""


ScanResult = tuple[tuple[str, int], ...]
"""What a scheduler returns for a scan: the present keys in range and their values."""


def _truth(value: int) -> bool:
    return value != 0


def evaluate(expr: Expr, env: Mapping[str, int]) -> int:
    """The integer value of ``expr`` under ``env``."""
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, Var):
        if expr.name not in env:
            raise ProgramError(f"variable {expr.name!r} is used before it is bound")
        return env[expr.name]
    if isinstance(expr, Not):
        return 0 if _truth(evaluate(expr.operand, env)) else 1
    left = evaluate(expr.left, env)
    right = evaluate(expr.right, env)
    return _apply(expr.op, left, right)


def _apply(op: str, a: int, b: int) -> int:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "//":
        return a // b if b != 0 else 0
    if op == "%":
        return a % b if b != 0 else 0
    if op == "min":
        return min(a, b)
    if op == "max":
        return max(a, b)
    if op == "and":
        return int(_truth(a) and _truth(b))
    if op == "or":
        return int(_truth(a) or _truth(b))
    comparisons = {
        "==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b,
    }
    if op in comparisons:
        return int(comparisons[op])
    raise ProgramError(f"unknown operator {op!r}")


class ProgramError(ValueError):
    """A transaction program is malformed (an unbound variable, an unknown operator)."""


def _own_write(frame: Frame, key: str) -> int | None:
    for k, v in frame.writes:
        if k == key:
            return v
    return None


def _bind(frame: Frame, var: str, value: int) -> tuple[tuple[str, int], ...]:
    env = dict(frame.env)
    env[var] = value
    return tuple(sorted(env.items()))


def advance(program: tuple[Stmt, ...], frame: Frame) -> Frame:
    """Run local statements until the next shared read or the end of the program.

    Reads of keys this execution already wrote are served from its own buffer, as a
    VM does, so they never reach the scheduler.
    """
    pc, env, writes = frame.pc, dict(frame.env), dict(frame.writes)
    while pc < len(program):
        stmt = program[pc]
        if isinstance(stmt, Read | Exists):
            if stmt.key not in writes:
                break
            env[stmt.var] = writes[stmt.key] if isinstance(stmt, Read) else 1
        elif isinstance(stmt, Scan):
            break
        elif isinstance(stmt, Let):
            env[stmt.var] = evaluate(stmt.expr, env)
        elif isinstance(stmt, Require):
            if not _truth(evaluate(stmt.cond, env)):
                return Frame(pc + 1, env, (), Status.REVERTED, stmt.reason)
        elif isinstance(stmt, Write) or _truth(evaluate(stmt.cond, env)):
            writes[stmt.key] = evaluate(stmt.expr, env)
        pc += 1
    status = Status.COMMITTED if pc >= len(program) else Status.RUNNING
    return Frame(pc, env, writes, status)


def pending_read(program: tuple[Stmt, ...], frame: Frame) -> ReadStmt | None:
    """The read the execution waits for, or None when it has finished."""
    if frame.status is not Status.RUNNING:
        return None
    stmt = program[frame.pc]
    if not isinstance(stmt, Read | Exists | Scan):
        raise ProgramError("advance() must run before pending_read()")
    return stmt


def deliver(program: tuple[Stmt, ...], frame: Frame, result: int | ScanResult | None) -> Frame:
    """Give the pending read its result from shared state, then advance.

    ``result`` is the value (None when absent) for ``read`` and ``exists``, and the
    present keys in range with their values for ``scan``; the execution's own buffered
    writes are laid over a scan's result.
    """
    stmt = pending_read(program, frame)
    if stmt is None:
        raise ProgramError("the execution has no pending read")
    if isinstance(stmt, Scan):
        if not isinstance(result, tuple):
            raise ProgramError("a scan needs a tuple of (key, value) pairs")
        merged = dict(result)
        for key, value in frame.writes:
            if key.startswith(stmt.prefix):
                merged[key] = value
        value = sum(merged.values())
    elif isinstance(result, tuple):
        raise ProgramError("a point read needs a value or None")
    elif isinstance(stmt, Read):
        value = 0 if result is None else result
    else:
        value = 0 if result is None else 1
    moved = attrs.evolve(frame, pc=frame.pc + 1, env=_bind(frame, stmt.var, value))
    return advance(program, moved)


def start(program: tuple[Stmt, ...]) -> Frame:
    """A fresh execution of ``program``, advanced to its first shared read."""
    return advance(program, Frame())


def effective_writes(frame: Frame) -> tuple[tuple[str, int], ...]:
    """The writes a finished execution makes: none when it reverted."""
    return frame.writes if frame.status is Status.COMMITTED else ()


def block_keys(
    transactions: tuple[Transaction, ...], present: tuple[str, ...] = ()
) -> tuple[str, ...]:
    """Every key a block can touch: the keys its programs name, plus ``present`` ones.

    A range read can cover any of these, so a footprint for a scan lists those that
    start with its prefix.
    """
    keys = set(present)
    for tx in transactions:
        for stmt in tx.program:
            if isinstance(stmt, Read | Exists | Write | WriteIf):
                keys.add(stmt.key)
    return tuple(sorted(keys))
