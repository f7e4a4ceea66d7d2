"""Every use of z3 in shardcheck: the one module that imports it.

Questions arrive as plain data and answers leave as three-valued values (sat, unsat,
unknown with the reason), never as booleans, so an exhausted budget cannot read as a
pass. Each call builds its own ``z3.Context``, which is dropped when the call returns or
raises, and every solver gets a timeout.

Orders are encoded as real-valued positions (QF_LRA): acyclicity needs no integrality,
and shared/research/serializability.md measured Real at 0.95 s where Int timed out
after 20 s on the same 1,000-transaction order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar

import attrs
import z3

from shardcheck.checker.prove.formulas import Invariant, StateFormula
from shardcheck.model import (
    Const,
    Exists,
    Expr,
    Let,
    Not,
    ProgramError,
    Read,
    ReadStmt,
    Require,
    Scan,
    Stmt,
    Var,
    Write,
    WriteIf,
)

SolverStatus = Literal["sat", "unsat", "unknown"]

T = TypeVar("T")


def _scoped(work: Callable[[z3.Context], T]) -> T:
    """Run ``work`` in a fresh z3 context, released when it returns or raises."""
    ctx = z3.Context()
    try:
        return work(ctx)
    finally:
        del ctx

RANDOM_SEED = 0
"""Fixed so that the same question gets the same model on the same z3 version."""


@attrs.frozen
class OrderAnswer:
    """Whether positions exist that respect every edge and one side of every choice."""

    status: SolverStatus
    first_side: tuple[bool, ...] = ()
    """When sat: per choice, whether its first edge holds in the model."""
    core: tuple[int, ...] = ()
    """When unsat and asked to explain: choices that cannot all be satisfied together."""
    reason: str = ""


Side = Sequence[tuple[int, int]]


def solve_order(nodes: int, edges: Sequence[tuple[int, int]],
                choices: Sequence[tuple[tuple[int, int], tuple[int, int]]],
                timeout_s: float, explain: bool = False) -> OrderAnswer:
    """Positions for ``nodes`` nodes with every ``edges`` pair a < b and, for each choice,
    at least one of its two pairs ordered; on unsat optionally a core of choices."""
    return solve_sides(nodes, edges, [([one], [other]) for one, other in choices], timeout_s,
                       explain)


def solve_sides(nodes: int, edges: Sequence[tuple[int, int]],
                choices: Sequence[tuple[Side, Side]], timeout_s: float,
                explain: bool = False, groups: Sequence[Sequence[int]] = ()) -> OrderAnswer:
    """Like ``solve_order``, each side of a choice a set of pairs that must all be ordered.

    With ``groups`` (lists of choice indexes that together cover them all), the choices
    are added one group at a time to one solver, checking after each: what z3 learned
    about the earlier groups is kept, and a contradiction within the first groups is
    found without encoding the rest (incremental solving)."""
    ctx = z3.Context()
    try:
        answer = _solve(ctx, nodes, edges, choices, timeout_s, track=False, groups=groups)
        if answer.status == "unsat" and explain and choices:
            tracked = _solve(ctx, nodes, edges, choices, timeout_s, track=True)
            if tracked.status == "unsat":
                return tracked
        return answer
    finally:
        del ctx


def _solve(ctx: z3.Context, nodes: int, edges: Sequence[tuple[int, int]],
           choices: Sequence[tuple[Side, Side]], timeout_s: float,
           track: bool, groups: Sequence[Sequence[int]] = ()) -> OrderAnswer:
    solver = z3.Tactic("qflra", ctx=ctx).solver()
    solver.set("timeout", max(1, int(timeout_s * 1000)))
    solver.set("random_seed", RANDOM_SEED)
    if track:
        solver.set("unsat_core", True)
        solver.set("core.minimize", True)
    position = [z3.Real(f"p{i}", ctx) for i in range(nodes)]
    solver.add(*[position[a] < position[b] for a, b in edges])

    def holds(side: Side) -> Any:
        parts = [position[a] < position[b] for a, b in side]
        return parts[0] if len(parts) == 1 else z3.And(*parts)

    sides = [(holds(one), holds(other)) for one, other in choices]
    guards = []
    if track:
        for i, (one, other) in enumerate(sides):
            guard = z3.Bool(f"choice{i}", ctx)
            guards.append(guard)
            solver.add(z3.Implies(guard, z3.Or(one, other)))
        result = solver.check(*guards)
    else:
        result = z3.sat
        for group in (groups if groups else [range(len(sides))]):
            solver.add(*[z3.Or(*sides[i]) for i in group])
            result = solver.check()
            if result != z3.sat:
                break
    if result == z3.sat:
        model = solver.model()
        first = tuple(z3.is_true(model.eval(one, model_completion=True)) for one, _ in sides)
        return OrderAnswer("sat", first_side=first)
    if result == z3.unsat:
        if track:
            index = {str(g): i for i, g in enumerate(guards)}
            core = tuple(sorted(index[str(c)] for c in solver.unsat_core()))
            return OrderAnswer("unsat", core=core)
        return OrderAnswer("unsat")
    return OrderAnswer("unknown", reason=solver.reason_unknown() or "z3 gave no reason")


# ---------------------------------------------------------------------------
# The symbolic meaning of the transaction language.
#
# Theory: integers (z3 Int). Values in the model are unbounded Python ints, so bit-vectors
# would change the meaning (overflow); reals would lose floor division. Programs that only
# add, subtract and compare constants stay in linear integer arithmetic (LIA, decidable);
# `*`, `//` and `%` between two variables make the question nonlinear (NIA, undecidable in
# general), where z3 may answer unknown, which we report as such. Presence of keys is a
# Bool per key, over the finite set of keys a workload names: a scan sums over that set,
# so a claim is about stores whose keys are among those (the keys any program can touch).
# ---------------------------------------------------------------------------


@attrs.frozen
class Cell:
    """One key of a symbolic store: whether it is present, and its value (0 when absent)."""

    present: Any
    """A z3 Bool."""
    value: Any
    """A z3 Int."""

    def read(self) -> Any:
        """What a ``read`` of the key gives: its value, or 0 when absent."""
        return z3.If(self.present, self.value, z3.IntVal(0, self.value.ctx))


SymbolicStore = Mapping[str, Cell]
"""A symbolic store: a cell per key of the key universe."""

Lookup = Callable[[int, str], Cell]
"""Where a read gets its value: given the statement's index in the program (its pc) and a
key, the cell that read observes. Serial execution looks in one store; a symbolic check
of an interleaving answers per read from the version that read saw."""


@attrs.frozen
class SymbolicRead:
    """One read statement of a symbolic run, and what it observes if it reaches storage."""

    pc: int
    stmt: ReadStmt
    reached: Any
    """z3 Bool: the read runs (no earlier require failed) and asks shared state (a point
    read of a key the program already wrote is served from its own buffer instead)."""
    value: Any
    """z3 Int: the value bound to the statement's variable (own writes laid over)."""
    observed: tuple[tuple[str, Cell], ...]
    """The cells the read looked at in shared state (one for read/exists, every key of
    the universe with the prefix for a scan)."""


@attrs.frozen
class SymbolicRun:
    """The symbolic meaning of one execution of a program."""

    committed: Any
    """z3 Bool: no require failed (the revert condition is its negation)."""
    reads: tuple[SymbolicRead, ...]
    writes: tuple[tuple[str, Any, Any], ...]
    """Per key the program can write, sorted: (key, z3 Bool written, z3 Int value), the
    buffered write set before the revert rule; a key's write takes effect when
    ``committed`` and its condition both hold."""
    branches: tuple[Any, ...] = ()
    """z3 Bools: the condition of every require and conditional write, in program order:
    the choices that decide the run's control flow."""


def _int(ctx: z3.Context, value: int) -> Any:
    return z3.IntVal(value, ctx)


def _bit(ctx: z3.Context, cond: Any) -> Any:
    return z3.If(cond, _int(ctx, 1), _int(ctx, 0))


def _floor_div(ctx: z3.Context, a: Any, b: Any) -> Any:
    # z3's div is Euclidean: for b < 0 it rounds the other way from Python's floor, so
    # negate both sides into a positive divisor, where Euclidean and floor agree.
    return z3.If(b == 0, _int(ctx, 0), z3.If(b > 0, a / b, (-a) / (-b)))


def _floor_mod(ctx: z3.Context, a: Any, b: Any) -> Any:
    # Python's a % b takes the divisor's sign; z3's mod is never negative.
    return z3.If(b == 0, _int(ctx, 0), z3.If(b > 0, a % b, -((-a) % (-b))))


def _apply_symbolic(ctx: z3.Context, op: str, a: Any, b: Any) -> Any:
    zero = _int(ctx, 0)
    arithmetic: dict[str, Callable[[], Any]] = {
        "+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
        "//": lambda: _floor_div(ctx, a, b), "%": lambda: _floor_mod(ctx, a, b),
        "min": lambda: z3.If(a <= b, a, b), "max": lambda: z3.If(a >= b, a, b),
        "and": lambda: _bit(ctx, z3.And(a != zero, b != zero)),
        "or": lambda: _bit(ctx, z3.Or(a != zero, b != zero)),
        "==": lambda: _bit(ctx, a == b), "!=": lambda: _bit(ctx, a != b),
        "<": lambda: _bit(ctx, a < b), "<=": lambda: _bit(ctx, a <= b),
        ">": lambda: _bit(ctx, a > b), ">=": lambda: _bit(ctx, a >= b),
    }
    if op not in arithmetic:
        raise ProgramError(f"unknown operator {op!r}")
    return arithmetic[op]()


def symbolic_value(ctx: z3.Context, expr: Expr, env: Mapping[str, Any]) -> Any:
    """The z3 Int meaning of ``expr`` with each variable bound to a z3 Int in ``env``."""
    if isinstance(expr, Const):
        return _int(ctx, expr.value)
    if isinstance(expr, Var):
        if expr.name not in env:
            raise ProgramError(f"variable {expr.name!r} is used before it is bound")
        return env[expr.name]
    if isinstance(expr, Not):
        return _bit(ctx, symbolic_value(ctx, expr.operand, env) == 0)
    return _apply_symbolic(ctx, expr.op, symbolic_value(ctx, expr.left, env),
                           symbolic_value(ctx, expr.right, env))


def run_program(ctx: z3.Context, program: Sequence[Stmt], lookup: Lookup,
                keys: Sequence[str]) -> SymbolicRun:
    """The symbolic meaning of ``program``: every statement, with reads answered by ``lookup``.

    ``keys`` is the key universe a scan ranges over. A failed require makes the concrete
    interpreter stop; here the statements after it are still translated (nothing in the
    language can fail), and ``reached``/``committed`` carry the path condition instead.
    """
    zero, true = _int(ctx, 0), z3.BoolVal(True, ctx)
    alive = true
    env: dict[str, Any] = {}
    buffer: dict[str, tuple[Any, Any]] = {}  # key -> (written, value)
    reads: list[SymbolicRead] = []
    branches: list[Any] = []
    for pc, stmt in enumerate(program):
        if isinstance(stmt, Read | Exists):
            cell = lookup(pc, stmt.key)
            from_store = cell.read() if isinstance(stmt, Read) else _bit(ctx, cell.present)
            written, own = buffer.get(stmt.key, (z3.BoolVal(False, ctx), zero))
            mine = own if isinstance(stmt, Read) else _int(ctx, 1)
            env[stmt.var] = z3.If(written, mine, from_store)
            reads.append(SymbolicRead(pc, stmt, z3.And(alive, z3.Not(written)),
                                      env[stmt.var], ((stmt.key, cell),)))
        elif isinstance(stmt, Scan):
            in_range = sorted({k for k in (*keys, *buffer) if k.startswith(stmt.prefix)})
            cells = tuple((k, lookup(pc, k)) for k in in_range)
            parts = [z3.If(buffer[k][0], buffer[k][1], cell.read()) if k in buffer
                     else cell.read() for k, cell in cells]
            env[stmt.var] = z3.Sum(parts) if parts else zero
            reads.append(SymbolicRead(pc, stmt, alive, env[stmt.var], cells))
        elif isinstance(stmt, Let):
            env[stmt.var] = symbolic_value(ctx, stmt.expr, env)
        elif isinstance(stmt, Require):
            holds = symbolic_value(ctx, stmt.cond, env) != zero
            branches.append(holds)
            alive = z3.And(alive, holds)
        elif isinstance(stmt, Write):
            buffer[stmt.key] = (true, symbolic_value(ctx, stmt.expr, env))
        else:
            cond = symbolic_value(ctx, stmt.cond, env) != zero
            branches.append(cond)
            written, own = buffer.get(stmt.key, (z3.BoolVal(False, ctx), zero))
            buffer[stmt.key] = (z3.Or(written, cond),
                                z3.If(cond, symbolic_value(ctx, stmt.expr, env), own))
    writes = tuple((k, w, v) for k, (w, v) in sorted(buffer.items()))
    return SymbolicRun(alive, tuple(reads), writes, tuple(branches))


def fresh_store(ctx: z3.Context, keys: Sequence[str], tag: str = "") -> tuple[dict[str, Cell], Any]:
    """A symbolic store with a free presence and value per key, and its well-formedness
    (an absent key holds 0, so equal stores have equal cells)."""
    store = {k: Cell(z3.Bool(f"{tag}present[{k}]", ctx), z3.Int(f"{tag}value[{k}]", ctx))
             for k in keys}
    sane = z3.And([z3.Or(c.present, c.value == 0) for c in store.values()] or [True])
    return store, sane


def apply_run(ctx: z3.Context, store: SymbolicStore, run: SymbolicRun) -> dict[str, Cell]:
    """The store after ``run`` commits its writes (or, reverted, writes nothing)."""
    after = dict(store)
    for key, written, value in run.writes:
        cell = after.get(key, Cell(z3.BoolVal(False, ctx), _int(ctx, 0)))
        effective = z3.And(run.committed, written)
        after[key] = Cell(z3.Or(cell.present, effective), z3.If(effective, value, cell.value))
    return after


def run_serially(ctx: z3.Context, programs: Sequence[Sequence[Stmt]], store: SymbolicStore,
                 keys: Sequence[str]) -> tuple[tuple[SymbolicRun, ...], dict[str, Cell]]:
    """Each program in turn against the store the previous ones left."""
    current = dict(store)
    runs = []
    for program in programs:
        run = run_program(ctx, program, reader(ctx, dict(current)), keys)
        runs.append(run)
        current = apply_run(ctx, current, run)
    return tuple(runs), current


def reader(ctx: z3.Context, store: SymbolicStore) -> Lookup:
    """A lookup that answers every read from ``store`` (keys outside it are absent)."""
    absent = Cell(z3.BoolVal(False, ctx), _int(ctx, 0))

    def lookup(_pc: int, key: str) -> Cell:
        return store.get(key, absent)

    return lookup


@attrs.frozen
class ConcreteMeaning:
    """The symbolic meaning of a program evaluated at one concrete store."""

    committed: bool
    reads: tuple[tuple[int, int], ...]
    """(pc, value bound) for each read that reached storage."""
    writes: tuple[tuple[str, int], ...]
    """The effective writes (none when reverted), sorted by key."""


def meaning_at(program: Sequence[Stmt], values: Mapping[str, int]) -> ConcreteMeaning:
    """Translate ``program`` over a fully symbolic store, then substitute ``values``.

    This is how the symbolic meaning is tested against the concrete interpreter: the
    terms are built without knowing the store, exactly as a proof uses them.
    """
    ctx = z3.Context()
    try:
        return _meaning_at(ctx, program, values)
    finally:
        del ctx


def _meaning_at(ctx: z3.Context, program: Sequence[Stmt],
                values: Mapping[str, int]) -> ConcreteMeaning:
    keys = sorted({*values, *_program_keys(program)})
    store, _ = fresh_store(ctx, keys)
    run = run_program(ctx, program, reader(ctx, store), keys)
    pairs = []
    for key, cell in store.items():
        pairs.append((cell.present, z3.BoolVal(key in values, ctx)))
        pairs.append((cell.value, _int(ctx, values.get(key, 0))))

    def ground(term: Any) -> Any:
        return z3.simplify(z3.substitute(term, *pairs))

    committed = z3.is_true(ground(run.committed))
    reads = tuple((r.pc, ground(r.value).as_long()) for r in run.reads
                  if z3.is_true(ground(r.reached)))
    writes = tuple((k, ground(v).as_long()) for k, w, v in run.writes
                   if committed and z3.is_true(ground(w)))
    return ConcreteMeaning(committed, reads, writes)


def _program_keys(program: Sequence[Stmt]) -> set[str]:
    return {s.key for s in program if isinstance(s, Read | Exists | Write | WriteIf)}


# ---------------------------------------------------------------------------
# Claims for `shardcheck prove`: each asks z3 for a counterexample; unsat is the proof.
# ---------------------------------------------------------------------------


@attrs.frozen
class StateAnswer:
    """Whether a pre-state breaks a claim: sat with the state, unsat (the claim holds), or
    unknown with z3's reason."""

    status: SolverStatus
    state: tuple[tuple[str, int | None], ...] = ()
    """When sat: every key of the universe with its value, None when absent."""
    reason: str = ""


def _new_solver(ctx: z3.Context, timeout_s: float) -> Any:
    solver = z3.Solver(ctx=ctx)
    solver.set("timeout", max(1, int(timeout_s * 1000)))
    solver.set("random_seed", RANDOM_SEED)
    return solver


def _outcome(solver: Any) -> tuple[SolverStatus, str]:
    """z3's answer as a three-valued status and, for unknown, its reason."""
    result = solver.check()
    if result == z3.sat:
        return "sat", ""
    if result == z3.unsat:
        return "unsat", ""
    return "unknown", solver.reason_unknown() or "z3 gave no reason"


def _state_answer(solver: Any, store: Mapping[str, Cell]) -> StateAnswer:
    status, reason = _outcome(solver)
    if status != "sat":
        return StateAnswer(status, reason=reason)
    found = solver.model()
    state = tuple(
        (key, found.eval(cell.value, model_completion=True).as_long()
         if z3.is_true(found.eval(cell.present, model_completion=True)) else None)
        for key, cell in sorted(store.items()))
    return StateAnswer("sat", state)


def _formula_value(ctx: z3.Context, formula: StateFormula, store: SymbolicStore) -> Any:
    env: dict[str, Any] = {}
    for atom in formula.atoms:
        if atom.kind == "value":
            env[atom.var] = _cell_of(ctx, store, atom.name).read()
        elif atom.kind == "exists":
            env[atom.var] = _bit(ctx, _cell_of(ctx, store, atom.name).present)
        else:
            parts = [c.read() for k, c in store.items() if k.startswith(atom.name)]
            env[atom.var] = z3.Sum(parts) if parts else _int(ctx, 0)
    return symbolic_value(ctx, formula.expr, env)


def _cell_of(ctx: z3.Context, store: SymbolicStore, key: str) -> Cell:
    return reader(ctx, store)(0, key)


def refute_invariant(program: Sequence[Stmt], keys: Sequence[str], invariant: Invariant,
                     timeout_s: float) -> StateAnswer:
    """A pre-state from which ``program`` breaks ``invariant``, or unsat when none exists."""
    return _scoped(lambda ctx: _refute_invariant(ctx, program, keys, invariant, timeout_s))


def _refute_invariant(ctx: z3.Context, program: Sequence[Stmt], keys: Sequence[str],
                      invariant: Invariant, timeout_s: float) -> StateAnswer:
    store, sane = fresh_store(ctx, keys)
    _, after = run_serially(ctx, [program], store, keys)
    before_value = _formula_value(ctx, invariant.formula, store)
    after_value = _formula_value(ctx, invariant.formula, after)
    solver = _new_solver(ctx, timeout_s)
    solver.add(sane)
    if invariant.kind == "holds":
        solver.add(before_value != 0, after_value == 0)
    else:
        solver.add(before_value != after_value)
    return _state_answer(solver, store)


def _observations_differ(ctx: z3.Context, one: SymbolicRun, other: SymbolicRun) -> Any:
    """The two runs of one program differ in whether or what some read observes."""
    differs = []
    for a, b in zip(one.reads, other.reads, strict=True):
        if isinstance(a.stmt, Scan):
            seen = [z3.Or(ca.present != cb.present, z3.And(ca.present, ca.value != cb.value))
                    for (_, ca), (_, cb) in zip(a.observed, b.observed, strict=True)]
        elif isinstance(a.stmt, Read):
            seen = [a.observed[0][1].read() != b.observed[0][1].read()]
        else:
            seen = [a.observed[0][1].present != b.observed[0][1].present]
        differs.append(z3.Or(a.reached != b.reached,
                             z3.And(a.reached, z3.Or(seen or [z3.BoolVal(False, ctx)]))))
    return z3.Or(differs or [z3.BoolVal(False, ctx)])


def refute_commutativity(first: Sequence[Stmt], second: Sequence[Stmt], keys: Sequence[str],
                         timeout_s: float) -> StateAnswer:
    """A store where running ``first`` then ``second`` differs from the other order (in the
    final store or in what some read observes), or unsat when they always commute."""
    return _scoped(lambda ctx: _refute_commutativity(ctx, first, second, keys, timeout_s))


def _refute_commutativity(ctx: z3.Context, first: Sequence[Stmt], second: Sequence[Stmt],
                          keys: Sequence[str], timeout_s: float) -> StateAnswer:
    store, sane = fresh_store(ctx, keys)
    (a1, b1), forward = run_serially(ctx, [first, second], store, keys)
    (b2, a2), backward = run_serially(ctx, [second, first], store, keys)
    store_differs = [z3.Or(forward[k].present != backward[k].present,
                           forward[k].value != backward[k].value)
                     for k in sorted(set(forward) | set(backward))]
    solver = _new_solver(ctx, timeout_s)
    solver.add(sane)
    solver.add(z3.Or(*store_differs, _observations_differ(ctx, a1, a2),
                     _observations_differ(ctx, b1, b2)))
    return _state_answer(solver, store)


@attrs.frozen
class QuorumAnswer:
    """Two quorums and a faulty set whose intersection holds no honest validator (sat), or
    unsat when every two quorums share an honest one, or unknown with the reason."""

    status: SolverStatus
    first: tuple[int, ...] = ()
    second: tuple[int, ...] = ()
    faulty: tuple[int, ...] = ()
    reason: str = ""


def _quorum_constraints(ctx: z3.Context, solver: Any, sort: Callable[..., Any],
                        stakes: Sequence[int], threshold: tuple[int, int], strict: bool,
                        max_faulty: int | None, max_faulty_stake: tuple[int, int] | None
                        ) -> tuple[list[Any], list[Any], list[Any]]:
    """Two quorums and a faulty set as memberships in [0, 1] of ``sort`` (Int: exact; Real:
    the relaxation), every validator in both quorums faulty."""
    n, total = len(stakes), sum(stakes)
    num, den = threshold

    def members(name: str) -> list[Any]:
        return [sort(f"{name}{i}", ctx) for i in range(n)]

    q1, q2, bad = members("first"), members("second"), members("faulty")
    for x in (*q1, *q2, *bad):
        solver.add(x >= 0, x <= 1)

    def stake(xs: list[Any]) -> Any:
        return z3.Sum([s * x for s, x in zip(stakes, xs, strict=True)])

    for q in (q1, q2):
        # stake/total > num/den, kept in integers: stake*den > num*total.
        solver.add(stake(q) * den > num * total if strict else stake(q) * den >= num * total)
    if max_faulty is not None:
        solver.add(z3.Sum(bad) <= max_faulty)
    if max_faulty_stake is not None:
        fnum, fden = max_faulty_stake
        solver.add(stake(bad) * fden <= fnum * total)
    for a, b, f in zip(q1, q2, bad, strict=True):
        solver.add(a + b - 1 <= f)  # in both quorums -> faulty
    return q1, q2, bad


def refute_quorum_intersection(
        stakes: Sequence[int], threshold: tuple[int, int], strict: bool,
        max_faulty: int | None, max_faulty_stake: tuple[int, int] | None,
        timeout_s: float) -> QuorumAnswer:
    """Search for two quorums (stake > or >= threshold x total) and a faulty set (at most
    ``max_faulty`` validators, or stake at most ``max_faulty_stake`` x total) such that
    every validator in both quorums is faulty.

    Membership is a 0/1 integer per validator, so stake sums are linear (QF_LIA).
    """
    quick = _overlap_counterexample(stakes, threshold, strict, max_faulty, max_faulty_stake)
    if quick is not None:
        return quick
    return _scoped(lambda ctx: _refute_quorum(ctx, stakes, threshold, strict, max_faulty,
                                              max_faulty_stake, timeout_s))


def _overlap_counterexample(stakes: Sequence[int], threshold: tuple[int, int], strict: bool,
                            max_faulty: int | None, max_faulty_stake: tuple[int, int] | None
                            ) -> QuorumAnswer | None:
    """Two quorums grown from opposite ends of the stake order, their overlap made faulty:
    the pair a weak configuration usually fails on, found without a solver. With equal
    stakes the integer search is a pigeonhole problem z3 can take minutes on."""
    n, total = len(stakes), sum(stakes)
    num, den = threshold

    def is_quorum(weight: int) -> bool:
        return weight * den > num * total if strict else weight * den >= num * total

    def grow(order: list[int]) -> set[int] | None:
        chosen: set[int] = set()
        weight = 0
        for i in order:
            if is_quorum(weight):
                break
            chosen.add(i)
            weight += stakes[i]
        return chosen if is_quorum(weight) else None

    by_stake = sorted(range(n), key=lambda i: (-stakes[i], i))
    for first_order, second_order in ((by_stake, by_stake[::-1]),
                                      (by_stake[::-1], by_stake)):
        first, second = grow(first_order), grow(second_order)
        if first is None or second is None:
            return None  # no quorum at all: nothing to refute here
        overlap = first & second
        bad_stake = sum(stakes[i] for i in overlap)
        if max_faulty is not None and len(overlap) > max_faulty:
            continue
        if max_faulty_stake is not None:
            fnum, fden = max_faulty_stake
            if bad_stake * fden > fnum * total:
                continue
        return QuorumAnswer("sat", tuple(sorted(first)), tuple(sorted(second)),
                            tuple(sorted(overlap)))
    return None


def _refute_quorum(ctx: z3.Context, stakes: Sequence[int], threshold: tuple[int, int],
                   strict: bool, max_faulty: int | None,
                   max_faulty_stake: tuple[int, int] | None, timeout_s: float) -> QuorumAnswer:
    # The linear relaxation first: memberships anywhere in [0, 1]. If even fractional
    # quorums must share honest stake, whole ones must too; and with equal stakes the
    # integer problem is a pigeonhole that z3 does not finish for 64 validators in a
    # minute, while the relaxation answers in milliseconds.
    relaxed = _new_solver(ctx, timeout_s)
    _quorum_constraints(ctx, relaxed, z3.Real, stakes, threshold, strict, max_faulty,
                        max_faulty_stake)
    if relaxed.check() == z3.unsat:
        return QuorumAnswer("unsat")
    solver = _new_solver(ctx, timeout_s)
    q1, q2, bad = _quorum_constraints(ctx, solver, z3.Int, stakes, threshold, strict,
                                      max_faulty, max_faulty_stake)
    status, reason = _outcome(solver)
    if status != "sat":
        return QuorumAnswer(status, reason=reason)
    found = solver.model()

    def chosen(xs: list[Any]) -> tuple[int, ...]:
        return tuple(i for i, x in enumerate(xs)
                     if found.eval(x, model_completion=True).as_long() == 1)

    return QuorumAnswer("sat", chosen(q1), chosen(q2), chosen(bad))


# ---------------------------------------------------------------------------
# Input classes: the initial stores that drive every execution down the same branches.
#
# A scheduler that never looks at data values (every built-in one) takes the same
# actions on two initial stores whenever every execution it can make takes the same
# branches on both. An execution reads each key either from the initial store or from a
# write of some other execution, so the conditions of every require and conditional
# write, over every such choice of sources (chains of distinct transactions), are the
# atoms; a class is one feasible truth assignment to all of them.
# ---------------------------------------------------------------------------


@attrs.frozen
class InputClass:
    """One class of initial stores, by a representative: every present key and its value."""

    values: tuple[tuple[str, int], ...]


@attrs.frozen
class InputClassesAnswer:
    """The classes of initial stores, or why they could not all be found."""

    status: Literal["complete", "too-many", "unknown"]
    classes: tuple[InputClass, ...] = ()
    atoms: int = 0
    """Distinct branch conditions over every execution considered."""
    executions: int = 0
    """Executions considered (one per transaction and choice of read sources)."""
    reason: str = ""


def _read_slots(program: Sequence[Stmt], keys: Sequence[str]) -> list[tuple[int, str]]:
    slots: list[tuple[int, str]] = []
    for pc, stmt in enumerate(program):
        if isinstance(stmt, Read | Exists):
            slots.append((pc, stmt.key))
        elif isinstance(stmt, Scan):
            slots.extend((pc, k) for k in keys if k.startswith(stmt.prefix))
    return slots


class _TooMany(Exception):
    pass


class _Executions:
    """Every execution of every program over every acyclic choice of read sources."""

    def __init__(self, ctx: z3.Context, programs: Sequence[Sequence[Stmt]],
                 keys: Sequence[str], initial: SymbolicStore, limit: int) -> None:
        self.ctx, self.programs, self.keys, self.initial = ctx, programs, keys, initial
        self.limit = limit
        self.count = 0
        self.memo: dict[tuple[int, frozenset[int]], list[SymbolicRun]] = {}
        self.writers = [_program_keys_written(p) for p in programs]

    def of(self, tx: int, chain: frozenset[int]) -> list[SymbolicRun]:
        """Executions of ``tx`` whose reads come from the initial store or from
        executions of transactions outside ``chain`` (which already feed this one)."""
        memo_key = (tx, chain)
        if memo_key in self.memo:
            return self.memo[memo_key]
        inner = chain | {tx}
        program = self.programs[tx]
        slots = _read_slots(program, self.keys)
        choices: list[list[Cell]] = []
        absent = Cell(z3.BoolVal(False, self.ctx), _int(self.ctx, 0))
        for _pc, key in slots:
            sources = [self.initial.get(key, absent)]
            # Executions that differ elsewhere often write a key the same value: one
            # source per distinct term keeps the product small.
            seen: set[str] = set()
            for other in range(len(self.programs)):
                if other in inner or key not in self.writers[other]:
                    continue
                for run in self.of(other, inner):
                    for written_key, _written, value in run.writes:
                        term = z3.simplify(value)
                        if written_key == key and term.sexpr() not in seen:
                            seen.add(term.sexpr())
                            sources.append(Cell(z3.BoolVal(True, self.ctx), term))
            choices.append(sources)
        runs: list[SymbolicRun] = []
        for combination in _product(choices):
            self.count += 1
            if self.count > self.limit:
                raise _TooMany
            chosen = dict(zip(slots, combination, strict=True))

            def lookup(pc: int, key: str, chosen: dict[tuple[int, str], Cell] = chosen) -> Cell:
                return chosen.get((pc, key), absent)

            runs.append(run_program(self.ctx, program, lookup, self.keys))
        self.memo[memo_key] = runs
        return runs


def _product(choices: Sequence[Sequence[Cell]]) -> list[tuple[Cell, ...]]:
    combos: list[tuple[Cell, ...]] = [()]
    for options in choices:
        combos = [(*combo, option) for combo in combos for option in options]
    return combos


def _program_keys_written(program: Sequence[Stmt]) -> set[str]:
    return {stmt.key for stmt in program if isinstance(stmt, Write | WriteIf)}


def input_classes(programs: Sequence[Sequence[Stmt]], keys: Sequence[str],
                  initial: Mapping[str, int], assume: StateFormula | None, max_classes: int,
                  max_executions: int, timeout_s: float) -> InputClassesAnswer:
    """Split the initial stores (the present keys of ``initial``, any integer values) into
    classes on which every execution takes the same branches; one representative each.

    The representative is the store closest to ``initial`` (least total distance, then
    the smallest values key by key), so it does not depend on the z3 version's choice
    of model, and classes come sorted by it.
    """
    return _scoped(lambda ctx: _input_classes(ctx, programs, keys, initial, assume,
                                              max_classes, max_executions, timeout_s))


def _input_classes(ctx: z3.Context, programs: Sequence[Sequence[Stmt]], keys: Sequence[str],
                   initial: Mapping[str, int], assume: StateFormula | None, max_classes: int,
                   max_executions: int, timeout_s: float) -> InputClassesAnswer:
    present = sorted(initial)
    store = {k: Cell(z3.BoolVal(True, ctx), z3.Int(f"value[{k}]", ctx)) for k in present}
    executions = _Executions(ctx, programs, keys, store, max_executions)
    try:
        runs = [run for tx in range(len(programs)) for run in executions.of(tx, frozenset())]
    except _TooMany:
        return InputClassesAnswer(
            "too-many", executions=executions.count,
            reason=f"more than {max_executions:,} executions to consider (each transaction "
                   "for every choice of where its reads come from)")
    atoms: dict[str, Any] = {}
    for run in runs:
        for branch in run.branches:
            simple = z3.simplify(branch)
            if z3.is_true(simple) or z3.is_false(simple):
                continue
            atoms.setdefault(simple.sexpr(), simple)
    atom_list = [atoms[k] for k in sorted(atoms)]
    constraint = z3.BoolVal(True, ctx)
    if assume is not None:
        constraint = _formula_value(ctx, assume, store) != 0
    solver = _new_solver(ctx, timeout_s)
    solver.add(constraint)
    signs: list[tuple[bool, ...]] = []
    while True:
        status, reason = _outcome(solver)
        if status == "unknown":
            return InputClassesAnswer("unknown", atoms=len(atom_list),
                                      executions=executions.count, reason=reason)
        if status == "unsat":
            break
        if len(signs) == max_classes:
            return InputClassesAnswer(
                "too-many", atoms=len(atom_list), executions=executions.count,
                reason=f"more than {max_classes:,} classes of initial stores")
        found = solver.model()
        sign = tuple(z3.is_true(found.eval(a, model_completion=True)) for a in atom_list)
        signs.append(sign)
        if not atom_list:
            break
        solver.add(z3.Or([a != z3.BoolVal(v, ctx) for a, v in zip(atom_list, sign,
                                                                     strict=True)]))
    classes = []
    for sign in signs:
        chosen = _closest(ctx, store, initial, constraint, atom_list, sign, timeout_s)
        if chosen is None:
            return InputClassesAnswer("unknown", atoms=len(atom_list),
                                      executions=executions.count,
                                      reason="z3 could not pick a representative store "
                                             "within the time limit")
        classes.append(InputClass(chosen))
    return InputClassesAnswer("complete", tuple(sorted(classes, key=lambda c: c.values)),
                              len(atom_list), executions.count)


def _closest(ctx: z3.Context, store: Mapping[str, Cell], initial: Mapping[str, int],
             constraint: Any, atoms: Sequence[Any], sign: Sequence[bool],
             timeout_s: float) -> tuple[tuple[str, int], ...] | None:
    """The store of the class closest to ``initial``: a unique optimum, so a deterministic one."""
    optimizer = z3.Optimize(ctx=ctx)
    optimizer.set("timeout", max(1, int(timeout_s * 1000)))
    optimizer.add(constraint)
    for atom, value in zip(atoms, sign, strict=True):
        optimizer.add(atom == z3.BoolVal(value, ctx))
    distance = [z3.If(store[k].value >= initial[k], store[k].value - initial[k],
                      initial[k] - store[k].value) for k in sorted(store)]
    optimizer.minimize(z3.Sum(distance) if distance else _int(ctx, 0))
    for key in sorted(store):
        optimizer.minimize(store[key].value)
    if optimizer.check() != z3.sat:
        return None
    found = optimizer.model()
    return tuple((k, found.eval(store[k].value, model_completion=True).as_long())
                 for k in sorted(store))
