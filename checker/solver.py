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

from collections.abc import Sequence
from typing import Literal

import attrs
import z3

SolverStatus = Literal["sat", "unsat", "unknown"]

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


def solve_order(nodes: int, edges: Sequence[tuple[int, int]],
                choices: Sequence[tuple[tuple[int, int], tuple[int, int]]],
                timeout_s: float, explain: bool = False) -> OrderAnswer:
    """Positions for ``nodes`` nodes with every ``edges`` pair a < b and, for each choice,
    at least one of its two pairs ordered; on unsat optionally a core of choices."""
    ctx = z3.Context()
    try:
        answer = _solve(ctx, nodes, edges, choices, timeout_s, track=False)
        if answer.status == "unsat" and explain and choices:
            tracked = _solve(ctx, nodes, edges, choices, timeout_s, track=True)
            if tracked.status == "unsat":
                return tracked
        return answer
    finally:
        del ctx


def _solve(ctx: z3.Context, nodes: int, edges: Sequence[tuple[int, int]],
           choices: Sequence[tuple[tuple[int, int], tuple[int, int]]], timeout_s: float,
           track: bool) -> OrderAnswer:
    solver = z3.Tactic("qflra", ctx=ctx).solver()
    solver.set("timeout", max(1, int(timeout_s * 1000)))
    solver.set("random_seed", RANDOM_SEED)
    if track:
        solver.set("unsat_core", True)
        solver.set("core.minimize", True)
    position = [z3.Real(f"p{i}", ctx) for i in range(nodes)]
    solver.add(*[position[a] < position[b] for a, b in edges])
    sides = [(position[a] < position[b], position[c] < position[d])
             for (a, b), (c, d) in choices]
    guards = []
    if track:
        for i, (one, other) in enumerate(sides):
            guard = z3.Bool(f"choice{i}", ctx)
            guards.append(guard)
            solver.add(z3.Implies(guard, z3.Or(one, other)))
        result = solver.check(*guards)
    else:
        solver.add(*[z3.Or(one, other) for one, other in sides])
        result = solver.check()
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
