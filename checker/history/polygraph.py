"""View serializability: known edges first, then a serial search, then the polygraph.

Papadimitriou's polygraph has the edges every serial order must respect and, for the
writers of each key, choices that decide their order. Deciding it is NP-complete, but the
histories people check are rarely hard, and the work is arranged so that they never pay
for the hard case:

1. **Known edges.** A writer before its readers; a reader of the initial store before
   every writer of the key; every writer before the final one. When these alone close a
   cycle (every cycle of reads does) the answer is "violated" and no choice is built: the
   choices grow with readers times writers per key (issue 15: a 2-transaction G1c at the
   end of a million read-modify-writes once took 24 GB).
2. **A serial search.** Execute the transactions one at a time, each as soon as every
   read it made would see the version it saw, never overwriting a version some reader
   still waits for, and the final writer of each key last; ties go to the earliest listed.
   A serializable history is found this way in linear time almost always; the order is
   replayed before it is trusted, and when the search gets stuck nothing is concluded.
3. **The polygraph, pruned** (Cobra, Tan et al., OSDI 2020). Writes are *combined*: a
   read-modify-write that is the only one to overwrite its predecessor's version joins it
   in a chain, since nothing can come between them. Constraints are *coalesced* per pair
   of chains of a key: one chain wholly before the other, or the other way round (with
   the readers of the earlier chain's last version before the later one). Reachability
   of the known graph settles most pairs (a side that would close a cycle forces the
   other; a side that already holds settles the pair), repeated to a fixpoint; a forced
   ordering is labelled ``forced`` in any cycle it ends up in, never passed off as a
   dependency. What is left goes to the direct search of ``orders`` and, when that gives
   up or finds no order (z3 then names the conflicting choices), to z3, fed one group of
   related choices at a time.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

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
from shardcheck.checker.history.orders import SearchResult, search_sides
from shardcheck.checker.history.versions import INIT

LabelledEdge = tuple[int, int, str, int]
Pair = tuple[int, int]

MAX_CHOICES = 2_000_000
"""Coalesced choices the polygraph may hold; beyond that the answer is inconclusive
rather than a machine out of memory."""

GREEDY_WORK = 40
"""The serial search gives up after this many steps per transaction and edge."""


@attrs.frozen
class Choice:
    """Chain ``a`` wholly before chain ``b`` on ``key`` (with the readers of a's last
    version before b), or the other way round."""

    key: int
    first: tuple[Pair, ...]
    second: tuple[Pair, ...]


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
    """What decided: "known edges" (a cycle among them), "serial search", "graph" (pruning
    left nothing), "graph order" (one topological order of the pruned graph fits every
    choice left), "search" (the direct search), "z3"."""
    search_decisions: int = 0
    writes_combined: int = 0
    """Writers that joined a chain of read-modify-writes (Cobra's combining)."""


@attrs.frozen
class ViewResult:
    """View serializability: the witness, the anomalies, or why it is undecided."""

    status: str  # "holds", "violated", "inconclusive"
    witness: tuple[str, ...] | None
    anomalies: tuple[Anomaly, ...]
    stats: PolygraphStats | None
    reason: str = ""


# ---------------------------------------------------------------- the known graph


def chains(ix: Indexed, k: int) -> list[list[int]]:
    """The writers of key ``k`` combined into chains: a writer that read the key from W
    and is the only writer to have done so follows W directly in every serial order."""
    writers = ix.writers[k]
    read_from: dict[int, int] = {}
    for w in writers:
        sources = [src for key, src in ix.reads[w] if key == k]
        if len(sources) == 1:
            read_from[w] = sources[0]
    counts = Counter(read_from.values())
    following = {src: w for w, src in read_from.items() if src != INIT and counts[src] == 1}
    joined = set(following.values())
    out: list[list[int]] = []
    covered: set[int] = set()
    for w in writers:
        if w in joined:
            continue
        chain = [w]
        covered.add(w)
        while chain[-1] in following and following[chain[-1]] not in covered:
            chain.append(following[chain[-1]])
            covered.add(chain[-1])
        out.append(chain)
    # Writers only on a circle of read-modify-writes (the known edges then close a cycle
    # anyway) stand alone.
    out.extend([w] for w in writers if w not in covered)
    return out


@attrs.define
class Known:
    """The known edges, the chains of each key and the readers of each version."""

    edges: list[LabelledEdge]
    chains: dict[int, list[list[int]]]
    readers: dict[tuple[int, int], list[int]]
    combined: int


def known_graph(ix: Indexed, within: frozenset[int] | None = None) -> Known:
    """Every edge all view-equivalent serial orders share (only those between nodes
    ``within``, when given: a subgraph, whose cycles are cycles of the whole)."""
    readers: dict[tuple[int, int], list[int]] = {}
    edges: list[LabelledEdge] = []
    nodes: Iterable[int] = range(ix.size) if within is None else sorted(within)
    touched: set[int] = set()
    for r in nodes:
        for k, w in ix.reads[r]:
            readers.setdefault((k, w), []).append(r)
            touched.add(k)
            if w != INIT and (within is None or w in within):
                edges.append((w, r, "wr", k))
        touched.update(ix.writes[r])
    by_key: dict[int, list[list[int]]] = {}
    combined = 0
    for k in (range(len(ix.keys)) if within is None else sorted(touched)):
        writers = ix.writers[k]
        if not writers:
            continue
        mine = by_key[k] = chains(ix, k)
        combined += len(writers) - len(mine)
        writer_set = set(writers)
        for r in readers.get((k, INIT), ()):
            # A reader that also writes the key reaches each later writer through either
            # an anti-dependency or its own version: an order, of no one dependency kind.
            label = "order" if r in writer_set else "rw~"
            edges.extend((r, c[0], label, k) for c in mine if c[0] != r)
        for c in mine:
            for a, b in itertools.pairwise(c):
                edges.extend((r, b, "rw~", k) for r in readers.get((k, a), ()) if r != b)
        final = ix.final_writer[k]
        if final is not None and final != INIT:
            home = next(c for c in mine if final in c)
            edges.extend((c[-1], home[0], "ww~", k) for c in mine if c is not home)
            if home[-1] != final:
                edges.append((home[-1], final, "ww~", k))
    if within is not None:
        edges = [e for e in edges if e[0] in within and e[1] in within]
    return Known(edges, by_key, readers, combined)


def build_choices(ix: Indexed, known: Known, touching: frozenset[int] | None = None,
                  limit: int = MAX_CHOICES) -> list[Choice] | None:
    """One coalesced choice per pair of chains of a key whose order matters (only pairs
    with a member in ``touching``, when given); None beyond ``limit``."""
    out: list[Choice] = []
    for k, mine in known.chains.items():
        if len(mine) < 2:
            continue
        last_readers = [known.readers.get((k, c[-1]), []) for c in mine]
        if touching is None:
            pairs: Iterable[tuple[int, int]] = itertools.combinations(range(len(mine)), 2)
        else:
            # Only pairs with a member near the cycles: found from those chains, so a key
            # with thousands of chains costs what its few hot ones do.
            hot = [i for i, c in enumerate(mine)
                   if any(u in touching for u in (*c, *last_readers[i]))]
            hot_set = set(hot)
            pairs = sorted({(min(i, j), max(i, j)) for i in hot for j in range(len(mine))
                            if j != i and not (j in hot_set and j < i)})
        for i, j in pairs:
            a, b = mine[i], mine[j]
            ra, rb = last_readers[i], last_readers[j]
            if len(a) == 1 and len(b) == 1 and not ra and not rb:
                continue
            first = ((a[-1], b[0]), *((r, b[0]) for r in ra if r != b[0]))
            second = ((b[-1], a[0]), *((r, a[0]) for r in rb if r != a[0]))
            out.append(Choice(k, first, second))
            if len(out) > limit:
                return None
    return out


def refute_orders(ix: Indexed, edges: list[LabelledEdge], keys: Sequence[int]
                  ) -> list[Anomaly] | None:
    """Conflict serializability when too many version orders are open to try one by one:
    ``edges`` (every edge all allowed orders share) plus, for the open ``keys``, the
    polygraph's choices about their writers (a version read by someone is followed by
    no other writer before that reader), pruned. A cycle proves that no version order
    makes the graph acyclic; None when pruning finds none (nothing is concluded)."""
    wanted = set(keys)
    readers: dict[tuple[int, int], list[int]] = {}
    for r, reads in enumerate(ix.reads):
        for k, w in reads:
            if k in wanted:
                readers.setdefault((k, w), []).append(r)
    by_key = {k: chains(ix, k) for k in keys}
    known = list(edges)
    for k, mine in by_key.items():
        for c in mine:
            for a, b in itertools.pairwise(c):
                known.extend((r, b, "rw~", k) for r in readers.get((k, a), ()) if r != b)
    choices = build_choices(ix, Known(known, by_key, readers, 0))
    if choices is None:
        return None
    pruned = prune(ix, known, choices)
    if not pruned.cyclic:
        return None
    stats = PolygraphStats(len(known), len(choices), pruned.forced, 0, pruned.rounds, 0, 0)
    return list(_violated(ix, pruned.succ, pruned.cyclic, pruned.known, pruned.notes,
                          stats).anomalies)


# ---------------------------------------------------------------- the serial search


def serial_search(ix: Indexed, succ: Sequence[Sequence[int]], rank: Sequence[int] | None = None
                  ) -> list[int] | None:
    """An order that replays every read, found by executing transactions as soon as they
    can run (see the module's essay) and all their predecessors in the graph ``succ`` ran,
    the lowest ``rank`` first (default: as listed); None when the search gets stuck (a
    version went in too early for some reader) or runs long."""
    n = ix.size
    key = list(range(n)) if rank is None else list(rank)
    before = [0] * n
    for targets in succ:
        for v in targets:
            before[v] += 1
    pending: Counter[tuple[int, int]] = Counter()
    for reads in ix.reads:
        for pair in reads:
            pending[pair] += 1
    current = [INIT] * len(ix.keys)
    writers_left = [len(ws) for ws in ix.writers]
    final = ix.final_writer
    placed = [False] * n
    waiting: dict[int, list[int]] = {}
    heap = [(key[t], t) for t in range(n)]
    heapq.heapify(heap)
    queued = [True] * n
    budget = GREEDY_WORK * (n + sum(len(r) for r in ix.reads) + 1)
    order: list[int] = []

    def blocked(t: int) -> int | None:
        """The key that keeps ``t`` from running now, or None when it can run (-1: a
        predecessor has not run)."""
        if before[t]:
            return -1
        reads = ix.reads[t]
        for k, w in reads:
            if current[k] != w:
                return k
        for k in ix.writes[t]:
            own = 1 if (k, current[k]) in reads else 0
            if pending[(k, current[k])] > own:
                return k
            if final[k] == t and writers_left[k] > 1:
                return k
        return None

    def push(t: int) -> None:
        if not placed[t] and not queued[t]:
            queued[t] = True
            heapq.heappush(heap, (key[t], t))

    while heap:
        budget -= 1
        if budget < 0:
            return None
        _, t = heapq.heappop(heap)
        queued[t] = False
        if placed[t]:
            continue
        k = blocked(t)
        if k is not None:
            if k >= 0:
                waiting.setdefault(k, []).append(t)
            continue
        placed[t] = True
        order.append(t)
        for v in succ[t]:
            before[v] -= 1
            if not before[v]:
                push(v)
        changed = [pair[0] for pair in ix.reads[t] if pending[pair] <= 2]
        for pair in ix.reads[t]:
            pending[pair] -= 1
        for k in ix.writes[t]:
            current[k] = t
            writers_left[k] -= 1
        for k in (*changed, *ix.writes[t]):
            for w in waiting.pop(k, ()):
                push(w)
        budget -= len(ix.reads[t]) + len(ix.writes[t])
    return order if len(order) == n else None


# ---------------------------------------------------------------- pruning


@attrs.define
class _Pruned:
    known: list[LabelledEdge]
    residual: list[Choice]
    forced: int
    rounds: int
    cyclic: frozenset[int]
    order: tuple[int, ...]
    succ: list[list[int]]
    notes: dict[tuple[int, int], str]
    mentioned: list[int]
    reach: list[int]
    """Per node, the mentioned nodes it reaches, as bits in the order of ``mentioned``."""


def _why(ix: Indexed, choice: Choice, forced_first: bool) -> str:
    """Why a choice's side was forced: its other side would close a cycle."""
    key = ix.keys[choice.key]
    taken, other = ((choice.first, choice.second) if forced_first
                    else (choice.second, choice.first))
    later, earlier = taken[0][1], taken[0][0]
    return (f"forced: the versions of {key} by {ix.ids[later]}'s chain come after "
            f"{ix.ids[earlier]}'s, since the other way ({ix.ids[other[0][0]]} before "
            f"{ix.ids[other[0][1]]}, with the readers of its version) closes a cycle")


def prune(ix: Indexed, known: list[LabelledEdge], choices: list[Choice]) -> _Pruned:
    """Settle choices from reachability until nothing changes (or a cycle shows up)."""
    n = ix.size
    succ: list[list[int]] = [[] for _ in range(n)]
    for a, b, _, _ in known:
        succ[a].append(b)
    known = list(known)
    notes: dict[tuple[int, int], str] = {}
    mentioned = sorted({u for c in choices for side in (c.first, c.second)
                        for pair in side for u in pair})
    local = {u: i for i, u in enumerate(mentioned)}
    own = [0] * n
    for u, i in local.items():
        own[u] = 1 << i
    forced = rounds = 0
    while True:
        rounds += 1
        result = topological(n, succ)
        if result.cyclic:
            return _Pruned(known, choices, forced, rounds, result.cyclic, (), succ, notes,
                           mentioned, [])
        reach = reachability(n, succ, result.order, own)
        residual: list[Choice] = []
        added = 0
        for choice in choices:
            first_holds = all(reach[a] >> local[b] & 1 for a, b in choice.first)
            if first_holds or all(reach[a] >> local[b] & 1 for a, b in choice.second):
                continue
            first_closes = any(reach[b] >> local[a] & 1 for a, b in choice.first)
            second_closes = any(reach[b] >> local[a] & 1 for a, b in choice.second)
            if first_closes or second_closes:
                # When both close a cycle the one forced here closes it in the next round,
                # which reports it with this edge labelled as forced.
                take = choice.first if second_closes and not first_closes else choice.second
                for a, b in take:
                    known.append((a, b, "forced", choice.key))
                    notes.setdefault((a, b), _why(ix, choice, take is choice.first))
                    succ[a].append(b)
                added += 1
            else:
                residual.append(choice)
        forced += added
        choices = residual
        if not added:
            return _Pruned(known, residual, forced, rounds, frozenset(), result.order, succ,
                           notes, mentioned, reach)


# ---------------------------------------------------------------- deciding


def check_view(ix: Indexed, timeout_s: float,
               validate: Callable[[tuple[str, ...]], str | None],
               pruning: bool = True, search: bool = True, serial: bool = True,
               focus: frozenset[int] | None = None) -> ViewResult:
    """Decide view serializability; ``validate`` replays a witness before it is trusted.

    ``focus`` (the cyclic part of a dependency graph whose version orders are known) is
    tried first: when the choices that touch it admit no order, that decides, and the
    rest of the polygraph is never built (a subset of its constraints that no order
    satisfies proves the whole has none). ``pruning=False`` hands the whole polygraph to
    z3, ``search=False`` skips the direct search after pruning and ``serial=False`` the
    serial search before it: the baselines the benchmark and the tests compare against.
    """
    if focus is not None:
        # The edges every order shares among the nodes on the dependency graph's cycles:
        # when they already close one, nothing else need be built.
        near = known_graph(ix, focus)
        succ_near: list[list[int]] = [[] for _ in range(ix.size)]
        for a, b, _, _ in near.edges:
            succ_near[a].append(b)
        cyclic = topological(ix.size, succ_near).cyclic
        if cyclic:
            return _violated(ix, succ_near, cyclic, near.edges, {}, PolygraphStats(
                len(near.edges), 0, 0, 0, 0, 0, 0, "known edges"))
    known = known_graph(ix)
    edges = known.edges
    succ: list[list[int]] = [[] for _ in range(ix.size)]
    for a, b, _, _ in edges:
        succ[a].append(b)
    ordered = topological(ix.size, succ)
    if ordered.cyclic:
        stats = PolygraphStats(len(edges), 0, 0, 0, 0, 0, 0, "known edges",
                               writes_combined=known.combined)
        return _violated(ix, succ, ordered.cyclic, edges, {}, stats)
    if serial:
        found = serial_search(ix, succ)
        if found is not None:
            witness = tuple(ix.ids[u] for u in found)
            if validate(witness) is None:
                return ViewResult("holds", witness, (), PolygraphStats(
                    len(edges), 0, 0, 0, 0, 0, 0, "serial search",
                    writes_combined=known.combined))
    if focus is not None:
        around = solve_polygraph(ix, known, timeout_s, validate, touching=focus)
        if around.status == "violated":
            return around
    return solve_polygraph(ix, known, timeout_s, validate, pruning=pruning, search=search)


def solve_polygraph(ix: Indexed, known: Known, timeout_s: float,
                    validate: Callable[[tuple[str, ...]], str | None], pruning: bool = True,
                    search: bool = True, touching: frozenset[int] | None = None
                    ) -> ViewResult:
    """Build the coalesced choices (those touching ``touching`` only, when given), prune,
    search, solve; with ``touching`` a "holds" answers only the part and is returned as
    "inconclusive"."""
    n = ix.size
    choices = build_choices(ix, known, touching)
    if choices is None:
        return ViewResult("inconclusive", None, (), None, reason=(
            f"the polygraph would hold more than {MAX_CHOICES:,} ordering choices"))
    if pruning:
        pruned = prune(ix, known.edges, choices)
    else:
        pruned = _Pruned(list(known.edges), choices, 0, 0, frozenset(), (), [], {}, [], [])
    solver_nodes = solver_edges = decisions = 0
    settled_by = "graph"

    def stats() -> PolygraphStats:
        return PolygraphStats(len(known.edges), len(choices), pruned.forced,
                              len(pruned.residual), pruned.rounds, solver_nodes, solver_edges,
                              settled_by, decisions, known.combined)

    if pruned.cyclic:
        return _violated(ix, pruned.succ, pruned.cyclic, pruned.known, pruned.notes, stats())
    final_edges = [(a, b) for a, b, _, _ in pruned.known]
    if pruned.residual or not pruning:
        # z3 is imported only when a question reaches it: most never do, and every
        # command that loads this module would otherwise pay for it at start.
        from shardcheck.checker.prove import OrderAnswer, solve_sides

        found = None
        if search and pruning and touching is None:
            # Two linear attempts before any search: the sides one topological order of
            # the pruned graph agrees with, and a serial search in that order.
            found = _one_order(pruned)
            if found is not None:
                settled_by = "graph order"
            else:
                position = [0] * n
                for i, u in enumerate(pruned.order):
                    position[u] = i
                serial = serial_search(ix, pruned.succ, position)
                if serial is not None:
                    witness = tuple(ix.ids[u] for u in serial)
                    if validate(witness) is None:
                        settled_by = "serial search"
                        return ViewResult("holds", witness, (), stats())
        if search and pruning and found is None:
            rows = {i: pruned.reach[u] for i, u in enumerate(pruned.mentioned)}
            local = {u: i for i, u in enumerate(pruned.mentioned)}
            found = search_sides(rows, [_local(c, local) for c in pruned.residual])
            settled_by, decisions = "search", found.decisions
        if found is not None and found.status == "sat":
            answer = OrderAnswer("sat", first_side=found.first_side)
        else:
            settled_by = "z3"
            if pruning:
                mentioned, solver_pairs, local_choices, groups = _solver_problem(pruned)
            else:
                mentioned = list(range(n))
                solver_pairs = final_edges
                local_choices = [(list(c.first), list(c.second)) for c in choices]
                groups = []
            solver_nodes, solver_edges = len(mentioned), len(solver_pairs)
            answer = solve_sides(len(mentioned), solver_pairs, local_choices, timeout_s,
                                 explain=True, groups=groups)
        if answer.status == "unknown":
            return ViewResult("inconclusive", None, (), stats(),
                              reason=f"z3 could not decide the {len(pruned.residual):,} "
                                     f"choices left after pruning ({answer.reason})")
        if answer.status == "unsat":
            return ViewResult("violated", None, (_core_anomaly(ix, pruned, answer.core),),
                              stats())
        residual = pruned.residual if pruning else choices
        for choice, first in zip(residual, answer.first_side, strict=True):
            final_edges.extend(choice.first if first else choice.second)
    if touching is not None:
        return ViewResult("inconclusive", None, (), stats(),
                          reason="the choices near the cycles admit an order")
    succ: list[list[int]] = [[] for _ in range(n)]
    for a, b in final_edges:
        succ[a].append(b)
    result = topological(n, succ)
    witness = tuple(ix.ids[u] for u in result.order)
    problem = validate(witness) if not result.cyclic else "the chosen edges form a cycle"
    if problem is not None:
        raise InternalError(f"the view-serializability witness failed its replay: {problem}")
    return ViewResult("holds", witness, (), stats())


def _one_order(pruned: _Pruned) -> SearchResult | None:
    """Sides for every residual choice from one topological order of the pruned graph,
    when each choice has a side all of whose edges go forward in it (then the chosen
    edges cannot close a cycle); None when some choice has none."""
    position = [0] * len(pruned.succ)
    for i, u in enumerate(pruned.order):
        position[u] = i
    sides = []
    for choice in pruned.residual:
        if all(position[a] < position[b] for a, b in choice.first):
            sides.append(True)
        elif all(position[a] < position[b] for a, b in choice.second):
            sides.append(False)
        else:
            return None
    return SearchResult("sat", first_side=tuple(sides))


def _violated(ix: Indexed, succ: list[list[int]], cyclic: frozenset[int],
              edges: Iterable[LabelledEdge], notes: dict[tuple[int, int], str],
              stats: PolygraphStats) -> ViewResult:
    core = trim_to_cycles(ix.size, succ, cyclic)
    graph = cyclic_graph(ix, core, edges)
    return ViewResult("violated", None, tuple(cycle_anomalies(ix, graph, notes)), stats)


def _local(choice: Choice, local: dict[int, int]) -> tuple[list[Pair], list[Pair]]:
    return ([(local[a], local[b]) for a, b in choice.first],
            [(local[a], local[b]) for a, b in choice.second])


def _solver_problem(pruned: _Pruned
                    ) -> tuple[list[int], list[Pair], list[tuple[list[Pair], list[Pair]]],
                               list[list[int]]]:
    """The residual question on only the nodes it mentions, with its choices grouped by
    the nodes they share (each group added to z3 in turn).

    Between those nodes the known graph matters only through what reaches what; the
    covering pairs of that relation (reachability minus what is implied through another
    mentioned node) keep the same orders possible with far fewer constraints.
    """
    used = sorted({u for c in pruned.residual for side in (c.first, c.second)
                   for pair in side for u in pair})
    position = {u: i for i, u in enumerate(pruned.mentioned)}
    local = {u: i for i, u in enumerate(used)}
    mask = 0
    for u in used:
        mask |= 1 << position[u]
    below = {u: pruned.reach[u] & mask & ~(1 << position[u]) for u in used}
    by_bit = {position[u]: u for u in used}
    edges: list[Pair] = []
    for u in used:
        covered = 0
        rest = below[u]
        while rest:
            low = rest & -rest
            covered |= below[by_bit[low.bit_length() - 1]]
            rest ^= low
        direct = below[u] & ~covered
        while direct:
            low = direct & -direct
            edges.append((local[u], local[by_bit[low.bit_length() - 1]]))
            direct ^= low
    choices = [_local(c, local) for c in pruned.residual]
    return used, edges, choices, _groups(choices)


def _groups(choices: Sequence[tuple[list[Pair], list[Pair]]]) -> list[list[int]]:
    """Choices joined when they mention a common node (union-find), smallest group first."""
    parent: dict[int, int] = {}

    def root(u: int) -> int:
        while parent.setdefault(u, u) != u:
            parent[u] = parent[parent[u]]
            u = parent[u]
        return u

    for first, second in choices:
        nodes = [u for pair in (*first, *second) for u in pair]
        for u in nodes[1:]:
            parent[root(u)] = root(nodes[0])
    groups: dict[int, list[int]] = {}
    for i, (first, _) in enumerate(choices):
        groups.setdefault(root(first[0][0]), []).append(i)
    return sorted(groups.values(), key=lambda g: (len(g), g))


def _core_anomaly(ix: Indexed, pruned: _Pruned, core: tuple[int, ...]) -> Anomaly:
    parts = []
    involved: list[str] = []
    for i in core or range(len(pruned.residual)):
        choice = pruned.residual[i]
        (a, b), (c, d) = choice.first[0], choice.second[0]
        key = ix.keys[choice.key]
        parts.append(f"on {key}, {ix.ids[a]} goes before {ix.ids[b]} or {ix.ids[c]} before "
                     f"{ix.ids[d]}")
        involved.extend(ix.ids[u] for u in (a, b, c, d) if ix.ids[u] not in involved)
    return Anomaly("unsatisfiable", "no order satisfies these together: " + "; ".join(parts),
                   tuple(involved))
