"""A history compiled to integers, the structural anomalies, and replay of a serial order.

Graph work on 100,000 transactions has to stay in plain lists of ints (networkx objects
cost five to ten times more), so every check starts from this compiled form: committed
transactions are nodes ``0..n-1`` in listing order, keys are ints, and each node keeps
the external reads it made (key, writer node or ``INIT``) and the keys it wrote.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import attrs

from shardcheck.checker.errors import BadInput
from shardcheck.checker.history.anomalies import Anomaly
from shardcheck.checker.history.records import History, HistoryTx, Read, Value, Write
from shardcheck.checker.history.versions import INIT, gather_facts, settle_orders


def show_value(value: Value) -> str:
    """A value as reports print it."""
    return "null" if value is None else repr(value) if isinstance(value, str) else str(value)


def _source(writer: str | None) -> str:
    return "the initial store" if writer is None else writer


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run a block with the cyclic garbage collector off.

    Compiling a large history allocates millions of small objects and none of them in
    reference cycles; each collection would walk them all again (measured: a third of
    the time of a 100,000-transaction check).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@attrs.define
class Indexed:
    """The committed part of a history as integer lists (built once, read by every check)."""

    ids: list[str]
    keys: list[str]
    reads: list[list[tuple[int, int]]]
    """Per node: its external reads as (key, writer node or INIT), without repeats."""
    writes: list[list[int]]
    """Per node: the keys it wrote."""
    writers: list[list[int]]
    """Per key: its committed writers, in node order."""
    version: list[list[int] | None]
    """Per key: its writers in version order, when recorded or inferable."""
    final_writer: list[int | None]
    """Per key: the node whose write the final store holds, INIT, or None when unknown."""
    transactions: list[HistoryTx]
    """Per node: the transaction itself, for the evidence reports quote."""
    suspects: list[int]
    """Nodes with a read that does not match its writer's final value (or the initial
    store, or its own earlier write): the ones ``structural_anomalies`` judges in full."""
    finals: dict[str, dict[str, Value]]
    """Final writes by transaction id, filled in as they are asked for."""
    first_initial_reads: dict[str, tuple[Value, str]]
    """Without a recorded initial store: per key, the first value read from it and by whom."""
    partial: list[list[tuple[int, int]]]
    """Per key without a version order: what is known of it, as (earlier, later) writers."""
    order_anomalies: list[Anomaly]
    """Facts about version orders that contradict each other (or list reads that show a
    fault by themselves): no order can explain them."""
    lost: list[Anomaly] | None = None
    """The lost updates, once asked for."""

    def read_value(self, node: int, key: int, writer: int) -> Value:
        """The value node's read of ``key`` from ``writer`` saw (for evidence in reports):
        a transaction that read the key twice, from two writers, quotes the right one."""
        name = self.keys[key]
        source = None if writer == INIT else self.ids[writer]
        return next((op.value for op in self.transactions[node].ops
                     if isinstance(op, Read) and op.key == name and op.writer == source), None)

    @property
    def size(self) -> int:
        """Committed transactions."""
        return len(self.ids)


def _few(ids: Sequence[str]) -> str:
    """A list of ids for a message, cut short when it is long."""
    shown = ", ".join(repr(i) for i in ids[:5])
    return f"[{shown}{', …' if len(ids) > 5 else ''}]"


_CHECKED: weakref.WeakValueDictionary[int, History] = weakref.WeakValueDictionary()
"""Histories whose references were checked already (by id, as hashing one costs as much
as checking it): a loaded file is checked once, not again by every criterion."""


def check_references(history: History) -> None:
    """Reject ids a history uses but never defines, before any check trusts them."""
    if _CHECKED.get(id(history)) is history:
        return
    seen: set[str] = set()
    for t in history.transactions:
        if t.id in seen:
            raise BadInput(f"transaction id {t.id!r} appears twice; ids must be unique")
        seen.add(t.id)
    writers: dict[str, set[str]] = {}
    committed: dict[str, set[str]] = {}
    track = bool(history.versions or history.version_chains or history.replaces)
    for t in history.transactions:
        # Reads are the three-field operations; their last field names the writer.
        sources = {op[2] for op in t.ops if len(op) == 3}
        sources.discard(None)
        if not sources <= seen:
            bad = next(op for op in t.ops if isinstance(op, Read) and op.writer is not None
                       and op.writer not in seen)
            raise BadInput(f"{t.id} op {t.ops.index(bad) + 1} reads {bad.key} from "
                           f"{bad.writer!r}, which is not a transaction of this history")
        if track:
            for key in {op[0] for op in t.ops if len(op) == 2}:
                writers.setdefault(key, set()).add(t.id)
                if t.status == "committed":
                    committed.setdefault(key, set()).add(t.id)
    for key, order in history.versions:
        mine = committed.get(key, set())
        others = set(order) - writers.get(key, set())
        if len(set(order)) != len(order) or not mine <= set(order) or others:
            raise BadInput(f"versions of {key!r} list {_few(order)}, but its committed "
                           f"writers are {_few(sorted(mine))}; list each committed writer "
                           "once (aborted writers may be listed too)")
    for key, chains in history.version_chains:
        for chain in chains:
            stray = [t for t in chain if t not in writers.get(key, set())]
            if stray or len(set(chain)) != len(chain):
                what = (f"{stray[0]!r}, which never writes {key!r}" if stray
                        else "a transaction twice")
                raise BadInput(f"a version order of {key!r} names {what}")
    for tid, key, by in history.replaces:
        if by is not None and (by not in writers.get(key, set()) or by == tid):
            raise BadInput(f"{tid}'s write of {key!r} replaces {by!r}, which "
                           f"{'is itself' if by == tid else 'never writes ' + repr(key)}")
    if history.preset is not None:
        listed = set(history.preset)
        if len(listed) != len(history.preset):
            raise BadInput("the preset order names a transaction twice")
        unknown = sorted(listed - seen)
        if unknown:
            raise BadInput(f"the preset order names {unknown[0]!r}, which is not a transaction "
                           "of this history")
        missing = [t.id for t in history.transactions
                   if t.status == "committed" and t.id not in listed]
        if missing:
            raise BadInput(f"the preset order leaves out committed transaction {missing[0]!r}; "
                           "list every committed transaction")
    _CHECKED[id(history)] = history


def structural_anomalies(history: History, ix: Indexed | None = None) -> list[Anomaly]:
    """What no serial order can explain, whatever the order: G1a, G1b, garbage and
    internal reads, and a final store nobody wrote.

    Compiling the history already compared every read with its writer's final value; only
    the transactions it flagged are judged again here, in full.
    """
    ix = ix if ix is not None else compile_history(history)
    by_id = history.by_id() if ix.suspects else {}
    final_of = ix.finals
    initial = history.initial_map()
    found: list[Anomaly] = []
    for n in ix.suspects:
        t = ix.transactions[n]
        own: dict[str, Value] = {}
        earlier: dict[str, Read] = {}
        for op in t.ops:
            if isinstance(op, Write):
                own[op.key] = op.value
                continue
            anomaly = _judge_read(t, op, own, by_id, final_of, initial, ix.first_initial_reads)
            if anomaly is None and op.key not in own:
                anomaly = _non_repeatable(t, op, earlier.setdefault(op.key, op))
            if anomaly is not None:
                found.append(anomaly)
    found.extend(ix.order_anomalies)
    found.extend(_final_state_anomalies(history, ix))
    return found


_NONE = object()


class _Finals(dict[str, dict[str, Value]]):
    """Each transaction's final writes, computed the first time they are asked for."""

    def __init__(self, by_id: dict[str, HistoryTx]) -> None:
        super().__init__()
        self.by_id = by_id

    def __missing__(self, tid: str) -> dict[str, Value]:
        value = self[tid] = self.by_id[tid].final_writes()
        return value


def _judge_read(t: HistoryTx, op: Read, own: dict[str, Value], by_id: dict[str, HistoryTx],
                final_of: dict[str, dict[str, Value]],
                initial: dict[str, Value] | None,
                seen_initial: dict[str, tuple[Value, str]]) -> Anomaly | None:
    what = f"{t.id} read {op.key} = {show_value(op.value)} from {_source(op.writer)}"
    if op.key in own:
        if op.writer != t.id or op.value != own[op.key]:
            return Anomaly("internal", f"{what}, after writing {op.key} = "
                           f"{show_value(own[op.key])} itself", (t.id,))
        return None
    if op.writer == t.id:
        return Anomaly("internal", f"{what} before writing it", (t.id,))
    if op.writer is None:
        if initial is not None:
            if op.value != initial.get(op.key):
                return Anomaly("garbage-read", f"{what}, which holds "
                               f"{show_value(initial.get(op.key))}", (t.id,))
            return None
        first = seen_initial.setdefault(op.key, (op.value, t.id))
        if first[0] != op.value:
            return Anomaly("garbage-read", f"{what}, but {first[1]} read "
                           f"{show_value(first[0])} there", (t.id, first[1]))
        return None
    writer = by_id[op.writer]
    if writer.status == "aborted":
        return Anomaly("G1a", f"{what}, which aborted", (t.id, writer.id))
    final = final_of[writer.id]
    if op.key in final and final[op.key] == op.value:
        return None
    if any(isinstance(w, Write) and w.key == op.key and w.value == op.value for w in writer.ops):
        return Anomaly("G1b", f"{what}, an intermediate value: {writer.id} went on to "
                       f"write {show_value(final[op.key])}", (t.id, writer.id))
    if op.key not in final:
        return Anomaly("garbage-read", f"{what}, which never writes {op.key}",
                       (t.id, writer.id))
    return Anomaly("garbage-read", f"{what}, which wrote {show_value(final[op.key])}",
                   (t.id, writer.id))


def _non_repeatable(t: HistoryTx, op: Read, first: Read) -> Anomaly | None:
    """Two reads of one key, with no write of it between, that saw different versions."""
    if (first.writer, first.value) == (op.writer, op.value):
        return None
    return Anomaly("internal", f"{t.id} read {op.key} = {show_value(first.value)} from "
                   f"{_source(first.writer)}, then {op.key} = {show_value(op.value)} from "
                   f"{_source(op.writer)} without writing it between", (t.id,))


def _final_state_anomalies(history: History, ix: Indexed) -> list[Anomaly]:
    final = history.final_map()
    if final is None:
        return []
    final_of = ix.finals
    initial = history.initial_map()
    versions = history.versions_map()
    key_of = {key: k for k, key in enumerate(ix.keys)}
    out: list[Anomaly] = []
    for key, value in sorted(final.items()):
        k = key_of.get(key)
        mine = [] if k is None else [ix.ids[n] for n in ix.writers[k]]
        if versions.get(key):
            last = versions[key][-1]
            if final_of[last][key] != value:
                out.append(Anomaly("final-state", f"the final store has {key} = "
                                   f"{show_value(value)}, but its last version is {last}'s "
                                   f"{show_value(final_of[last][key])}", (last,)))
            continue
        if any(final_of[w][key] == value for w in mine):
            continue
        if not mine and (initial is None or initial.get(key) == value):
            continue
        out.append(Anomaly("final-state", f"the final store has {key} = {show_value(value)}, "
                           "which no committed transaction wrote", tuple(mine)))
    return out


def compile_history(history: History) -> Indexed:
    """The integer form of a history's committed transactions, noting on the way every
    transaction with a read no order can explain (for ``structural_anomalies``)."""
    committed = history.committed()
    ids = [t.id for t in committed]
    node = {tid: i for i, tid in enumerate(ids)}
    node_of = node.get
    finals = _Finals({t.id: t for t in history.transactions})
    initial = history.initial_map()
    first_initial: dict[str, tuple[Value, str]] = {}
    key_index: dict[str, int] = {}
    reads: list[list[tuple[int, int]]] = []
    writes: list[list[int]] = []
    writers: list[list[int]] = []
    suspects: list[int] = []

    key_of = key_index.get
    for n, t in enumerate(committed):
        mine: list[tuple[int, int]] = []
        own: dict[str, Value] = {}
        seen: dict[str, tuple[str | None, Value]] = {}
        suspect = False
        tid = t.id
        for op in t.ops:
            # Operations are tuples: a write has two fields, a read three. Unpacking is
            # the fastest way to read them, and this loop runs once per operation.
            if len(op) == 2:
                key, value = op
                own[key] = value
                continue
            key, value, source = op
            if key in own:
                suspect = suspect or source != tid or value != own[key]
                continue
            # A second read of a key that saw another version is Elle's `internal`.
            suspect = suspect or seen.setdefault(key, (source, value)) != (source, value)
            if source is None:
                w = INIT
                if initial is not None:
                    wrong = initial.get(key, _NONE) != value
                else:
                    wrong = first_initial.setdefault(key, (value, tid))[0] != value
            else:
                found = node_of(source)
                w = INIT if found is None else found
                # A read of an aborted write, of its own unwritten key, or of a value its
                # writer never left there: a fault to report, and no dependency.
                wrong = found is None or found == n or finals[source].get(key, _NONE) != value
            k = key_of(key)
            if k is None:
                k = key_index[key] = len(key_index)
                writers.append([])
            if wrong:
                suspect = True
                continue
            pair = (k, w)
            if pair not in mine:
                mine.append(pair)
        if suspect:
            suspects.append(n)
        reads.append(mine)
        written = []
        for key in own:
            k = key_of(key)
            if k is None:
                k = key_index[key] = len(key_index)
                writers.append([])
            written.append(k)
            writers[k].append(n)
        writes.append(written)
    keys = sorted(key_index, key=key_index.__getitem__)
    recorded = history.versions_map()
    links: dict[int, list[tuple[int, int]]] = {}
    if len(recorded) < len(keys):
        for n, mine in enumerate(reads):
            written_keys = writes[n]
            for k, w in mine:
                if k in written_keys:
                    links.setdefault(k, []).append((w, n))
    version: list[list[int] | None] = []
    for key in keys:
        if key in recorded:
            version.append([node[w] for w in recorded[key] if w in node])
        else:
            version.append(None)
    final_writer = _final_writers(history, keys, writers, version, committed)
    facts, plain, contradictions = gather_facts(history, keys, node, writers, links,
                                                final_writer)
    orders = settle_orders(keys, writers, facts, ids)
    for k in range(len(keys)):
        version[k] = plain[k] if k in plain else orders.total[k]
    return Indexed(ids, keys, reads, writes, writers, version, final_writer, list(committed),
                   suspects, finals, first_initial, orders.partial,
                   [*contradictions, *orders.anomalies])


def _final_writers(history: History, keys: list[str], writers: list[list[int]],
                   version: list[list[int] | None], committed: Sequence[HistoryTx]
                   ) -> list[int | None]:
    final = history.final_map()
    recorded = history.versions_map()
    out: list[int | None] = []
    for k, key in enumerate(keys):
        order = version[k]
        if not writers[k]:
            out.append(INIT)
        elif key in recorded and order:
            out.append(order[-1])
        elif final is not None and key in final:
            match = [w for w in writers[k] if committed[w].final_writes()[key] == final[key]]
            out.append(match[0] if len(match) == 1 else None)
        else:
            out.append(None)
    return out


def replay_order(history: History, order: Sequence[str]) -> str | None:
    """Execute the history's transactions serially in ``order``; the first read (or final
    value) that differs from the history, in words, or None when every one matches.

    This is view equivalence: every read sees the same writer and value, and the store
    ends the same. Aborted transactions in ``order`` are skipped.
    """
    by_id = history.by_id()
    initial = history.initial_map()
    state: dict[str, tuple[str | None, Value]] = {}
    unset = object()
    guessed: dict[str, object] = {}
    for tid in order:
        t = by_id[tid]
        if t.status != "committed":
            continue
        own: dict[str, Value] = {}
        for i, op in enumerate(t.ops):
            if isinstance(op, Write):
                own[op.key] = op.value
                continue
            key = op.key
            if key in own:
                expected: tuple[str | None, Value] = (tid, own[key])
            elif key in state:
                expected = state[key]
            elif initial is not None:
                expected = (None, initial.get(key))
            else:
                # An unrecorded initial value is whatever the first reader saw.
                seen = guessed.get(key, unset)
                if seen is unset:
                    guessed[key] = op.value
                    continue
                expected = (None, seen)  # type: ignore[assignment]
            if expected != (op.writer, op.value):
                return (f"{tid}'s op {i + 1} read {key} = {show_value(op.value)} from "
                        f"{_source(op.writer)}; in this order it reads {show_value(expected[1])} "
                        f"from {_source(expected[0])}")
        for key, value in own.items():
            state[key] = (tid, value)
    final = history.final_map()
    if final is not None:
        for key in sorted(final):
            got = state.get(key, (None, initial.get(key) if initial is not None else None))
            if key not in state and initial is None:
                continue
            if got[1] != final[key]:
                return (f"in this order the store ends with {key} = {show_value(got[1])} from "
                        f"{_source(got[0])}; the history ends with {show_value(final[key])}")
    for key, versions in history.versions:
        if versions and state.get(key, (None, None))[0] != versions[-1]:
            last = state.get(key, (None, None))[0]
            return (f"in this order {key}'s last version is {_source(last)}'s; the history "
                    f"installs {versions[-1]}'s last")
    return None
