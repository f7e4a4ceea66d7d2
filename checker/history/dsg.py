"""The direct serialization graph (Adya): conflict serializability and its anomalies.

With the version order of every key known, a history is conflict serializable exactly
when the graph of write-write, write-read and read-write (anti-) dependencies is
acyclic, and then a topological order is the witness. Everything runs on plain
int adjacency lists (a million edges in about a second; networkx objects cost five to
ten times more): the acyclicity pass, then on the part left cyclic strongly connected
components (Tarjan) and shortest cycles, which name the anomalies the way Elle does.
``to_networkx`` hands the whole graph to users who want to analyse it further.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

import attrs

from shardcheck.checker.history.anomalies import (
    Anomaly,
    Edge,
    EdgeKind,
    classify_cycle,
    cycle_message,
)
from shardcheck.checker.history.indexed import INIT, Indexed
from shardcheck.checker.history.indexed import show_value as _show

if TYPE_CHECKING:
    import networkx as nx

EXACT_CYCLE_LIMIT = 60
"""Components up to this many nodes get a provably shortest cycle; larger ones a short
cycle from a bounded number of searches, so a hugely cyclic history still reports fast."""

SEARCHES_IN_LARGE_COMPONENTS = 16

ALL = frozenset({"ww", "wr", "rw"})
DEPENDENCIES = frozenset({"ww", "wr"})


@attrs.frozen
class Order:
    """A topological order of a graph, or the nodes left on cycles."""

    order: tuple[int, ...]
    cyclic: frozenset[int]


def topological(n: int, succ: list[list[int]]) -> Order:
    """Kahn's algorithm; ties go to the smallest node so witnesses are deterministic."""
    indegree = [0] * n
    for targets in succ:
        for v in targets:
            indegree[v] += 1
    ready = [u for u in range(n) if indegree[u] == 0]
    heapq.heapify(ready)
    order: list[int] = []
    pop, push = heapq.heappop, heapq.heappush
    while ready:
        u = pop(ready)
        order.append(u)
        for v in succ[u]:
            indegree[v] -= 1
            if indegree[v] == 0:
                push(ready, v)
    cyclic = frozenset(u for u in range(n) if indegree[u] > 0) if len(order) < n else frozenset()
    return Order(tuple(order), cyclic)


def reachability(n: int, succ: list[list[int]], order: Sequence[int],
                 own: Sequence[int] | None = None) -> list[int]:
    """Per node, the OR of ``own`` bits of every node it reaches, itself included
    (``own[u]`` defaults to ``1 << u``); ``order`` is a topological order."""
    reach = [0] * n
    for u in reversed(order):
        bits = (1 << u) if own is None else own[u]
        for v in succ[u]:
            bits |= reach[v]
        reach[u] = bits
    return reach


def missing_versions(ix: Indexed) -> list[str]:
    """Keys written by two or more transactions whose version order is unknown."""
    return [ix.keys[k] for k, order in enumerate(ix.version) if order is None]


def _next_versions(ix: Indexed) -> list[dict[int, int]]:
    """Per key: each version's writer (INIT for the initial one) to the next writer."""
    out: list[dict[int, int]] = []
    for order in ix.version:
        chain = [INIT, *(order or ())]
        out.append(dict(itertools.pairwise(chain)))
    return out


def adjacency(ix: Indexed) -> list[list[int]]:
    """The graph's successor lists, unlabelled, for the fast acyclicity pass."""
    succ: list[list[int]] = [[] for _ in range(ix.size)]
    for order in ix.version:
        if order:
            for a, b in itertools.pairwise(order):
                succ[a].append(b)
    nexts = _next_versions(ix)
    for r, reads in enumerate(ix.reads):
        for k, w in reads:
            if w != INIT:
                succ[w].append(r)
            following = nexts[k].get(w)
            if following is not None and following != r:
                succ[r].append(following)
    return succ


def labelled_edges(ix: Indexed, keep: Callable[[int], bool]) -> Iterator[tuple[int, int,
                                                                              EdgeKind, int]]:
    """Every edge between kept nodes as (source, target, kind, key)."""
    for k, order in enumerate(ix.version):
        if order:
            for a, b in itertools.pairwise(order):
                if keep(a) and keep(b):
                    yield a, b, "ww", k
    nexts = _next_versions(ix)
    for r, reads in enumerate(ix.reads):
        if not keep(r):
            continue
        for k, w in reads:
            if w != INIT and keep(w):
                yield w, r, "wr", k
            following = nexts[k].get(w)
            if following is not None and following != r and keep(following):
                yield r, following, "rw", k


def evidence(ix: Indexed, a: int, b: int, kind: EdgeKind, k: int) -> Edge:
    """An edge with the sentence that justifies it from the history."""
    key = ix.keys[k]
    src, dst = ix.ids[a], ix.ids[b]
    if kind == "ww":
        why = f"{dst} overwrote {src}'s {key}"
    elif kind == "wr":
        why = f"{dst} read {key} = {_show(ix.read_value(b, k))} written by {src}"
    else:
        why = f"{src} read a version of {key} that {dst} overwrote"
    return Edge(src, dst, kind, key, why)


Labels = dict[int, dict[int, dict[str, int]]]
"""A labelled graph: node -> successor -> {edge kind: key}."""


def cyclic_graph(ix: Indexed, nodes: Iterable[int],
                 edges: Iterable[tuple[int, int, EdgeKind, int]] | None = None) -> Labels:
    """The labelled graph on ``nodes``; each edge keeps one key per kind."""
    members = set(nodes)
    graph: Labels = {u: {} for u in sorted(members)}
    source = edges if edges is not None else labelled_edges(ix, members.__contains__)
    for a, b, kind, k in source:
        if a in members and b in members:
            graph[a].setdefault(b, {}).setdefault(kind, k)
    return graph


def to_networkx(ix: Indexed) -> nx.MultiDiGraph[str]:
    """The whole dependency graph as networkx, one edge per (kind, key) with attributes
    ``kind`` and ``item`` (the key), for users who want to analyse it further; the
    checks themselves use plain lists for speed."""
    import networkx as nx  # only callers of this pay its import time (0.17 s)

    graph: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    graph.add_nodes_from(ix.ids)
    for a, b, kind, k in labelled_edges(ix, lambda _: True):
        # networkx reserves "key" for telling parallel edges apart: (kind, item) does that.
        graph.add_edge(ix.ids[a], ix.ids[b], key=f"{kind} {ix.keys[k]}", kind=kind,
                       item=ix.keys[k])
    return graph


def strongly_connected(adj: dict[int, list[int]]) -> list[list[int]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit), each
    sorted, in a deterministic order."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    out: list[list[int]] = []
    counter = 0
    for root in sorted(adj):
        if root in index:
            continue
        work = [(root, iter(adj[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            u, successors = work[-1]
            advanced = False
            for v in successors:
                if v not in index:
                    index[v] = low[v] = counter
                    counter += 1
                    stack.append(v)
                    on_stack.add(v)
                    work.append((v, iter(adj.get(v, ()))))
                    advanced = True
                    break
                if v in on_stack and index[v] < low[u]:
                    low[u] = index[v]
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                if low[u] < low[parent]:
                    low[parent] = low[u]
            if low[u] == index[u]:
                component = []
                while True:
                    v = stack.pop()
                    on_stack.discard(v)
                    component.append(v)
                    if v == u:
                        break
                out.append(sorted(component))
    return sorted(out)


Adjacency = dict[int, list[tuple[int, frozenset[str]]]]


def _shortest_path(adj: Adjacency, start: int, goal: int,
                   allowed: frozenset[str]) -> list[int] | None:
    parents = {start: start}
    queue = deque([start])
    while queue:
        u = queue.popleft()
        if u == goal:
            path = [u]
            while path[-1] != start:
                path.append(parents[path[-1]])
            return path[::-1]
        for v, kinds in adj[u]:
            if v not in parents and allowed & kinds:
                parents[v] = u
                queue.append(v)
    return None


def _cycle_edges(ix: Indexed, graph: Labels, nodes: list[int],
                 allowed: frozenset[str], closing: tuple[int, int, EdgeKind] | None = None
                 ) -> tuple[Edge, ...]:
    """Label a node cycle, preferring dependency kinds over anti-dependencies."""
    edges = []
    pairs = list(zip(nodes, [*nodes[1:], nodes[0]], strict=False))
    for i, (a, b) in enumerate(pairs):
        kinds = graph[a][b]
        if closing is not None and i == len(pairs) - 1:
            kind: EdgeKind = closing[2]
        else:
            kind = next(k for k in ("ww", "wr", "rw") if k in kinds and k in allowed)
        edges.append(evidence(ix, a, b, kind, kinds[kind]))
    return tuple(edges)


def _search(adj: Adjacency, region: list[int], allowed: frozenset[str],
            first: frozenset[str]) -> list[int] | None:
    """The shortest cycle whose closing edge has a kind in ``first`` and the rest in
    ``allowed``: exact for small regions, from a bounded number of edges in big ones."""
    members = set(region)
    # Two-transaction cycles first: the commonest anomalies, and found in one pass.
    for a in region:
        for b, kinds in adj[a]:
            if b in members and first & kinds and any(
                    v == a and allowed & back for v, back in adj[b]):
                return [b, a]
    best: list[int] | None = None
    tried = 0
    exact = len(region) <= EXACT_CYCLE_LIMIT
    for a in region:
        for b, kinds in adj[a]:
            if b not in members or not first & kinds:
                continue
            path = _shortest_path(adj, b, a, allowed)
            tried += 1
            if path is not None and (best is None or len(path) < len(best)):
                best = path
                if len(best) == 2:
                    return best
            if not exact and tried >= SEARCHES_IN_LARGE_COMPONENTS and best is not None:
                return best
    return best


def cycle_anomalies(ix: Indexed, graph: Labels) -> list[Anomaly]:
    """The most severe anomaly class of each strongly connected component, with one of
    its shortest cycles (G0, then G1c, then G-single, then G2)."""
    found: list[Anomaly] = []
    plain = {u: list(out) for u, out in graph.items()}
    for component in strongly_connected(plain):
        if len(component) > 1:
            anomaly = _most_severe(ix, graph, component)
            if anomaly is not None:
                found.append(anomaly)
    return found


_SEARCHES: tuple[tuple[frozenset[str], frozenset[str], EdgeKind], ...] = (
    (frozenset({"ww"}), frozenset({"ww"}), "ww"),
    (DEPENDENCIES, frozenset({"wr"}), "wr"),
    (DEPENDENCIES, frozenset({"rw"}), "rw"),
    (ALL, frozenset({"rw"}), "rw"),
)


def _most_severe(ix: Indexed, graph: Labels, component: list[int]) -> Anomaly | None:
    members = set(component)
    full: Adjacency = {u: [(v, frozenset(kinds)) for v, kinds in sorted(graph[u].items())
                           if v in members] for u in component}
    for allowed, first, closing_kind in _SEARCHES:
        # A class can only occur inside a cycle of its own edge kinds: find those cycles
        # first (one linear pass) and search for short ones only there.
        kinds = allowed | first
        adj: Adjacency = {u: [(v, k) for v, k in out if k & kinds] for u, out in full.items()}
        shape = {u: [v for v, _ in out] for u, out in adj.items()}
        regions = sorted((c for c in strongly_connected(shape) if len(c) > 1),
                         key=lambda c: (len(c), c))
        for region in regions:
            path = _search(adj, region, allowed, first)
            if path is None:
                continue
            # The search path runs b ... a; the cycle closes with the edge a -> b.
            edges = _cycle_edges(ix, graph, path, allowed, closing=(path[-1], path[0],
                                                                    closing_kind))
            kind = classify_cycle(edges)
            return Anomaly(kind, cycle_message(kind, edges), tuple(e.src for e in edges),
                           edges)
    return None


def trim_to_cycles(n: int, succ: list[list[int]], cyclic: frozenset[int]) -> frozenset[int]:
    """Of the nodes Kahn's algorithm could not order (cycles and everything after them),
    keep those that also lead back into a cycle: usually just the cycles themselves."""
    outdegree = {u: 0 for u in cyclic}
    pred: dict[int, list[int]] = {u: [] for u in cyclic}
    for u in cyclic:
        for v in succ[u]:
            if v in outdegree:
                outdegree[u] += 1
                pred[v].append(u)
    queue = [u for u, d in outdegree.items() if d == 0]
    removed = set(queue)
    while queue:
        v = queue.pop()
        for u in pred[v]:
            outdegree[u] -= 1
            if outdegree[u] == 0 and u not in removed:
                removed.add(u)
                queue.append(u)
    return frozenset(cyclic - removed)


def lost_updates(ix: Indexed) -> list[Anomaly]:
    """Pairs that read the same version of a key and both overwrote it."""
    readers: dict[tuple[int, int], list[int]] = {}
    for r, reads in enumerate(ix.reads):
        written = set(ix.writes[r])
        for k, w in reads:
            if k in written:
                readers.setdefault((k, w), []).append(r)
    found = []
    for (k, w), rs in sorted(readers.items()):
        if len(rs) > 1:
            a, b = ix.ids[rs[0]], ix.ids[rs[1]]
            source = "the initial store" if w == INIT else ix.ids[w]
            key = ix.keys[k]
            found.append(Anomaly(
                "lost-update", f"{a} and {b} both read {key} from {source} and both "
                f"overwrote it: one update is lost", (a, b)))
    return found


@attrs.frozen
class ConflictResult:
    """Conflict serializability: the witness order, or the anomalies of the cycles."""

    witness: tuple[str, ...] | None
    anomalies: tuple[Anomaly, ...]
    edges: int


def check_conflict(ix: Indexed) -> ConflictResult:
    """Decide conflict serializability of a history whose version orders are known."""
    succ = adjacency(ix)
    edges = sum(len(s) for s in succ)
    result = topological(ix.size, succ)
    if not result.cyclic:
        return ConflictResult(tuple(ix.ids[u] for u in result.order), (), edges)
    core = trim_to_cycles(ix.size, succ, result.cyclic)
    graph = cyclic_graph(ix, core)
    anomalies = cycle_anomalies(ix, graph)
    cyclic = {ix.ids[u] for u in core}
    cyclic_lost = [a for a in lost_updates(ix) if set(a.transactions) <= cyclic]
    return ConflictResult(None, (*cyclic_lost, *anomalies), edges)
