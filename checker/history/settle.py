"""Indeterminate transactions: counted committed exactly where a fact needs it.

A client that never heard back from the database records the transaction as
``indeterminate`` (Elle's ``:info``): it may or may not have committed. Counting it as not
committed removes every constraint it brings (its reads need not be explained, its
writes order nothing), so that is the default; it is counted committed when something
that did happen needs it: a committed transaction read its write (through other
indeterminate ones, too), a recorded version order or a later write's ``replaces`` names
its version, a list read shows its append, or the final store holds a value only it
wrote. With that choice a history is serializable exactly when some choice makes it so,
since committing a transaction nobody needs only adds constraints. The report says which
way each one was counted, and why.
"""

from __future__ import annotations

from collections import deque

import attrs

from shardcheck.checker.history.records import History, HistoryTx, Read, Value, Write


@attrs.frozen
class Settled:
    """A history whose indeterminate transactions are committed or aborted, and why."""

    history: History
    assumed: tuple[str, ...] = ()


def settle(history: History) -> Settled:
    """Count each indeterminate transaction committed when a fact needs it, else aborted."""
    open_ids = {t.id for t in history.transactions if t.status == "indeterminate"}
    if not open_ids:
        return Settled(history)
    by_id = history.by_id()
    needed: dict[str, str] = {}
    for key, order in history.versions:
        for tid in order:
            if tid in open_ids:
                needed.setdefault(tid, f"the version order of {key} lists it")
    for key, chains in history.version_chains:
        for chain in chains:
            for tid in chain:
                if tid in open_ids:
                    needed.setdefault(tid, f"a version order of {key} lists it")
    needed.update(_final_only(history, open_ids, needed))
    appender: dict[tuple[str, Value], str] = {}
    if history.value_type == "list-append":
        for t in history.transactions:
            for op in t.ops:
                if isinstance(op, Write):
                    appender.setdefault((op.key, op.value), t.id)
    replaced = {(tid, key): by for tid, key, by in history.replaces}
    queue = deque([*(t.id for t in history.transactions if t.status == "committed"),
                   *needed])
    while queue:
        t = by_id[queue.popleft()]
        for why, source in _sources(t, replaced, appender):
            if source in open_ids and source not in needed:
                needed[source] = why
                queue.append(source)
    assumed = []
    txs = []
    for t in history.transactions:
        if t.status != "indeterminate":
            txs.append(t)
        elif t.id in needed:
            txs.append(attrs.evolve(t, status="committed"))
            assumed.append(f"{t.id} is counted as committed: {needed[t.id]}")
        else:
            txs.append(attrs.evolve(t, status="aborted"))
            assumed.append(f"{t.id} is counted as not committed: no committed transaction "
                           "read its writes and no fact orders a version after them")
    total, partial = _versions(history, txs)
    return Settled(attrs.evolve(history, transactions=tuple(txs), versions=total,
                                version_chains=(*history.version_chains, *partial)),
                   tuple(assumed))


def _sources(t: HistoryTx, replaced: dict[tuple[str, str], str | None],
             appender: dict[tuple[str, Value], str]) -> list[tuple[str, str]]:
    """The transactions whose writes ``t`` depends on, each with the reason."""
    out = []
    for op in t.ops:
        if isinstance(op, Read) and op.writer is not None and op.writer != t.id:
            out.append((f"{t.id} read its {op.key}", op.writer))
    for seen, op in zip(t.lists, (o for o in t.ops if isinstance(o, Read)), strict=False):
        for value in seen:
            owner = appender.get((op.key, value))
            if owner is not None and owner != t.id:
                out.append((f"{t.id} read its append to {op.key}", owner))
    for key in {op.key for op in t.ops if isinstance(op, Write)}:
        by = replaced.get((t.id, key))
        if by is not None:
            out.append((f"{t.id}'s write of {key} replaced its version", by))
    return out


def _final_only(history: History, open_ids: set[str], needed: dict[str, str]
                ) -> dict[str, str]:
    """Indeterminate transactions whose write is the only one that explains a final
    value."""
    final = history.final_map()
    if not final:
        return {}
    writers: dict[tuple[str, Value], list[str]] = {}
    for t in history.transactions:
        if t.status != "aborted":
            for key, value in t.final_writes().items():
                if key in final and final[key] == value:
                    writers.setdefault((key, value), []).append(t.id)
    out: dict[str, str] = {}
    for key, value in sorted(final.items()):
        found = writers.get((key, value), [])
        if len(found) == 1 and found[0] in open_ids and found[0] not in needed:
            out.setdefault(found[0], f"the final store holds its {key}")
    return out


def _versions(history: History, txs: list[HistoryTx]
              ) -> tuple[list[tuple[str, tuple[str, ...]]],
                         list[tuple[str, tuple[tuple[str, ...], ...]]]]:
    """Recorded total orders over the committed writers; one that leaves out a writer now
    counted committed says less than a total order, and becomes a partial one."""
    committed = {t.id for t in txs if t.status == "committed"}
    writers: dict[str, set[str]] = {}
    for t in txs:
        if t.id in committed:
            for op in t.ops:
                if isinstance(op, Write):
                    writers.setdefault(op.key, set()).add(t.id)
    total: list[tuple[str, tuple[str, ...]]] = []
    partial: list[tuple[str, tuple[tuple[str, ...], ...]]] = []
    for key, order in history.versions:
        kept = tuple(t for t in order if t in committed)
        if set(kept) == writers.get(key, set()):
            total.append((key, kept))
        else:
            partial.append((key, (kept,)))
    return total, partial
