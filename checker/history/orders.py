"""A direct search for an order that respects a DAG and one side of every choice.

What pruning leaves of a polygraph is usually easy: the histories users check are
mostly serializable, and a guess that agrees with one topological order of the graph so
far almost never has to be taken back. This search makes exactly that guess, with unit
propagation after every decision (a side that would close a cycle forces the other) and
chronological backtracking, on reachability bitsets over the few nodes the choices
mention. It is complete, but gives up after a budget of decisions so that a hard
instance goes to z3, whose clause learning handles those better.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import attrs

from shardcheck.checker.history.dsg import reachability, topological

Pair = tuple[int, int]
SearchStatus = Literal["sat", "unsat", "gave-up"]

DEFAULT_DECISIONS = 20_000


@attrs.frozen
class SearchResult:
    """The sides chosen (True: the first pair) when sat; nothing otherwise."""

    status: SearchStatus
    first_side: tuple[bool, ...] = ()
    decisions: int = 0


class _State:
    """Reachability over the nodes plus the choices still open; copied at decisions."""

    def __init__(self, reach: dict[int, int], open_choices: list[int], sides: dict[int, bool]
                 ) -> None:
        self.reach = reach
        self.open = open_choices
        self.sides = sides

    def copy(self) -> _State:
        return _State(dict(self.reach), list(self.open), dict(self.sides))


def _closure(m: int, edges: Sequence[Pair]) -> list[int] | None:
    succ: list[list[int]] = [[] for _ in range(m)]
    for a, b in edges:
        succ[a].append(b)
    result = topological(m, succ)
    return None if result.cyclic else reachability(m, succ, result.order)


def _add(reach: dict[int, int], u: int, v: int) -> None:
    """Add u -> v (known not to close a cycle) and everything it implies."""
    bit_u = 1 << u
    if reach[u] >> v & 1:
        return
    gained = reach[v]
    for x, bits in reach.items():
        if bits & bit_u:
            reach[x] = bits | gained


def _propagate(state: _State, choices: Sequence[tuple[Pair, Pair]]) -> bool:
    """Settle every choice the graph decides; False when one has no side left."""
    reach = state.reach
    changed = True
    while changed:
        changed = False
        still: list[int] = []
        for i in state.open:
            (a, b), (c, d) = choices[i]
            if reach[a] >> b & 1:
                state.sides[i] = True
                continue
            if reach[c] >> d & 1:
                state.sides[i] = False
                continue
            first_closes = reach[b] >> a & 1
            second_closes = reach[d] >> c & 1
            if first_closes and second_closes:
                return False
            if first_closes:
                _add(reach, c, d)
                state.sides[i] = False
                changed = True
            elif second_closes:
                _add(reach, a, b)
                state.sides[i] = True
                changed = True
            else:
                still.append(i)
        state.open = still
    return True


def _guess(state: _State, choice: tuple[Pair, Pair]) -> bool:
    """The side that agrees with one topological order of the graph so far.

    A node that reaches another reaches strictly more nodes, so ordering by how many
    nodes each reaches (most first) is a topological order, computed in one pass.
    """
    (a, b), (c, d) = choice
    size = state.reach
    if size[a].bit_count() > size[b].bit_count():
        return True
    return size[c].bit_count() <= size[d].bit_count()


def _decide(state: _State, choices: Sequence[tuple[Pair, Pair]], i: int, side: bool) -> None:
    state.open = [j for j in state.open if j != i]
    a, b = choices[i][0] if side else choices[i][1]
    _add(state.reach, a, b)
    state.sides[i] = side


def search_order(m: int, edges: Sequence[Pair], choices: Sequence[tuple[Pair, Pair]],
                 max_decisions: int = DEFAULT_DECISIONS) -> SearchResult:
    """Find sides for ``choices`` so that ``edges`` plus the chosen pairs stay acyclic."""
    reach = _closure(m, edges)
    if reach is None:
        return SearchResult("unsat")
    return search_sides(dict(enumerate(reach)), choices, max_decisions)


def search_sides(reach: dict[int, int], choices: Sequence[tuple[Pair, Pair]],
                 max_decisions: int = DEFAULT_DECISIONS) -> SearchResult:
    """The search itself, from the reachability bitsets of every node the choices name.

    Rows for other nodes are not needed: a path through them is already in the bits of
    the rows that matter, and new edges only ever join two named nodes.
    """
    state = _State(dict(reach), list(range(len(choices))), {})
    if not _propagate(state, choices):
        return SearchResult("unsat")
    # Each entry: the state before a decision, the choice, the side taken, and whether
    # the other side has been tried already.
    trail: list[tuple[_State | None, int, bool]] = []
    decisions = 0
    while state.open:
        decisions += 1
        if decisions > max_decisions:
            return SearchResult("gave-up", decisions=decisions)
        i = state.open[0]
        side = _guess(state, choices[i])
        trail.append((state.copy(), i, side))
        _decide(state, choices, i, side)
        while not _propagate(state, choices):
            while trail and trail[-1][0] is None:
                trail.pop()
            if not trail:
                return SearchResult("unsat", decisions=decisions)
            saved, i, side = trail.pop()
            assert saved is not None
            trail.append((None, i, not side))
            state = saved
            _decide(state, choices, i, not side)
    first = tuple(state.sides[i] for i in range(len(choices)))
    return SearchResult("sat", first_side=first, decisions=decisions)
