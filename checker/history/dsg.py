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
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

import attrs

from shardcheck.checker.history.anomalies import Anomaly, Basis, Edge, EdgeKind, cycle_message
from shardcheck.checker.history.cycles import (
    BASE,
    EXTRA_SPECS,
    PLAIN_SPECS,
    Graph,
    class_cycles,
    labels_of,
    shortest_any,
    strongly_connected,
)
from shardcheck.checker.history.indexed import INIT, Indexed
from shardcheck.checker.history.indexed import show_value as _show

if TYPE_CHECKING:
    import networkx as nx

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


def _version_read(ix: Indexed, r: int, k: int) -> str:
    """Which version of key ``k`` reader ``r`` read, in words, when it read just one."""
    sources = {w for key, w in ix.reads[r] if key == k}
    if len(sources) != 1:
        return f"a version of {ix.keys[k]}"
    (w,) = sources
    return (f"the initial {ix.keys[k]}" if w == INIT else f"{ix.ids[w]}'s {ix.keys[k]}")


def _time(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


def evidence(ix: Indexed, a: int, b: int, label: str, k: int,
             notes: dict[tuple[int, int], str] | None = None) -> Edge:
    """An edge with the sentence that justifies it from the history, worded exactly: a
    dependency between adjacent versions, an order through versions between, or an
    ordering forced while pruning."""
    key = ix.keys[k] if k >= 0 else ""
    src, dst = ix.ids[a], ix.ids[b]
    kind: EdgeKind = BASE[label]  # type: ignore[assignment]
    basis: Basis = "order" if label.endswith("~") else "direct"
    if label == "ww":
        why = f"{dst} overwrote {src}'s {key}"
    elif label == "ww~":
        last = " (the last version)" if ix.final_writer[k] == b else ""
        why = f"{src}'s version of {key} comes before {dst}'s{last}"
    elif label == "wr":
        why = f"{dst} read {key} = {_show(ix.read_value(b, k, a))} written by {src}"
    elif label == "rw":
        why = f"{src} read a version of {key} that {dst} overwrote"
    elif label == "rw~":
        why = f"{src} read {_version_read(ix, a, k)}; {dst} wrote a later version of {key}"
    elif label == "realtime":
        why = (f"{src} ended at {_time(ix.transactions[a].end)} before {dst} started at "
               f"{_time(ix.transactions[b].start)}")
    elif label == "process":
        why = f"process {ix.transactions[a].process} ran {src} before {dst}"
    else:
        basis = "forced"
        why = (notes or {}).get((a, b)) or (f"forced: {src} before {dst}, since the other "
                                            "way closes a cycle")
    return Edge(src, dst, kind, key, why, basis)


Labels = Graph
"""A labelled graph: node -> successor -> {edge label: key}."""


def cyclic_graph(ix: Indexed, nodes: Iterable[int],
                 edges: Iterable[tuple[int, int, str, int]] | None = None) -> Labels:
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


def cycle_anomalies(ix: Indexed, graph: Labels,
                    notes: dict[tuple[int, int], str] | None = None) -> list[Anomaly]:
    """Every anomaly class present in each strongly connected component, each with one of
    its shortest cycles (G0, G1c, G-single, G-nonadjacent, G2, then the -process and
    -realtime variants); a component whose only cycles need a forced ordering gets one
    ``unsatisfiable`` cycle instead."""
    found: list[Anomaly] = []
    plain = {u: list(out) for u, out in graph.items()}
    extras = {BASE[label] for out in graph.values() for labels in out.values()
              for label in labels} & set(EXTRA_SPECS)
    specs = [*PLAIN_SPECS, *(spec for name in ("process", "realtime") if name in extras
                             for spec in EXTRA_SPECS[name])]
    for component in strongly_connected(plain):
        if len(component) < 2:
            continue
        hits = class_cycles(graph, component, specs)
        if not hits:
            hit = shortest_any(graph, component)
            hits = [] if hit is None else [("unsatisfiable", *hit)]
        for name, first, steps in hits:
            edges = tuple(evidence(ix, a, b, label, k, notes)
                          for a, b, label, k in labels_of(graph, first, steps))
            found.append(Anomaly(name, _message(name, edges), tuple(e.src for e in edges),
                                 edges))
    return found


def _message(name: str, edges: tuple[Edge, ...]) -> str:
    if name != "unsatisfiable":
        return cycle_message(name, edges)
    names = " -> ".join([*(e.src for e in edges), edges[0].src])
    return f"no serial order: every one would need {names}"


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
