"""A naive optimistic scheduler: a user's own design, checked by shardcheck.

The real system it resembles: optimistic concurrency control as H. T. Kung and
J. T. Robinson describe it ("On Optimistic Methods for Concurrency Control", ACM TODS
6(2), 1981), with its read phase and write phase but *without its validation phase*.
This is the scheduler many first parallel-EVM prototypes start as: workers pull
transactions from a shared counter, run them against the live state, and publish
their writes, on the hope that conflicts are rare.

What is modelled: K workers share a ``next_tx`` counter and one key-value store. A
worker claims the next transaction (an atomic fetch-and-increment: one action), runs
its program one shared read per action (``read``, ``exists`` and ``scan``; the VM's
local work between reads folds into the next read), then applies its buffered writes
one key per action. Who last wrote each key is ghost state, kept only so the outcome
can say which writer every read saw.

What is abstracted away: gas, the VM's own errors (a failed ``require`` is a clean
revert that writes nothing), and any snapshot of the store (workers read live state).

The bug: nothing validates a read before the writes that depend on it are published.
Two workers that both read a counter and both write it back lose one increment (a
lost update); a reader can also see half of another transaction's writes, or see a
write from a transaction later in the block. ``shardcheck explore`` finds the lost
update on ``counter:txs=2,keys=1`` with two workers; with one worker the design is
the serial reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import attrs

from shardcheck.model import (
    Action,
    Config,
    Constant,
    Exists,
    Frame,
    Mutant,
    Outcome,
    ParamValue,
    Property,
    Read,
    ReadRecord,
    Scan,
    Status,
    Store,
    Structure,
    Transaction,
    TxRecord,
    Write,
    WriteIf,
    deliver,
    effective_writes,
    pending_read,
    start,
)

Phase = Literal["idle", "executing", "writing", "done"]
TxStatus = Literal["committed", "reverted"]


@attrs.frozen
class Block:
    """What every state carries unchanged: the block and every key it may touch."""

    transactions: tuple[Transaction, ...]
    keys: tuple[str, ...]


@attrs.frozen
class Worker:
    """One worker's registers. Dead registers are reset, so equal progress is one state."""

    phase: Phase = "idle"
    tx: int | None = None
    frame: Frame | None = None
    reads: tuple[ReadRecord, ...] = ()
    pending: tuple[tuple[str, int], ...] = ()  # buffered writes not yet applied


IDLE = Worker()
DONE = Worker(phase="done")


@attrs.frozen
class OccState:
    """Shared memory (``next_tx``, the store, its last writers) and every worker."""

    block: Constant[Block]
    next_tx: int
    store: Store
    writers: tuple[tuple[str, int], ...]  # key -> index of its last writer, sorted
    records: tuple[TxRecord | None, ...]  # per transaction, once it has executed
    workers: tuple[Worker, ...]


def _every_key(transactions: tuple[Transaction, ...], store: Store) -> tuple[str, ...]:
    keys = {k for k, _ in store.values}
    for tx in transactions:
        keys.update(s.key for s in tx.program if isinstance(s, Read | Exists | Write | WriteIf))
    return tuple(sorted(keys))


def _replace(workers: tuple[Worker, ...], w: int, worker: Worker) -> tuple[Worker, ...]:
    return (*workers[:w], worker, *workers[w + 1 :])


class NaiveOcc:
    """Optimistic execution with no validation: read live state, then publish writes."""

    name = "naive-occ"
    summary = "optimistic workers that publish writes without validating their reads"

    def initial(self, config: Config) -> OccState:
        """Nothing claimed, the initial store, every worker idle."""
        block = config.workload.block
        keys = _every_key(block, config.workload.initial)
        return OccState(Constant(Block(block, keys)), 0, config.workload.initial, (),
                        (None,) * len(block), (IDLE,) * config.workers)

    def actions(self, state: OccState) -> Sequence[Action]:
        """Each worker that has not finished has exactly one next step, in worker order."""
        return tuple(self._next(state, w, worker) for w, worker in enumerate(state.workers)
                     if worker.phase != "done")

    def _next(self, state: OccState, w: int, worker: Worker) -> Action:
        actor = f"w{w}"
        if worker.phase == "idle":
            left = state.next_tx < len(state.records)  # none left: the claim finds that out
            params: dict[str, ParamValue] = {"tx": state.next_tx} if left else {}
            return Action(actor, "claim", params, {"next_tx"}, {"next_tx"})
        assert worker.tx is not None
        if worker.phase == "writing":
            key, value = worker.pending[0]
            return Action(actor, "write", {"tx": worker.tx, "key": key, "value": value},
                          writes={f"store:{key}"})
        stmt = self._pending(state, worker)
        if isinstance(stmt, Scan):  # a range read touches every key that could be in range
            in_range = {f"store:{k}" for k in state.block.value.keys if k.startswith(stmt.prefix)}
            return Action(actor, "scan", {"tx": worker.tx, "prefix": stmt.prefix}, in_range)
        kind = "read" if isinstance(stmt, Read) else "exists"
        return Action(actor, kind, {"tx": worker.tx, "key": stmt.key}, {f"store:{stmt.key}"})

    def _pending(self, state: OccState, worker: Worker) -> Read | Exists | Scan:
        assert worker.tx is not None and worker.frame is not None
        stmt = pending_read(state.block.value.transactions[worker.tx].program, worker.frame)
        assert stmt is not None
        return stmt

    def step(self, state: OccState, action: Action) -> OccState:
        """Perform the one shared-memory access the action names."""
        w = int(action.actor[1:])
        worker = state.workers[w]
        if action.name == "claim":
            if state.next_tx >= len(state.records):
                return attrs.evolve(state, workers=_replace(state.workers, w, DONE))
            tx = state.next_tx
            frame = start(state.block.value.transactions[tx].program)
            state = attrs.evolve(state, next_tx=tx + 1)
            return self._progress(state, w, Worker(phase="executing", tx=tx, frame=frame))
        if action.name == "write":
            (key, value), rest = worker.pending[0], worker.pending[1:]
            assert worker.tx is not None
            writers = dict(state.writers)
            writers[key] = worker.tx
            after = attrs.evolve(worker, pending=rest) if rest else IDLE
            return attrs.evolve(state, store=state.store.with_writes([(key, value)]),
                                writers=tuple(sorted(writers.items())),
                                workers=_replace(state.workers, w, after))
        return self._read(state, w, worker)

    def _read(self, state: OccState, w: int, worker: Worker) -> OccState:
        assert worker.tx is not None and worker.frame is not None
        program = state.block.value.transactions[worker.tx].program
        stmt = self._pending(state, worker)
        writers = dict(state.writers)
        if isinstance(stmt, Scan):
            found = tuple((k, v) for k, v in state.store.values if k.startswith(stmt.prefix))
            seen = tuple(ReadRecord("scan", k, v, writers.get(k)) for k, v in found)
            frame = deliver(program, worker.frame, found)
        else:
            value = state.store.get(stmt.key)
            if isinstance(stmt, Read):
                seen = (ReadRecord("read", stmt.key, value or 0, writers.get(stmt.key)),)
            else:
                present = int(value is not None)
                seen = (ReadRecord("exists", stmt.key, present, writers.get(stmt.key)),)
            frame = deliver(program, worker.frame, value)
        after = attrs.evolve(worker, frame=frame, reads=(*worker.reads, *seen))
        return self._progress(state, w, after)

    def _progress(self, state: OccState, w: int, worker: Worker) -> OccState:
        """Record a finished execution and move its worker on to writing (or idle)."""
        assert worker.tx is not None and worker.frame is not None
        if worker.frame.status is Status.RUNNING:
            return attrs.evolve(state, workers=_replace(state.workers, w, worker))
        writes = effective_writes(worker.frame)
        committed = worker.frame.status is Status.COMMITTED
        status: TxStatus = "committed" if committed else "reverted"
        record = TxRecord(worker.tx, status, worker.reads, writes)
        records = (*state.records[:worker.tx], record, *state.records[worker.tx + 1 :])
        after = Worker(phase="writing", tx=worker.tx, pending=writes) if writes else IDLE
        return attrs.evolve(state, records=records, workers=_replace(state.workers, w, after))

    def is_terminal(self, state: OccState) -> bool:
        """Every worker has found the block exhausted."""
        return all(worker.phase == "done" for worker in state.workers)

    def outcome(self, state: OccState) -> Outcome:
        """The live store is the result; the history is what each transaction saw."""
        records = tuple(r for r in state.records if r is not None)
        assert len(records) == len(state.records), "outcome() of a non-terminal state"
        return Outcome(state.store, tuple(range(len(records))), records)

    def properties(self) -> Sequence[Property]:
        """None of its own: the checker's serial-equivalence is what it fails."""
        return ()

    def mutants(self) -> Sequence[Mutant]:
        """None: the design is itself the buggy one."""
        return ()


class NaiveOccDeclared(NaiveOcc):
    """The same scheduler with its structure declared (``model.Structure``): the explorer
    memoizes each worker's step on the shared memory and the worker's own registers."""

    structure = Structure(actors="workers", shared=("next_tx", "store", "writers", "records"),
                          interchangeable=True)
