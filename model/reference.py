"""The reference semantics: the block executed one transaction at a time, in order.

Every scheduler design must produce this outcome (the final store, and for every
transaction what it read, from which writer, and what it wrote): that is what a
deterministic chain promises its users.
"""

from __future__ import annotations

from collections.abc import Mapping

from shardcheck.model.api import Outcome, ReadRecord, TxRecord, TxStatus, Workload
from shardcheck.model.language import (
    Read,
    ReadStmt,
    Scan,
    ScanResult,
    Status,
    Transaction,
    deliver,
    effective_writes,
    pending_read,
    start,
)
from shardcheck.model.store import Store


def observe(
    stmt: ReadStmt, store: Store, writers: Mapping[str, int]
) -> tuple[int | ScanResult | None, tuple[ReadRecord, ...]]:
    """Serve one read from ``store``: the result to ``deliver`` and the history records.

    ``writers`` maps each key to the transaction that last wrote it (absent: the initial
    store). A design that reads a plain store uses this rather than writing it again.
    """
    if isinstance(stmt, Scan):
        found = tuple((k, v) for k, v in store.values if k.startswith(stmt.prefix))
        return found, tuple(ReadRecord("scan", k, v, writers.get(k)) for k, v in found)
    value = store.get(stmt.key)
    if isinstance(stmt, Read):
        return value, (ReadRecord("read", stmt.key, value or 0, writers.get(stmt.key)),)
    present = int(value is not None)
    return value, (ReadRecord("exists", stmt.key, present, writers.get(stmt.key)),)


def execute_transaction(
    tx: Transaction, store: Store, writers: dict[str, int]
) -> tuple[TxRecord, Store]:
    """Run one transaction to completion against ``store``; ``writers`` maps key to last writer.

    ``writers`` is updated with the transaction's writes.
    """
    frame = start(tx.program)
    reads: list[ReadRecord] = []
    while (stmt := pending_read(tx.program, frame)) is not None:
        result, records = observe(stmt, store, writers)
        reads.extend(records)
        frame = deliver(tx.program, frame, result)
    writes = effective_writes(frame)
    for key, _ in writes:
        writers[key] = tx.index
    status: TxStatus = "committed" if frame.status is Status.COMMITTED else "reverted"
    return TxRecord(tx.index, status, tuple(reads), writes), store.with_writes(writes)


def execute_serially(workload: Workload) -> Outcome:
    """The outcome of running ``workload``'s block in block order."""
    store = workload.initial
    writers: dict[str, int] = {}
    records: list[TxRecord] = []
    for tx in workload.block:
        record, store = execute_transaction(tx, store, writers)
        records.append(record)
    return Outcome(store, tuple(tx.index for tx in workload.block), tuple(records))
