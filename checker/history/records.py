"""Histories: what each transaction read and wrote, the value every serializability check takes.

A history is the observable record of one execution: per transaction its operations in
program order (a read names the key, the value it saw and the transaction that wrote it,
or the initial store) and whether it committed. Optional facts sharpen the questions
that can be asked: the initial values, the order in which each key's versions were
installed, the final store, a preset (block) order and the module owning each key.
Histories come from a design's outcome (``from_outcome``) or from a JSON file
(``shardcheck.checker.history.files``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal, NamedTuple

import attrs

from shardcheck import model

Value = int | str | None
"""A value as histories record it: integers from our designs, any JSON scalar from others."""

TxState = Literal["committed", "aborted", "indeterminate"]
"""``indeterminate``: may or may not have committed (Elle's ``:info``: the client never
heard back); the checks count it committed only where a fact needs it."""

ValueType = Literal["register", "list-append"]
"""How values are read: a register holds the last value written; a list-append key holds
the list of every element appended so far, so one read names every writer in order."""


class Read(NamedTuple):
    """A read of ``key`` that saw ``value``, written by ``writer`` (None: the initial store).

    Operations are named tuples rather than attrs classes: a 100,000-transaction history
    has over half a million of them, and a tuple is built four times faster.
    """

    key: str
    value: Value
    writer: str | None


class Write(NamedTuple):
    """A write of ``value`` to ``key``."""

    key: str
    value: Value


Op = Read | Write


Time = int | float
"""A point in time as a history records it (any unit, as long as one history uses one)."""


@attrs.frozen
class HistoryTx:
    """One transaction: its id, whether it committed, its operations in program order, and
    optionally when it started and ended and which process (session) ran it."""

    id: str
    status: TxState
    ops: tuple[Op, ...]
    start: Time | None = attrs.field(default=None, kw_only=True)
    end: Time | None = attrs.field(default=None, kw_only=True)
    process: str | None = attrs.field(default=None, kw_only=True)
    lists: tuple[tuple[Value, ...], ...] = attrs.field(default=(), kw_only=True)
    """In a list-append history, the whole list each read saw, one per read in order (the
    read itself records the last element and the transaction that appended it)."""

    def final_writes(self) -> dict[str, Value]:
        """The last value this transaction wrote to each key, the version others may read."""
        out: dict[str, Value] = {}
        for op in self.ops:
            if isinstance(op, Write):
                out[op.key] = op.value
        return out


def _pairs(items: Mapping[str, Value] | Iterable[tuple[str, Value]] | None
           ) -> tuple[tuple[str, Value], ...] | None:
    if items is None:
        return None
    pairs = items.items() if isinstance(items, Mapping) else items
    return tuple(sorted(pairs, key=lambda kv: kv[0]))


def _versions(items: Mapping[str, Iterable[str]] | Iterable[tuple[str, Iterable[str]]]
              ) -> tuple[tuple[str, tuple[str, ...]], ...]:
    pairs = items.items() if isinstance(items, Mapping) else items
    return tuple(sorted(((k, tuple(v)) for k, v in pairs), key=lambda kv: kv[0]))


def _chains(items: Mapping[str, Iterable[Iterable[str]]]
            | Iterable[tuple[str, Iterable[Iterable[str]]]]
            ) -> tuple[tuple[str, tuple[tuple[str, ...], ...]], ...]:
    pairs = items.items() if isinstance(items, Mapping) else items
    return tuple(sorted(((k, tuple(tuple(c) for c in v)) for k, v in pairs),
                        key=lambda kv: kv[0]))


def _replaces(items: Iterable[tuple[str, str, str | None]]
              ) -> tuple[tuple[str, str, str | None], ...]:
    return tuple(items)


def _modules(items: Mapping[str, str] | Iterable[tuple[str, str]]
             ) -> tuple[tuple[str, str], ...]:
    pairs = items.items() if isinstance(items, Mapping) else items
    return tuple(sorted(pairs))


def _preset(items: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if items is None else tuple(items)


@attrs.frozen
class History:
    """A whole history plus the optional facts that sharpen the checks.

    ``versions`` maps a key to its writers in the order their versions were installed
    (every committed writer; aborted ones may be listed and are skipped); ``version_chains``
    holds partial version orders, per key a list of chains each in version order;
    ``replaces`` says, per (writer, key), whose version the write overwrote (None: the
    initial one); ``final`` is the final store (``None``: unknown); ``initial`` the
    initial store (``None``: unknown, a read from it may see any one value); ``preset``
    the order a deterministic chain promises; ``modules`` the module owning each key;
    ``value_type`` whether values are registers or list-append lists.
    """

    transactions: tuple[HistoryTx, ...]
    initial: tuple[tuple[str, Value], ...] | None = attrs.field(default=None, converter=_pairs)
    versions: tuple[tuple[str, tuple[str, ...]], ...] = attrs.field(default=(),
                                                                    converter=_versions)
    final: tuple[tuple[str, Value], ...] | None = attrs.field(default=None, converter=_pairs)
    preset: tuple[str, ...] | None = attrs.field(default=None, converter=_preset)
    modules: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_modules)
    version_chains: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...] = attrs.field(
        default=(), converter=_chains, kw_only=True)
    replaces: tuple[tuple[str, str, str | None], ...] = attrs.field(
        default=(), converter=_replaces, kw_only=True)
    value_type: ValueType = attrs.field(default="register", kw_only=True)

    def committed(self) -> tuple[HistoryTx, ...]:
        """The committed transactions, in the order the history lists them."""
        return tuple(t for t in self.transactions if t.status == "committed")

    def by_id(self) -> dict[str, HistoryTx]:
        """Transactions by id."""
        return {t.id: t for t in self.transactions}

    def initial_map(self) -> dict[str, Value] | None:
        """The initial store as a dict, or None when the history does not record it."""
        return None if self.initial is None else dict(self.initial)

    def final_map(self) -> dict[str, Value] | None:
        """The final store as a dict, or None when the history does not record it."""
        return None if self.final is None else dict(self.final)

    def versions_map(self) -> dict[str, tuple[str, ...]]:
        """The recorded version order of each key that has one."""
        return dict(self.versions)

    def module_map(self) -> dict[str, str]:
        """The module of each key that has one."""
        return dict(self.modules)

    def keys(self) -> tuple[str, ...]:
        """Every key an operation touches, sorted."""
        return tuple(sorted({op.key for t in self.transactions for op in t.ops}))

    def module_names(self) -> tuple[str, ...]:
        """The modules that own at least one key, sorted."""
        return tuple(sorted(set(dict(self.modules).values())))

    def project(self, module: str) -> History:
        """The sub-history of one module: only its keys' operations, only the transactions
        that touch them."""
        owner = self.module_map()
        mine = {k for k in self.keys() if owner.get(k) == module}
        txs = []
        for t in self.transactions:
            ops = tuple(op for op in t.ops if op.key in mine)
            if ops:
                lists = tuple(seen for seen, op in zip(t.lists, (o for o in t.ops
                                                                 if isinstance(o, Read)),
                                                       strict=False) if op.key in mine)
                txs.append(attrs.evolve(t, ops=ops, lists=lists))
        ids = {t.id for t in txs}

        def keep(pairs: tuple[tuple[str, Value], ...] | None
                 ) -> tuple[tuple[str, Value], ...] | None:
            return None if pairs is None else tuple(kv for kv in pairs if kv[0] in mine)

        return History(
            transactions=tuple(txs), initial=keep(self.initial),
            versions=tuple((k, v) for k, v in self.versions if k in mine),
            final=keep(self.final),
            preset=None if self.preset is None else tuple(i for i in self.preset if i in ids),
            modules=tuple((k, m) for k, m in self.modules if k in mine),
            version_chains=tuple((k, c) for k, c in self.version_chains if k in mine),
            replaces=tuple(r for r in self.replaces if r[1] in mine),
            value_type=self.value_type)


def _or_zero(value: int | None) -> int:
    # The store reads an absent key as 0, so that is the value a serial run ends with.
    return 0 if value is None else value


def tx_id(index: int) -> str:
    """The id a design's transaction ``index`` gets in its history."""
    return f"T{index}"


def from_outcome(outcome: model.Outcome, workload: model.Workload) -> History:
    """The history of a design's terminal outcome.

    Every finished transaction counts as committed (a reverted one read and wrote
    nothing that sticks, but its reads still had to be right). Versions of each key are
    ordered by the outcome's commit order, the order the engine installed them in. A read
    records the value its writer wrote (for ``exists`` and ``scan`` reads the writer is
    what matters; the value only says whether the key was there).
    """
    initial = workload.initial.as_dict()
    position = {index: i for i, index in enumerate(outcome.order)}
    written: dict[int, dict[str, int]] = {t.index: dict(t.writes)
                                          for t in outcome.transactions}
    txs = []
    writers: dict[str, list[int]] = {}
    for record in sorted(outcome.transactions, key=lambda t: t.index):
        ops: list[Op] = []
        for r in record.reads:
            if r.writer is None:
                value: Value = initial.get(r.key, 0)
            else:
                value = written.get(r.writer, {}).get(r.key, r.value)
            ops.append(Read(r.key, value, None if r.writer is None else tx_id(r.writer)))
        for key, value in record.writes:
            ops.append(Write(key, value))
            writers.setdefault(key, []).append(record.index)
        txs.append(HistoryTx(tx_id(record.index), "committed", tuple(ops)))
    versions = {k: [tx_id(i) for i in sorted(ws, key=lambda i: position.get(i, i))]
                for k, ws in writers.items()}
    keys = {op.key for t in txs for op in t.ops}
    store = outcome.store
    return History(
        transactions=tuple(txs),
        initial={k: initial.get(k, 0) for k in keys},
        versions=versions,
        final={k: _or_zero(store.get(k)) for k in keys},
        preset=[tx_id(t.index) for t in workload.block],
        modules={k: store.module_of(k) for k in keys})
