"""View serializability: the polygraph, pruned by reachability, the rest handed to z3.

Papadimitriou's polygraph has the edges every serial order must respect (a writer before
its reader; a reader of the initial value before every writer of the key; every writer
before the final writer) and, for each read of ``k`` by R from W and each other writer
W2 of ``k``, a choice: W2 before W, or W2 after R. Deciding it is NP-complete, but most
choices are settled by the known edges alone (Cobra, OSDI 2020): when one side would
close a cycle the other is forced, and when one side already holds the choice is gone.
Pruning runs to a fixpoint on Python-int bitsets of reachability; z3 only sees what is
left, restricted to the nodes those choices mention.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from shardcheck.checker.errors import InternalError
from shardcheck.checker.history.anomalies import Anomaly
from shardcheck.checker.history.dsg import (
    cycle_anomalies,
    cyclic_graph,
    reachability,
    topological,
    trim_to_cycles,
)
from shardcheck.checker.history.indexed import Indexed
from shardcheck.checker.history.orders import search_sides
from shardcheck.checker.history.versions import INIT

LabelledEdge = tuple[int, int, str, int]
Choice = tuple[int, int, int, int]
"""(w2, w, r, key): w2 before w (a ww edge on key), or r before w2 (an rw edge)."""


@attrs.frozen
class PolygraphStats:
    """How much of the problem the graph settled before the solver saw it."""

    known_edges: int
    choices: int
    forced: int
    residual: int
    rounds: int
    solver_nodes: int
    """Nodes and order constraints z3 was given (0 when it was not needed)."""
    solver_edges: int
    settled_by: str = "graph"
    """What decided the choices pruning left: "graph" (none were left), "search", "z3"."""
    search_decisions: int = 0


@attrs.frozen
class ViewResult:
    """View serializability: the witness, the anomalies, or why it is undecided."""

    status: str  # "holds", "violated", "inconclusive"
    witness: tuple[str, ...] | None
    anomalies: tuple[Anomaly, ...]
    stats: PolygraphStats | None
    reason: str = ""


def build(ix: Indexed) -> tuple[list[LabelledEdge], list[Choice]]:
    """The polygraph's known edges and choices."""
    known: list[LabelledEdge] = []
    choices: list[Choice] = []
    writers = ix.writers
    for r, reads in enumerate(ix.reads):
        for k, w in reads:
            if w == INIT:
                known.extend((r, w2, "rw~", k) for w2 in writers[k] if w2 != r)
                continue
            known.append((w, r, "wr", k))
            choices.extend((w2, w, r, k) for w2 in writers[k] if w2 != w and w2 != r)
    for k, final in enumerate(ix.final_writer):
        if final is not None and final != INIT:
            known.extend((w2, final, "ww~", k) for w2 in writers[k] if w2 != final)
    return known, choices


@attrs.define
class _Pruned:
    known: list[LabelledEdge]
    residual: list[Choice]
    forced: int
    rounds: int
    cyclic: frozenset[int]
    order: tuple[int, ...]
    reach: list[int]
    succ: list[list[int]]


def prune(n: int, known: list[LabelledEdge], choices: list[Choice]) -> _Pruned:
    """Settle choices from reachability until nothing changes (or a cycle shows up)."""
    succ: list[list[int]] = [[] for _ in range(n)]
    for a, b, _, _ in known:
        succ[a].append(b)
    known = list(known)
    forced = rounds = 0
    while True:
        rounds += 1
        result = topological(n, succ)
        if result.cyclic:
            return _Pruned(known, choices, forced, rounds, result.cyclic, (), [], succ)
        position = [0] * n
        for i, u in enumerate(result.order):
            position[u] = i
        reach = reachability(n, succ, result.order)
        bit = [1 << u for u in range(n)]
        residual: list[Choice] = []
        added = 0
        for choice in choices:
            w2, w, r, k = choice
            # A reaches B only if A comes first in a topological order: a cheap filter
            # before the bitset test.
            if (position[w2] < position[w] and reach[w2] & bit[w]) or (
                    position[r] < position[w2] and reach[r] & bit[w2]):
                continue
            first_closes = position[w] < position[w2] and reach[w] & bit[w2]
            if first_closes:
                # w before w2, so w2 must follow r; if w2 already reaches r this edge
                # closes the cycle the next round reports.
                known.append((r, w2, "forced", k))
                succ[r].append(w2)
                added += 1
            elif position[w2] < position[r] and reach[w2] & bit[r]:
                known.append((w2, w, "forced", k))
                succ[w2].append(w)
                added += 1
            else:
                residual.append(choice)
        forced += added
        choices = residual
        if not added:
            return _Pruned(known, residual, forced, rounds, frozenset(), result.order, reach,
                           succ)


def _local_reach(n: int, pruned: _Pruned) -> tuple[dict[int, int], dict[int, int]]:
    """Reachability among the nodes the residual choices name, numbered 0..m-1.

    One pass in reverse topological order over the whole graph with bits only for those
    nodes: bitsets a fraction of the size, so the search's every test is cheaper.
    """
    mentioned = sorted({u for w2, w, r, _ in pruned.residual for u in (w2, w, r)})
    local = {u: i for i, u in enumerate(mentioned)}
    own = [1 << local[u] if u in local else 0 for u in range(n)]
    bits = reachability(n, pruned.succ, pruned.order, own)
    return {local[u]: bits[u] for u in mentioned}, local


def _solver_problem(n: int, pruned: _Pruned
                    ) -> tuple[list[int], list[tuple[int, int]],
                               list[tuple[tuple[int, int], tuple[int, int]]]]:
    """The residual question on only the nodes it mentions.

    Between those nodes the known graph matters only through what reaches what; the
    covering pairs of that relation (reachability minus what is implied through another
    mentioned node) keep the same orders possible with far fewer constraints.
    """
    mentioned = sorted({u for w2, w, r, _ in pruned.residual for u in (w2, w, r)})
    local = {u: i for i, u in enumerate(mentioned)}
    mask = 0
    for u in mentioned:
        mask |= 1 << u
    reach = pruned.reach
    below = {u: (reach[u] & mask) & ~(1 << u) for u in mentioned}
    edges: list[tuple[int, int]] = []
    for u in mentioned:
        covered = 0
        rest = below[u]
        while rest:
            low = rest & -rest
            v = low.bit_length() - 1
            covered |= below[v]
            rest ^= low
        direct = below[u] & ~covered
        while direct:
            low = direct & -direct
            edges.append((local[u], local[low.bit_length() - 1]))
            direct ^= low
    choices = [((local[w2], local[w]), (local[r], local[w2])) for w2, w, r, _ in pruned.residual]
    return mentioned, edges, choices


def check_view(ix: Indexed, timeout_s: float,
               validate: Callable[[tuple[str, ...]], str | None],
               pruning: bool = True, search: bool = True) -> ViewResult:
    """Decide view serializability; ``validate`` replays a witness before it is trusted.

    What pruning leaves goes to the direct search of ``orders`` and, when that
    gives up or finds no order (z3 then names the conflicting choices), to z3.
    ``pruning=False`` hands the whole polygraph to z3 and ``search=False`` skips the
    direct search: the baselines the benchmark and the tests compare against.
    """
    n = ix.size
    known, choices = build(ix)
    if pruning:
        pruned = prune(n, known, choices)
    else:
        pruned = _Pruned(known, choices, 0, 0, frozenset(), (), [], [])
    mentioned: list[int] = []
    solver_edges: list[tuple[int, int]] = []
    settled_by = "graph"
    decisions = 0

    def stats() -> PolygraphStats:
        return PolygraphStats(len(known), len(choices), pruned.forced, len(pruned.residual),
                              pruned.rounds, len(mentioned), len(solver_edges),
                              settled_by, decisions)

    if pruned.cyclic:
        core = trim_to_cycles(n, pruned.succ, pruned.cyclic)
        graph = cyclic_graph(ix, core, pruned.known)
        return ViewResult("violated", None, tuple(cycle_anomalies(ix, graph)), stats())
    final_edges = [(a, b) for a, b, _, _ in pruned.known]
    if pruned.residual or not pruning:
        # z3 is imported only when a question reaches it: most never do, and every
        # command that loads this module would otherwise pay for it at start.
        from shardcheck.checker.prove import OrderAnswer, solve_order

        found = None
        if search and pruning:
            rows, local = _local_reach(n, pruned)
            found = search_sides(rows, [((local[w2], local[w]), (local[r], local[w2]))
                                        for w2, w, r, _ in pruned.residual])
        if found is not None:
            settled_by, decisions = "search", found.decisions
        if found is not None and found.status == "sat":
            answer = OrderAnswer("sat", first_side=found.first_side)
        else:
            settled_by = "z3"
            if pruning:
                mentioned, solver_edges, local_choices = _solver_problem(n, pruned)
            else:
                mentioned = list(range(n))
                solver_edges = final_edges
                local_choices = [((w2, w), (r, w2)) for w2, w, r, _ in choices]
            answer = solve_order(len(mentioned), solver_edges, local_choices, timeout_s,
                                 explain=True)
        if answer.status == "unknown":
            return ViewResult("inconclusive", None, (), stats(),
                              reason=f"z3 could not decide the {len(pruned.residual):,} "
                                     f"choices left after pruning ({answer.reason})")
        if answer.status == "unsat":
            return ViewResult("violated", None, (_core_anomaly(ix, pruned, answer.core),),
                              stats())
        for choice, first in zip(pruned.residual, answer.first_side, strict=True):
            w2, w, r, _ = choice
            final_edges.append((w2, w) if first else (r, w2))
    succ: list[list[int]] = [[] for _ in range(n)]
    for a, b in final_edges:
        succ[a].append(b)
    result = topological(n, succ)
    witness = tuple(ix.ids[u] for u in result.order)
    problem = validate(witness) if not result.cyclic else "the chosen edges form a cycle"
    if problem is not None:
        raise InternalError(f"the view-serializability witness failed its replay: {problem}")
    return ViewResult("holds", witness, (), stats())


def _core_anomaly(ix: Indexed, pruned: _Pruned, core: tuple[int, ...]) -> Anomaly:
    parts = []
    involved: list[str] = []
    for i in core or range(len(pruned.residual)):
        w2, w, r, k = pruned.residual[i]
        a, b, c = ix.ids[w2], ix.ids[w], ix.ids[r]
        parts.append(f"{c} reads {ix.keys[k]} from {b}, so {a} goes before {b} or after {c}")
        involved.extend(x for x in (a, b, c) if x not in involved)
    return Anomaly("unsatisfiable", "no order satisfies these together: " + "; ".join(parts),
                   tuple(involved))
