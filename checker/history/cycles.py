"""Cycles in a dependency graph, and the anomaly class each one shows.

A class is a shape of cycle (Adya, ICDE 2000, as Elle names them): G0 has only write-write
edges, G1c adds write-read ones, G-single has exactly one read-write anti-dependency,
G-nonadjacent two or more none of which follow each other, G2 two or more with two in a
row. An edge of real-time or process order makes a cycle the ``-realtime`` or ``-process``
variant. Each class is looked for on its own (Elle's searches), so a component that holds
a G1c and a G-single reports both, each with one of its shortest cycles.

The graph labels each edge with the kind of fact behind it, which decides both the class
and the words of the evidence:

``ww`` ``wr`` ``rw``  direct dependencies (Adya's edges: ``ww`` and ``rw`` between adjacent
                      versions);
``ww~`` ``rw~``       the same orders through versions in between, or in every version order
                      the history allows (a writer before the final writer; a reader of the
                      initial store before any writer);
``realtime`` ``process``  the order of time or of a session;
``order``             an order every serial order must keep whose dependency kind the history
                      leaves open (a reader of the initial store that also wrote the key comes
                      before the key's other writers, through its own version or past it);
``forced``            an ordering the polygraph forced because the other way closes a cycle.

A cycle with an ``order`` or ``forced`` edge proves that no serial order exists, but is no
dependency cycle: it is named ``unsatisfiable``, never given a class it may not have.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import attrs

Graph = dict[int, dict[int, dict[str, int]]]
"""node -> successor -> {kind: key index (-1 where no key is involved)}."""

BASE: dict[str, str] = {"ww": "ww", "ww~": "ww", "wr": "wr", "rw": "rw", "rw~": "rw",
                        "realtime": "realtime", "process": "process", "forced": "forced",
                        "order": "order"}
"""What each label counts as in a class."""

PREFERENCE: dict[str, tuple[str, ...]] = {
    "ww": ("ww", "ww~"), "wr": ("wr",), "rw": ("rw", "rw~"), "realtime": ("realtime",),
    "process": ("process",), "forced": ("forced",), "order": ("order",)}
"""For a class kind, the labels that show it, the most direct first."""

EXACT_CYCLE_LIMIT = 60
"""Regions up to this many nodes get a provably shortest cycle per class; larger ones a
short one from a bounded number of searches, so a hugely cyclic history still reports."""

SEARCHES_IN_LARGE_REGIONS = 4

@attrs.frozen
class Spec:
    """What a cycle of one class looks like."""

    name: str
    kinds: frozenset[str]
    min_rw: int = 0
    max_rw: int | None = None
    need_wr: bool = False
    nonadjacent: bool = False
    adjacent: bool = False
    extra: str | None = None

    @property
    def anchor(self) -> str:
        """The kind of edge every cycle of this class has: the search starts from one."""
        if self.min_rw:
            return "rw"
        if self.extra:
            return self.extra
        return "wr" if self.need_wr else "ww"


def _specs(extra: str | None) -> tuple[Spec, ...]:
    x = frozenset({extra}) if extra else frozenset()
    dep, ww = frozenset({"ww", "wr"}), frozenset({"ww"})
    every = frozenset({"ww", "wr", "rw"})
    return (
        Spec("G0", ww | x, max_rw=0, extra=extra),
        Spec("G1c", dep | x, max_rw=0, need_wr=True, extra=extra),
        Spec("G-single", every | x, min_rw=1, max_rw=1, extra=extra),
        Spec("G-nonadjacent", every | x, min_rw=2, nonadjacent=True, extra=extra),
        Spec("G2", every | x, min_rw=2, adjacent=True, extra=extra),
    )


PLAIN_SPECS = _specs(None)
EXTRA_SPECS = {"realtime": _specs("realtime"), "process": _specs("process")}


def classify(kinds: Sequence[str], keys: Sequence[int]) -> str:
    """The class of a cycle from the class kinds of its edges (and their keys)."""
    if "forced" in kinds or "order" in kinds:
        return "unsatisfiable"
    rw = [k == "rw" for k in kinds]
    count = sum(rw)
    if count == 0:
        name = "G1c" if "wr" in kinds else "G0"
    elif count == 1:
        name = "G-single"
    elif any(rw[i] and rw[i - 1] for i in range(len(rw))):
        name = "G2"
        if len(kinds) == 2 and keys[0] != keys[1] and not {"realtime", "process"} & set(kinds):
            return "write-skew"
    else:
        name = "G-nonadjacent"
    if "realtime" in kinds:
        return f"{name}-realtime"
    if "process" in kinds:
        return f"{name}-process"
    return name


Adjacency = dict[int, list[tuple[int, frozenset[str]]]]
"""node -> [(successor, the class kinds of the edges between them)], inside one region."""


def adjacency(graph: Graph, members: set[int] | None = None) -> Adjacency:
    """The graph with labels reduced to class kinds (restricted to ``members``)."""
    out: Adjacency = {}
    for u, targets in graph.items():
        if members is not None and u not in members:
            continue
        out[u] = [(v, frozenset(BASE[k] for k in labels)) for v, labels in sorted(targets.items())
                  if members is None or v in members]
    return out


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


Step = tuple[int, str]
"""One edge of a found cycle: its target node and the class kind it was taken as."""

# Search state flags, packed into the low bits beside the node.
_RW_ONE, _RW_TWO, _LAST_RW, _EXTRA, _WR, _ADJACENT = 1, 2, 4, 8, 16, 32
_FLAGS = 64


def _advance(spec: Spec, flags: int, kind: str) -> int | None:
    """The flags after one more edge of ``kind``, or None when the spec forbids it. Only
    the flags the spec looks at are kept, so a search has as few states as it can."""
    if kind not in spec.kinds:
        return None
    rw = kind == "rw"
    last_rw = bool(flags & _LAST_RW)
    if rw and last_rw and spec.nonadjacent:
        return None
    count = (2 if flags & _RW_TWO else 1 if flags & _RW_ONE else 0) + rw
    if spec.max_rw is not None and count > spec.max_rw:
        return None
    out = flags & (_EXTRA | _WR | _ADJACENT)
    out |= _RW_TWO if count >= 2 else _RW_ONE if count == 1 else 0
    if rw:
        out |= _LAST_RW
        if last_rw:
            out |= _ADJACENT
    if kind == "wr":
        out |= _WR
    if spec.extra is not None and kind == spec.extra:
        out |= _EXTRA
    return out & _mask(spec)


@functools.lru_cache(maxsize=64)
def _mask(spec: Spec) -> int:
    mask = 0
    if spec.min_rw or spec.max_rw:
        mask |= _RW_ONE | _RW_TWO
    if spec.nonadjacent or spec.adjacent:
        mask |= _LAST_RW
    if spec.adjacent:
        mask |= _ADJACENT
    if spec.need_wr:
        mask |= _WR
    if spec.extra is not None:
        mask |= _EXTRA
    return mask


@functools.lru_cache(maxsize=64)
def _transitions(spec: Spec) -> dict[tuple[int, str], int | None]:
    """Every (flags, kind) to the flags after it: computed once per class."""
    return {(flags, kind): _advance(spec, flags, kind)
            for flags in range(_FLAGS) for kind in set(BASE.values())}


def _closes(spec: Spec, flags: int, first_rw: bool) -> bool:
    count = 2 if flags & _RW_TWO else 1 if flags & _RW_ONE else 0
    wraps = bool(flags & _LAST_RW) and first_rw
    return (count >= spec.min_rw and (not spec.need_wr or bool(flags & _WR))
            and (spec.extra is None or bool(flags & _EXTRA))
            and not (spec.nonadjacent and wraps)
            and (not spec.adjacent or bool(flags & _ADJACENT) or wraps))


def _from_edge(adj: Adjacency, spec: Spec, a: int, b: int, first: str,
               limit: int | None = None) -> list[Step] | None:
    """The shortest cycle of ``spec`` that starts with the edge a -> b taken as ``first``,
    of at most ``limit`` edges when given."""
    start = _advance(spec, 0, first)
    if start is None:
        return None
    first_rw = first == "rw"
    origin = b * _FLAGS + start
    parents: dict[int, tuple[int, str]] = {origin: (-1, first)}
    advance = _transitions(spec)
    layer = [origin]
    edges = 1
    while layer and (limit is None or edges < limit):
        edges += 1
        following: list[int] = []
        for state in layer:
            u, flags = divmod(state, _FLAGS)
            for v, kinds in adj[u]:
                for kind in kinds:
                    nxt = advance[flags, kind]
                    if nxt is None:
                        continue
                    if v == a:
                        if not _closes(spec, nxt, first_rw):
                            continue
                        steps = [(a, kind)]
                        back = state
                        while back != -1:
                            parent, taken = parents[back]
                            steps.append((back // _FLAGS, taken))
                            back = parent
                        # States carry flags, so a walk may pass a node twice: only a
                        # simple cycle is reported (the search may then miss one, never
                        # invent one).
                        if len({node for node, _ in steps}) == len(steps):
                            return steps[::-1]
                        continue
                    key = v * _FLAGS + nxt
                    if key not in parents:
                        parents[key] = (state, kind)
                        following.append(key)
        layer = following
    return None


def find_cycle(adj: Adjacency, region: list[int], spec: Spec) -> tuple[int, list[Step]] | None:
    """A shortest cycle of the class ``spec`` inside ``region`` as (its first node, the
    steps around it); exact for small regions, from a bounded number of edges otherwise."""
    members = set(region)
    best: tuple[int, list[Step]] | None = None
    tried = 0
    exact = len(region) <= EXACT_CYCLE_LIMIT
    anchor = spec.anchor
    for a in region:
        for b, kinds in adj[a]:
            if b not in members or anchor not in kinds:
                continue
            steps = _from_edge(adj, spec, a, b, anchor,
                               None if best is None else len(best[1]) - 1)
            tried += 1
            if steps is not None and (best is None or len(steps) < len(best[1])):
                # Listed from b, so the edge the search started from closes the cycle.
                best = (b, [*steps[1:], steps[0]])
                if len(steps) <= 2:
                    return best
            if not exact and tried >= SEARCHES_IN_LARGE_REGIONS and best is not None:
                return best
    return best


def _regions(adj: Adjacency, kinds: frozenset[str]) -> list[list[int]]:
    shape = {u: [v for v, k in out if k & kinds] for u, out in adj.items()}
    return sorted((c for c in strongly_connected(shape) if len(c) > 1),
                  key=lambda c: (len(c), c))


def class_cycles(graph: Graph, component: list[int], specs: Sequence[Spec]
                 ) -> list[tuple[str, int, list[Step]]]:
    """Per class the shortest cycle found in one strongly connected component, as
    (class, first node, steps), most severe first; each class at most once."""
    members = set(component)
    full = adjacency(graph, members)
    present = {k for out in full.values() for _, kinds in out for k in kinds}
    found: dict[str, tuple[int, list[Step]]] = {}
    for spec in specs:
        if spec.anchor not in present or (spec.extra and spec.extra not in present):
            continue
        adj = {u: [(v, k & spec.kinds) for v, k in out if k & spec.kinds]
               for u, out in full.items()}
        for region in _regions(adj, spec.kinds):
            hit = find_cycle(adj, region, spec)
            if hit is None:
                continue
            first, steps = hit
            keys = [_key_of(graph, u, v, kind) for u, (v, kind) in
                    zip([first, *(s[0] for s in steps[:-1])], steps, strict=True)]
            name = classify([kind for _, kind in steps], keys)
            if name not in found:
                found[name] = hit
            break
    return [(name, *found[name]) for name in found]


def _key_of(graph: Graph, u: int, v: int, kind: str) -> int:
    labels = graph[u][v]
    return next(labels[k] for k in PREFERENCE[kind] if k in labels)


def shortest_any(graph: Graph, component: list[int]) -> tuple[int, list[Step]] | None:
    """A shortest cycle of any kinds in a component (for cycles that include forced edges)."""
    adj = adjacency(graph, set(component))
    every = frozenset(BASE.values())
    spec = Spec("any", every)
    best: tuple[int, list[Step]] | None = None
    for a in component:
        for b, kinds in adj[a]:
            for kind in sorted(kinds):
                steps = _from_edge(adj, spec, a, b, kind)
                if steps is not None and (best is None or len(steps) < len(best[1])):
                    best = (a, steps)
            if best is not None and (len(best[1]) <= 2 or len(component) > EXACT_CYCLE_LIMIT):
                return best
    return best


def labels_of(graph: Graph, first: int, steps: list[Step]) -> list[tuple[int, int, str, int]]:
    """The cycle as (source, target, label, key) with the most direct label for each step."""
    out = []
    u = first
    for v, kind in steps:
        labels = graph[u][v]
        label = next(k for k in PREFERENCE[kind] if k in labels)
        out.append((u, v, label, labels[label]))
        u = v
    return out
