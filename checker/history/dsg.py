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
from shardcheck.checker.history.indexed import Indexed
from shardcheck.checker.history.indexed import show_value as _show
from shardcheck.checker.history.versions import INIT

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


Versions = Sequence[list[int] | None]
LabelledEdge = tuple[int, int, str, int]


def _next_versions(version: Versions) -> list[dict[int, int]]:
    """Per key: each version's writer (INIT for the initial one) to the next writer."""
    out: list[dict[int, int]] = []
    for order in version:
        chain = [INIT, *(order or ())]
        out.append(dict(itertools.pairwise(chain)) if order is not None else {})
    return out


def adjacency(ix: Indexed, version: Versions | None = None,
              extra: Sequence[LabelledEdge] = ()) -> list[list[int]]:
    """The graph's successor lists, unlabelled, for the fast acyclicity pass (keys without
    a version order contribute their read edges only)."""
    version = ix.version if version is None else version
    succ: list[list[int]] = [[] for _ in range(ix.size)]
    for order in version:
        if order:
            for a, b in itertools.pairwise(order):
                succ[a].append(b)
    nexts = _next_versions(version)
    for r, reads in enumerate(ix.reads):
        for k, w in reads:
            if w != INIT:
                succ[w].append(r)
            following = nexts[k].get(w)
            if following is not None and following != r:
                succ[r].append(following)
    for a, b, _, _ in extra:
        succ[a].append(b)
    return succ


def labelled_edges(ix: Indexed, keep: Callable[[int], bool], version: Versions | None = None,
                   extra: Sequence[LabelledEdge] = ()) -> Iterator[LabelledEdge]:
    """Every edge between kept nodes as (source, target, label, key)."""
    version = ix.version if version is None else version
    for k, order in enumerate(version):
        if order:
            for a, b in itertools.pairwise(order):
                if keep(a) and keep(b):
                    yield a, b, "ww", k
    nexts = _next_versions(version)
    for r, reads in enumerate(ix.reads):
        if not keep(r):
            continue
        for k, w in reads:
            if w != INIT and keep(w):
                yield w, r, "wr", k
            following = nexts[k].get(w)
            if following is not None and following != r and keep(following):
                yield r, following, "rw", k
    for edge in extra:
        if keep(edge[0]) and keep(edge[1]):
            yield edge


def realtime_edges(ix: Indexed) -> list[LabelledEdge]:
    """T1 -> T2 whenever T1 ended before T2 started, without the ones implied through a
    third transaction (Elle's sweep): each start links to the frontier of transactions
    that ended most recently, and an end retires every frontier member that ended before
    its transaction started."""
    events: list[tuple[float, int, int]] = []
    for n, t in enumerate(ix.transactions):
        if t.start is not None:
            events.append((t.start, 0, n))  # starts first: an end at the same time is not before
        if t.end is not None:
            events.append((t.end, 1, n))
    events.sort()
    frontier: list[int] = []
    out: list[LabelledEdge] = []
    for _, is_end, n in events:
        if not is_end:
            out.extend((f, n, "realtime", -1) for f in frontier)
            continue
        start = ix.transactions[n].start
        if start is not None:
            frontier = [f for f in frontier if not _ended_before(ix, f, start)]
        frontier.append(n)
    return out


def _ended_before(ix: Indexed, n: int, time: float) -> bool:
    end = ix.transactions[n].end
    return end is not None and end < time


def process_edges(ix: Indexed) -> list[LabelledEdge]:
    """Each process's transactions one after another: in order of start time where every
    one has one, else in the order the history lists them."""
    runs: dict[str, list[int]] = {}
    for n, t in enumerate(ix.transactions):
        if t.process is not None:
            runs.setdefault(t.process, []).append(n)
    out: list[LabelledEdge] = []
    for nodes in runs.values():
        starts = [ix.transactions[n].start for n in nodes]
        if all(s is not None for s in starts):
            nodes = sorted(nodes, key=lambda n: (ix.transactions[n].start, n))
        out.extend((a, b, "process", -1) for a, b in itertools.pairwise(nodes))
    return out


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
    elif label == "order":
        basis = "order"
        why = (f"{src} read the initial {key} and wrote {key} too, so it comes before "
               f"{dst}, another writer of {key}, in any serial order that explains its read")
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
    """Pairs that read the same version of a key and both overwrote it (computed once)."""
    if ix.lost is None:
        ix.lost = _lost_updates(ix)
    return ix.lost


def _lost_updates(ix: Indexed) -> list[Anomaly]:
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
    """Conflict serializability: the witness order, or the anomalies of the cycles, or
    (``undecided``) why the answer depends on version orders the history does not fix."""

    witness: tuple[str, ...] | None
    anomalies: tuple[Anomaly, ...]
    edges: int
    undecided: str = ""
    orders: int = 1
    """How many version orders the verdict covers (more than one without versions)."""
    cyclic: frozenset[int] = frozenset()
    """The nodes on cycles, when there are some."""
    open_keys: tuple[int, ...] = ()
    """Keys whose version order the history leaves open, when too many orders are allowed
    to try one by one (the polygraph may still refute them all)."""


def check_conflict(ix: Indexed, extra: Sequence[LabelledEdge] = (),
                   version: Versions | None = None) -> ConflictResult:
    """Decide conflict serializability of a history whose version orders are known (those
    of ``version`` when given), with ``extra`` edges of time or session order."""
    succ = adjacency(ix, version, extra)
    edges = sum(len(s) for s in succ)
    result = topological(ix.size, succ)
    if not result.cyclic:
        return ConflictResult(tuple(ix.ids[u] for u in result.order), (), edges)
    core = trim_to_cycles(ix.size, succ, result.cyclic)
    members = core.__contains__
    graph = cyclic_graph(ix, core, labelled_edges(ix, members, version, extra))
    return ConflictResult(None, _with_lost_updates(ix, core, cycle_anomalies(ix, graph)), edges,
                          cyclic=core)


def _with_lost_updates(ix: Indexed, core: Iterable[int], anomalies: list[Anomaly]
                       ) -> tuple[Anomaly, ...]:
    cyclic = {ix.ids[u] for u in core}
    cyclic_lost = [a for a in lost_updates(ix) if set(a.transactions) <= cyclic]
    return (*cyclic_lost, *anomalies)


MAX_COMPLETIONS = 24
"""Version orders the conflict criterion tries one by one when a history leaves some keys'
orders open; beyond that it asks the polygraph whether any order works."""


def base_edges(ix: Indexed, open_keys: Sequence[int]) -> list[LabelledEdge]:
    """The edges every version order the history allows has, for keys whose order is
    open: ``ww~`` along what is known of their order, and ``rw~`` from a reader (that does
    not write the key) to each writer known to come after the version it read."""
    out: list[LabelledEdge] = []
    for k in open_keys:
        known = sorted(set(ix.partial[k]))
        after: dict[int, list[int]] = {}
        later: set[int] = set()
        for a, b in known:
            out.append((a, b, "ww~", k))
            after.setdefault(a, []).append(b)
            later.add(b)
        after[INIT] = [w for w in ix.writers[k] if w not in later]
        writers = set(ix.writers[k])
        for r, reads in enumerate(ix.reads):
            if r in writers:
                continue
            for key, w in reads:
                if key == k:
                    out.extend((r, s, "rw~", k) for s in after.get(w, ()) if s != r)
    return out


def completions(ix: Indexed, open_keys: Sequence[int], limit: int
                ) -> list[list[list[int]]] | None:
    """Every combination of version orders of the open keys the known edges allow, or None
    when there are more than ``limit``."""
    per_key = []
    total = 1
    for k in open_keys:
        orders = _linear_extensions(ix.writers[k], ix.partial[k], limit + 1)
        total *= len(orders)
        if total > limit:
            return None
        per_key.append(orders)
    return [list(combo) for combo in itertools.product(*per_key)]


def _linear_extensions(nodes: list[int], edges: list[tuple[int, int]], limit: int
                       ) -> list[list[int]]:
    """Up to ``limit`` orders of ``nodes`` that respect ``edges``, in lexicographic order
    (iterative: a key may have thousands of writers)."""
    succ: dict[int, list[int]] = {u: [] for u in nodes}
    waiting = dict.fromkeys(nodes, 0)
    for a, b in set(edges):
        if a in succ and b in waiting:
            succ[a].append(b)
            waiting[b] += 1
    out: list[list[int]] = []
    prefix: list[int] = []
    # Each frame: the nodes free to go next at that depth, and how many were tried.
    frames: list[tuple[list[int], int]] = [(sorted(u for u in nodes if not waiting[u]), 0)]
    free = set(frames[0][0])
    while frames:
        ready, tried = frames[-1]
        if tried:
            last = prefix.pop()  # undo the node placed from this frame last time
            free.add(last)
            for v in succ[last]:
                if not waiting[v]:
                    free.discard(v)
                waiting[v] += 1
        if tried == len(ready):
            frames.pop()
            continue
        frames[-1] = (ready, tried + 1)
        u = ready[tried]
        prefix.append(u)
        free.discard(u)
        for v in succ[u]:
            waiting[v] -= 1
            if not waiting[v]:
                free.add(v)
        if len(prefix) == len(nodes):
            out.append(list(prefix))
            if len(out) >= limit:
                return out
            frames.append(([], 0))
            continue
        frames.append((sorted(free), 0))
    return out


def decide_conflict(ix: Indexed, extra: Sequence[LabelledEdge] = ()) -> ConflictResult:
    """Conflict serializability when some keys' version orders are open: violated when
    the edges every allowed order shares close a cycle, or every order closes one;
    holds when every order leaves the graph acyclic; otherwise undecided, saying which
    order decides."""
    open_keys = [k for k, order in enumerate(ix.version) if order is None]
    if not open_keys:
        return check_conflict(ix, extra)
    shared = [*base_edges(ix, open_keys), *extra]
    base = check_conflict(ix, shared)
    if base.witness is None:
        return base
    combos = completions(ix, open_keys, MAX_COMPLETIONS)
    names = ", ".join(ix.keys[k] for k in open_keys[:3]) + (" …" if len(open_keys) > 3
                                                           else "")
    if combos is None:
        return ConflictResult(None, (), base.edges, undecided=(
            f"the version order of {names} is open and the orders the history allows are "
            "too many to try one by one"), open_keys=tuple(open_keys))
    results = []
    for combo in combos:
        version = list(ix.version)
        for k, order in zip(open_keys, combo, strict=True):
            version[k] = order
        results.append((combo, check_conflict(ix, extra, version)))
    holding = [(c, r) for c, r in results if r.witness is not None]
    if len(holding) == len(results):
        first = holding[0][1]
        return ConflictResult(first.witness, (), first.edges, orders=len(results))
    failing = [(c, r) for c, r in results if r.witness is None]
    if not holding:
        anomalies: list[Anomaly] = []
        lost = {a.message for _, r in results for a in r.anomalies if a.kind == "lost-update"}
        anomalies.extend(a for a in lost_updates(ix) if a.message in lost)
        for combo, result in failing[:4]:
            when = _orders_text(ix, open_keys, combo)
            anomalies.extend(attrs.evolve(a, message=f"{when}: {a.message}")
                             for a in result.anomalies if a.kind != "lost-update")
        return ConflictResult(None, tuple(anomalies), base.edges, orders=len(results))
    good, bad = holding[0][0], failing[0]
    classes = ", ".join(dict.fromkeys(a.kind for a in bad[1].anomalies))
    return ConflictResult(None, (), base.edges, orders=len(results), undecided=(
        f"the verdict depends on the version order of {names}: "
        f"{_orders_text(ix, open_keys, good)} leaves the graph acyclic, "
        f"{_orders_text(ix, open_keys, bad[0])} does not ({classes})"))


def _orders_text(ix: Indexed, open_keys: Sequence[int], combo: Sequence[list[int]]) -> str:
    parts = [f"{ix.keys[k]} versions {', '.join(ix.ids[u] for u in order)}"
             for k, order in zip(open_keys, combo, strict=True)]
    return "with " + " and ".join(parts)
