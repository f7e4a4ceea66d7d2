"""The version order of each key: recorded, implied by the facts a history records, or
inferred from its reads the way Elle infers it.

Facts are what the system under test said about itself: a recorded order (total, or
partial as chains), the version each write replaced, the prefixes a list-append read
reveals, the writer the final store names. Facts that contradict each other are an
anomaly (``cyclic-versions``, ``incompatible-order``), since no version order satisfies
them. Hints are what serializability would imply and real systems honour: a transaction
that read a key's version from W and then wrote the key installed its version after W's
(Elle's "writes follow reads"). Hints join the facts when they agree with them.

A key whose facts and hints order every writer has a version order; the others keep the
partial order as edges, which the conflict criterion then decides over every completion
(or as a polygraph) rather than giving up.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Mapping, Sequence

import attrs

from shardcheck.checker.history.anomalies import Anomaly
from shardcheck.checker.history.records import History, Op, Value, Write

INIT = -1
"""The writer node of a read from the initial store."""

Pair = tuple[int, int]


@attrs.define
class KeyFacts:
    """What is known about one key's versions, as edges between writer nodes."""

    facts: list[Pair] = attrs.Factory(list)
    hints: list[Pair] = attrs.Factory(list)
    first: list[int] = attrs.Factory(list)
    """Writers whose version the facts say came right after the initial one."""
    source: dict[Pair, str] = attrs.Factory(dict)
    """Where a fact came from, for messages."""


@attrs.frozen
class Orders:
    """Per key: the total version order (or None), and for the others their partial order."""

    total: list[list[int] | None]
    partial: list[list[Pair]]
    anomalies: list[Anomaly]


def settle_orders(keys: Sequence[str], writers: Sequence[list[int]],
                  facts: dict[int, KeyFacts], ids: Sequence[str]) -> Orders:
    """Each key's version order from its facts and hints."""
    total: list[list[int] | None] = []
    partial: list[list[Pair]] = []
    anomalies: list[Anomaly] = []
    for k, key in enumerate(keys):
        mine = writers[k]
        known = facts.get(k)
        if len(mine) <= 1:
            total.append(list(mine))
            partial.append([])
            continue
        if known is None:
            total.append(None)
            partial.append([])
            continue
        fact_edges = [*known.facts, *((f, w) for f in known.first for w in mine if w != f)]
        order = _topological(mine, fact_edges)
        if order is None:
            circle = _circle(mine, fact_edges)
            names = " before ".join(ids[u] for u in [*circle, circle[0]])
            why = sorted({known.source.get((a, b), "the facts") for a, b in
                          zip(circle, [*circle[1:], circle[0]], strict=True)})
            anomalies.append(Anomaly("cyclic-versions", f"{', '.join(why)} put {key}'s "
                                     f"versions in a circle: {names}",
                                     tuple(ids[u] for u in circle)))
            total.append(None)
            partial.append([])
            continue
        edges = [*fact_edges, *known.hints]
        combined = _topological(mine, edges)
        if combined is None:
            edges, combined = fact_edges, order
        total.append(combined if _unique(combined, edges) else None)
        partial.append(edges)
    return Orders(total, partial, anomalies)


def _topological(nodes: Sequence[int], edges: Sequence[Pair]) -> list[int] | None:
    """A topological order (smallest node first among the ready), or None on a cycle."""
    succ: dict[int, list[int]] = {u: [] for u in nodes}
    indegree = dict.fromkeys(nodes, 0)
    for a, b in edges:
        if a in succ and b in indegree:
            succ[a].append(b)
            indegree[b] += 1
    ready = [u for u, d in indegree.items() if d == 0]
    heapq.heapify(ready)
    out: list[int] = []
    while ready:
        u = heapq.heappop(ready)
        out.append(u)
        for v in succ[u]:
            indegree[v] -= 1
            if indegree[v] == 0:
                heapq.heappush(ready, v)
    return out if len(out) == len(indegree) else None


def _unique(order: list[int], edges: Sequence[Pair]) -> bool:
    """Whether ``order`` is the only topological order: each consecutive pair is ordered
    by the edges (directly or through others), which with a topological order means a
    path, and a path between consecutive nodes can only be a direct edge."""
    direct = set(edges)
    return all((a, b) in direct for a, b in itertools.pairwise(order))


def _circle(nodes: Sequence[int], edges: Sequence[Pair]) -> list[int]:
    """One cycle of a graph known to have one (iterative DFS)."""
    succ: dict[int, list[int]] = {u: [] for u in nodes}
    for a, b in edges:
        if a in succ and b in succ:
            succ[a].append(b)
    state: dict[int, int] = {}
    for root in nodes:
        if root in state:
            continue
        path = [root]
        state[root] = 1
        stack = [iter(succ[root])]
        while stack:
            advanced = False
            for v in stack[-1]:
                if state.get(v) == 1:
                    return path[path.index(v):]
                if v not in state:
                    state[v] = 1
                    path.append(v)
                    stack.append(iter(succ[v]))
                    advanced = True
                    break
            if not advanced:
                state[path.pop()] = 2
                stack.pop()
    raise AssertionError("no cycle in a graph that has one")


def gather_facts(history: History, keys: Sequence[str], node: dict[str, int],
                 writers: Sequence[list[int]], links: dict[int, list[Pair]],
                 final_writer: Sequence[int | None]
                 ) -> tuple[dict[int, KeyFacts], dict[int, list[int]], list[Anomaly]]:
    """The facts and hints of every key, and the keys whose recorded total order is all
    there is to know (returned as orders, no graph needed)."""
    key_of = {key: k for k, key in enumerate(keys)}
    facts: dict[int, KeyFacts] = {}
    anomalies: list[Anomaly] = []

    def of(k: int) -> KeyFacts:
        found = facts.get(k)
        if found is None:
            found = facts[k] = KeyFacts()
        return found

    def add(k: int, pairs: Sequence[Pair], source: str) -> None:
        known = of(k)
        for pair in pairs:
            known.facts.append(pair)
            known.source.setdefault(pair, source)

    recorded: dict[int, list[int]] = {}
    for key, listed in history.versions:
        k = key_of.get(key)
        if k is not None:
            recorded[k] = [node[t] for t in listed if t in node]
    for key, chains in history.version_chains:
        k = key_of.get(key)
        if k is not None:
            for chain in chains:
                kept = [node[t] for t in chain if t in node]
                add(k, list(itertools.pairwise(kept)), "versions")
    anomalies.extend(_replaced(history, key_of, node, of, add))
    if history.value_type == "list-append":
        orders, found = list_orders(history, node)
        anomalies.extend(found)
        for key, (owners, later) in orders.items():
            k = key_of.get(key)
            if k is not None:
                pairs = list(itertools.pairwise(owners))
                if owners:
                    pairs.extend((owners[-1], u) for u in later)
                add(k, pairs, "list reads")
    for k, last in enumerate(final_writer):
        if last is not None and last != INIT and k not in recorded:
            add(k, [(w, last) for w in writers[k] if w != last], "the final store")
    for k, pairs in links.items():
        if k not in recorded:
            of(k).hints.extend((w, t) for w, t in pairs if w != INIT and w != t)
    for k, total in recorded.items():
        if k in facts:
            add(k, list(itertools.pairwise(total)), "versions")
    return facts, {k: o for k, o in recorded.items() if k not in facts}, anomalies


def _replaced(history: History, key_of: dict[str, int], node: dict[str, int],
              of: Callable[[int], KeyFacts], add: Callable[[int, Sequence[Pair], str], None]
              ) -> list[Anomaly]:
    """Facts from ``replaces``: each committed write came right after the version it names
    (through aborted writers, whose versions do not count); two that name one version
    are an anomaly."""
    named = {(tid, key): by for tid, key, by in history.replaces}
    right_after: dict[tuple[str, str | None], list[str]] = {}
    for (tid, key), by in named.items():
        k = key_of.get(key)
        if k is None or tid not in node:
            continue
        seen = {tid}
        while by is not None and by not in node and by not in seen:
            seen.add(by)
            by = named.get((by, key), "?")
        if by == "?" or by in seen:
            continue  # an aborted writer whose own predecessor is unknown
        right_after.setdefault((key, by), []).append(tid)
        if by is None:
            of(k).first.append(node[tid])
        else:
            add(k, [(node[by], node[tid])], "replaces")
    out: list[Anomaly] = []
    for (key, by), tids in sorted(right_after.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        if len(tids) > 1:
            source = "the initial version" if by is None else f"{by}'s version"
            out.append(Anomaly("incompatible-order", f"{' and '.join(tids)} each replaced "
                               f"{source} of {key}: one version order cannot hold both",
                               tuple(tids)))
    return out


def list_orders(history: History, node: dict[str, int]
                ) -> tuple[dict[str, tuple[list[int], list[int]]], list[Anomaly]]:
    """For a list-append history, per key the appenders in the order the longest read shows
    them plus the committed appenders no read shows (their versions came later), and the
    anomalies the lists show by themselves."""
    appender: dict[tuple[str, Value], str] = {}
    appends: dict[tuple[str, str], list[Value]] = {}
    status = {t.id: t.status for t in history.transactions}
    for t in history.transactions:
        for op in t.ops:
            if len(op) == 2:
                appender.setdefault((op.key, op.value), t.id)
                appends.setdefault((t.id, op.key), []).append(op.value)
    longest: dict[str, tuple[Value, ...]] = {}
    found: list[Anomaly] = []
    flagged: set[str] = set()
    for t in history.committed():
        reads = [op for op in t.ops if len(op) == 3]
        for op, seen in zip(reads, t.lists, strict=False):
            found.extend(_list_faults(t.id, op.key, seen, appender, appends, status))
            best = longest.get(op.key, ())
            if len(seen) > len(best):
                best, seen = seen, best
            if seen != best[:len(seen)] and op.key not in flagged:
                flagged.add(op.key)
                found.append(Anomaly(
                    "incompatible-order", f"{t.id} read {op.key} = {_show(seen)}, which is "
                    f"no prefix of {_show(best)}, read of the same key", (t.id,)))
            longest[op.key] = best
        found.extend(_internal_lists(t.id, t.ops, t.lists))
    orders: dict[str, tuple[list[int], list[int]]] = {}
    committed_appenders: dict[str, list[int]] = {}
    for (tid, key) in appends:
        if tid in node:
            committed_appenders.setdefault(key, []).append(node[tid])
    for key, seen in longest.items():
        owners: list[int] = []
        for value in seen:
            owner = appender.get((key, value))
            if owner is None or owner not in node:
                continue
            if not owners or owners[-1] != node[owner]:
                owners.append(node[owner])
        if len(set(owners)) != len(owners) and key not in flagged:
            flagged.add(key)
            found.append(Anomaly("incompatible-order", f"{key} = {_show(seen)} interleaves "
                                 "one transaction's appends with another's",
                                 tuple(sorted({appender[(key, v)] for v in seen
                                               if (key, v) in appender}))))
            continue
        shown = set(owners)
        later = [u for u in committed_appenders.get(key, []) if u not in shown]
        orders[key] = (owners, later)
    return orders, found


def _show(values: Sequence[Value]) -> str:
    return "[" + ", ".join("null" if v is None else repr(v) if isinstance(v, str) else str(v)
                           for v in values) + "]"


def _list_faults(tid: str, key: str, seen: tuple[Value, ...],
                 appender: dict[tuple[str, Value], str],
                 appends: dict[tuple[str, str], list[Value]], status: Mapping[str, str]
                 ) -> list[Anomaly]:
    """What one list read shows by itself: duplicates, unknown and aborted elements, and
    a writer's appends seen only in part before another's."""
    out: list[Anomaly] = []
    what = f"{tid} read {key} = {_show(seen)}"
    if len(set(seen)) != len(seen):
        twice = next(v for i, v in enumerate(seen) if v in seen[:i])
        out.append(Anomaly("duplicate-elements", f"{what}, which holds {_show([twice])[1:-1]} "
                           "twice", (tid,)))
    body = seen[:-1]  # the last element is judged as the read's own version
    for value in body:
        owner = appender.get((key, value))
        if owner is None:
            out.append(Anomaly("garbage-read", f"{what}, but no transaction appended "
                               f"{_show([value])[1:-1]}", (tid,)))
            return out
        if status.get(owner) == "aborted":
            out.append(Anomaly("G1a", f"{what}, which holds {owner}'s append of "
                               f"{_show([value])[1:-1]}; {owner} aborted", (tid, owner)))
            return out
    i = 0
    while i < len(seen):
        owner = appender.get((key, seen[i]))
        j = i
        while j < len(seen) and appender.get((key, seen[j])) == owner:
            j += 1
        if owner is not None and j < len(seen):
            mine = appends.get((owner, key), [])
            if list(seen[i:j]) != mine[:j - i] or j - i < len(mine):
                out.append(Anomaly("G1b", f"{what}, which holds {owner}'s appends "
                                   f"{_show(seen[i:j])} but not all of {_show(mine)} before "
                                   "another's: an intermediate version", (tid, owner)))
                break
        i = j
    return out


def _internal_lists(tid: str, ops: Sequence[Op], lists: Sequence[tuple[Value, ...]]
                    ) -> list[Anomaly]:
    """A transaction's list reads must agree with each other and its own appends."""
    expected: dict[str, list[Value] | None] = {}
    mine: dict[str, list[Value]] = {}
    observed = iter(lists)
    for op in ops:
        key = op.key
        if isinstance(op, Write):
            value = op.value
            mine.setdefault(key, []).append(value)
            before = expected.get(key)
            if before is not None:
                before.append(value)
            continue
        seen = list(next(observed, ()))
        before = expected.get(key)
        own = mine.get(key, [])
        if before is not None and seen != before:
            return [Anomaly("internal", f"{tid} read {key} = {_show(seen)}, but what it "
                            f"read and appended before says {_show(before)}", (tid,))]
        if before is None and own and seen[-len(own):] != own:
            return [Anomaly("internal", f"{tid} read {key} = {_show(seen)}, which does not "
                            f"end with its own appends {_show(own)}", (tid,))]
        expected[key] = seen
    return []
