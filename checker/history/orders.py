"""A direct search for an order that respects a DAG and one side of every choice.

What pruning leaves of a polygraph is usually easy: the histories users check are
mostly serializable, and a guess that agrees with one topological order of the graph so
far almost never has to be taken back. This search makes exactly that guess, with unit
propagation after every decision (a side that would close a cycle forces the other) and
chronological backtracking, on reachability bitsets over the few nodes the choices
mention. Reachability is kept incrementally: adding an edge updates the rows that reach
its tail, and each change is logged so that backtracking undoes it instead of copying
the whole state at every decision (Cobra's incremental acyclicity, in miniature). It is
complete, but gives up after a budget of decisions so that a hard instance goes to z3,
whose clause learning handles those better.

A side is one edge or several (a coalesced constraint: a whole chain of writes before or
after another, with the readers of its last version): it holds when all its edges do, and
is impossible when any one of them would close a cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import attrs

from shardcheck.checker.history.dsg import reachability, topological

Pair = tuple[int, int]
Side = Sequence[Pair]
SearchStatus = Literal["sat", "unsat", "gave-up"]

DEFAULT_DECISIONS = 20_000

DEFAULT_WORK = 40_000_000
"""The search gives up once it has looked at this many reachability rows (each added edge
looks at them all): some seconds, before z3 takes over."""


@attrs.frozen
class SearchResult:
    """The sides chosen (True: the first) when sat; nothing otherwise."""

    status: SearchStatus
    first_side: tuple[bool, ...] = ()
    decisions: int = 0


def _closure(m: int, edges: Sequence[Pair]) -> list[int] | None:
    succ: list[list[int]] = [[] for _ in range(m)]
    for a, b in edges:
        succ[a].append(b)
    result = topological(m, succ)
    return None if result.cyclic else reachability(m, succ, result.order)


class _Search:
    """Reachability rows, the choices and the sides taken so far."""

    def __init__(self, reach: dict[int, int], choices: Sequence[tuple[Side, Side]]) -> None:
        self.base = reach
        self.reach = dict(reach)
        self.choices = choices
        self.sides: dict[int, bool] = {}
        self.watch: dict[int, list[int]] = {}
        """Per node, the choices whose sides name it: a change to its row can settle them."""
        for i, (one, other) in enumerate(choices):
            for u in {u for pair in (*one, *other) for u in pair}:
                self.watch.setdefault(u, []).append(i)
        self.dirty: set[int] = set()
        self.work = 0
        """Rows looked at so far: the measure of the search's budget."""

    def holds(self, side: Side) -> bool:
        reach = self.reach
        return all(reach[a] >> b & 1 for a, b in side)

    def closes(self, side: Side) -> bool:
        reach = self.reach
        return any(reach[b] >> a & 1 for a, b in side)

    def add(self, side: Side) -> None:
        """Add every edge of a side (none closes a cycle) and all they imply."""
        reach = self.reach
        for u, v in side:
            if reach[u] >> v & 1:
                continue
            bit_u = 1 << u
            gained = reach[v]
            self.work += len(reach)
            for x, bits in reach.items():
                if bits & bit_u and bits | gained != bits:
                    reach[x] = bits | gained
                    self.dirty.add(x)

    def take(self, i: int, first: bool) -> None:
        self.sides[i] = first
        self.add(self.choices[i][0] if first else self.choices[i][1])

    def restart(self, decisions: Sequence[tuple[int, bool]]) -> bool:
        """Back to the rows the search began with, then ``decisions`` again: undoing by
        replaying, since backtracking is rare and a log of every changed row is not (it
        grew to gigabytes at 10,000 transactions)."""
        self.reach = dict(self.base)
        self.sides = {}
        self.dirty = set()
        if not self.propagate(everything=True):
            return False
        for i, first in decisions:
            if i in self.sides:
                if self.sides[i] != first:
                    return False
                continue
            self.take(i, first)
            if not self.propagate():
                return False
        return True

    def propagate(self, everything: bool = False) -> bool:
        """Settle every choice the graph decides; False when one has no side left. Only
        choices that name a node whose row changed are looked at again, unless
        ``everything``."""
        todo: set[int] = set(range(len(self.choices))) if everything else set()
        while True:
            for x in self.dirty:
                todo.update(self.watch.get(x, ()))
            self.dirty.clear()
            if not todo:
                return True
            for i in sorted(todo):
                if i in self.sides:
                    continue
                one, other = self.choices[i]
                if self.holds(one):
                    self.sides[i] = True
                    continue
                if self.holds(other):
                    self.sides[i] = False
                    continue
                first_closes, second_closes = self.closes(one), self.closes(other)
                if first_closes and second_closes:
                    self.dirty.clear()
                    return False
                if first_closes or second_closes:
                    self.take(i, not first_closes)
            todo = set()

    def guess(self, i: int) -> bool:
        """The side that agrees with one topological order of the graph so far.

        A node that reaches another reaches strictly more nodes, so ordering by how many
        nodes each reaches (most first) is a topological order, computed in one pass.
        """
        one, other = self.choices[i]
        reach = self.reach

        def fits(side: Side) -> int:
            return sum(reach[a].bit_count() > reach[b].bit_count() for a, b in side)

        return fits(one) * len(other) >= fits(other) * len(one)


def search_order(m: int, edges: Sequence[Pair],
                 choices: Sequence[tuple[Side | Pair, Side | Pair]],
                 max_decisions: int = DEFAULT_DECISIONS) -> SearchResult:
    """Find sides for ``choices`` so that ``edges`` plus the chosen pairs stay acyclic."""
    reach = _closure(m, edges)
    if reach is None:
        return SearchResult("unsat")
    return search_sides(dict(enumerate(reach)), as_sides(choices), max_decisions)


def as_sides(choices: Sequence[tuple[Side | Pair, Side | Pair]]) -> list[tuple[Side, Side]]:
    """Choices whose sides may be single pairs, each side as a sequence of pairs."""
    def side(s: Side | Pair) -> Side:
        return [s] if isinstance(s[0], int) else s  # type: ignore[list-item, return-value]
    return [(side(one), side(other)) for one, other in choices]


def search_sides(reach: dict[int, int], choices: Sequence[tuple[Side, Side]],
                 max_decisions: int = DEFAULT_DECISIONS, max_work: int = DEFAULT_WORK
                 ) -> SearchResult:
    """The search itself, from the reachability bitsets of every node the choices name.

    Rows for other nodes are not needed: a path through them is already in the bits of
    the rows that matter, and new edges only ever join two named nodes.
    """
    state = _Search(dict(reach), choices)
    if not state.propagate(everything=True):
        return SearchResult("unsat")
    # The decisions taken, each with whether its other side has been tried already.
    trail: list[tuple[int, bool, bool]] = []
    decisions = 0
    next_open = 0
    while True:
        while next_open < len(choices) and next_open in state.sides:
            next_open += 1
        if next_open == len(choices):
            break
        decisions += 1
        if decisions > max_decisions or state.work > max_work:
            return SearchResult("gave-up", decisions=decisions)
        i = next_open
        side = state.guess(i)
        trail.append((i, side, False))
        state.take(i, side)
        conflict = not state.propagate()
        while conflict:
            while trail and trail[-1][2]:
                trail.pop()
            if not trail:
                return SearchResult("unsat", decisions=decisions)
            i, side, _ = trail.pop()
            trail.append((i, not side, True))
            conflict = not state.restart([(j, first) for j, first, _ in trail])
            next_open = 0  # choices settled after the flipped decision are open again
    first = tuple(state.sides[i] for i in range(len(choices)))
    return SearchResult("sat", first_side=first, decisions=decisions)
