"""Block-STM, the parallel execution engine of Aptos, as atomic steps.

The real system: R. Gelashvili, A. Spiegelman, Z. Xiang, G. Danezis, Z. Li, D. Malkhi,
Y. Xia, R. Zhou, "Block-STM: Scaling Blockchain Execution by Turning Ordering Curse to
a Performance Blessing", PPoPP 2023 (full version arXiv 2203.06871). Its Algorithms 1-5
are the worker loop (``run``, ``try_execute``, ``needs_reexecution``), the multi-version
memory (``MVMemory``), the VM and the collaborative scheduler; the function names below
follow them, and each ``_step`` branch quotes the line it models.

What is modelled: K workers share the scheduler's counters (``execution_idx``,
``validation_idx``, ``decrease_cnt``, ``num_active_tasks``, ``done_marker``), the
per-transaction ``(incarnation, status)`` pairs and dependency sets, and the
multi-version memory with ESTIMATE markers, last written locations and last read sets.

Atomicity, following the paper's shared-memory accesses (see
shared/research/designs.md §1.5 and §6.1): every load, store, fetch-and-increment,
fetch-min or increment of a shared counter is one action; every critical section under
a ``txn_status`` or ``txn_dependency`` lock is one action; every multi-version read or
write of one location is one action; each pointer swap in ``record`` is one action. The
VM's local computation between reads folds into the next action. The two loads in
``next_task``'s heuristic (``validation_idx < execution_idx``) are one action: both
branches are safe whatever the outcome, so splitting them only multiplies states.
Loading ``last_written_locations`` in ``convert_writes_to_estimates`` folds into the
successful ``try_validation_abort``, since no other worker can change it while the
transaction is ABORTING.

What is abstracted away: storage is the immutable pre-block store; gas and the VM's
errors do not exist (a ``require`` that fails is a clean revert that writes nothing);
the snapshot is taken once every worker has exited.

The mutants carry the bugs of shared/research/designs.md §6.2, M01-M09, each found in
a real port; their docstrings are in ``MUTANTS`` below.

The explorer's fast path for this design and its mutants (``compact``: states
hash-consed into ints, each worker's step memoized) is in ``block_stm_compact.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs

from shardcheck.model.api import (
    Action,
    Config,
    KnownFailure,
    Mutant,
    Outcome,
    Property,
    ReadRecord,
    Structure,
    TxRecord,
    TxStatus,
)
from shardcheck.model.designs.block_stm_compact import BlockStmPacking
from shardcheck.model.designs.block_stm_state import (
    ABORTING as ABORTING,
)
from shardcheck.model.designs.block_stm_state import (
    ESTIMATE as ESTIMATE,
)
from shardcheck.model.designs.block_stm_state import (
    EXECUTE as EXECUTE,
)
from shardcheck.model.designs.block_stm_state import (
    EXECUTED as EXECUTED,
)
from shardcheck.model.designs.block_stm_state import (
    EXECUTING as EXECUTING,
)
from shardcheck.model.designs.block_stm_state import (
    EXECUTING_PCS as EXECUTING_PCS,
)
from shardcheck.model.designs.block_stm_state import (
    EXITED as EXITED,
)
from shardcheck.model.designs.block_stm_state import (
    IDLE as IDLE,
)
from shardcheck.model.designs.block_stm_state import (
    READY as READY,
)
from shardcheck.model.designs.block_stm_state import (
    VALIDATE as VALIDATE,
)
from shardcheck.model.designs.block_stm_state import (
    Block as Block,
)
from shardcheck.model.designs.block_stm_state import (
    BlockStmState as BlockStmState,
)
from shardcheck.model.designs.block_stm_state import (
    Flags as Flags,
)
from shardcheck.model.designs.block_stm_state import (
    Found as Found,
)
from shardcheck.model.designs.block_stm_state import (
    MVEntry as MVEntry,
)
from shardcheck.model.designs.block_stm_state import (
    ReadEntry as ReadEntry,
)
from shardcheck.model.designs.block_stm_state import (
    Task as Task,
)
from shardcheck.model.designs.block_stm_state import (
    Version as Version,
)
from shardcheck.model.designs.block_stm_state import (
    Worker as Worker,
)
from shardcheck.model.designs.block_stm_state import (
    incarnation_bound as incarnation_bound,
)
from shardcheck.model.designs.flag_mutants import FlagMutant, flag_mutants
from shardcheck.model.encoding import Constant, encode
from shardcheck.model.language import (
    Exists,
    Frame,
    ReadStmt,
    Scan,
    Status,
    block_keys,
    deliver,
    effective_writes,
    pending_read,
    start,
)

PUBLISHED = Flags()
"""No bug switched on: Block-STM as published."""


def _with_workers(state: BlockStmState, workers: tuple[Worker, ...]) -> BlockStmState:
    """``attrs.evolve(state, workers=workers)``, spelled out: it is on the hottest path."""
    return BlockStmState(
        state.block, state.execution_idx, state.validation_idx, state.decrease_cnt,
        state.num_active_tasks, state.done_marker, state.status, state.dependencies,
        state.data, state.last_writes, state.last_reads, state.reverted, workers)


def _replace(items: tuple, index: int, value: object) -> tuple:  # type: ignore[type-arg]
    return (*items[:index], value, *items[index + 1 :])


# --- MVMemory (Algorithm 2) -------------------------------------------------------------

MVResult = tuple[str, Version | None, int]
"""("ok", version, value), ("not_found", None, 0) or ("estimate", None, blocker)."""


def mv_read(state: BlockStmState, key: str, tx: int, flags: Flags) -> MVResult:
    """``MVMemory.read(location, txn_idx)``: the entry of the highest lower writer."""
    best: MVEntry | None = None
    for entry in state.data:
        if entry.key == key and (entry.tx < tx or (flags.read_own_entries and entry.tx == tx)):
            best = entry  # data is sorted by (key, tx), so the last match is the highest
    if best is None:
        return ("not_found", None, 0)
    if best.inc == ESTIMATE:
        return ("estimate", None, best.tx)
    return ("ok", Version(best.tx, best.inc), best.value)


def mv_scan(
    state: BlockStmState, prefix: str, tx: int, flags: Flags
) -> tuple[int | None, tuple[Found, ...]]:
    """A range read: every present key with ``prefix`` as ``tx`` sees it.

    Returns ``(blocker, ())`` when an ESTIMATE is in range, else ``(None, found)``.
    """
    storage = state.block.value.storage
    keys = set(storage.keys_with_prefix(prefix))
    keys.update(e.key for e in state.data if e.key.startswith(prefix) and e.tx < tx)
    found: list[Found] = []
    for key in sorted(keys):
        status, version, value = mv_read(state, key, tx, flags)
        if status == "estimate":
            return value, ()
        if status == "ok":
            found.append(Found(key, version, value))
        else:
            stored = storage.get(key)
            if stored is not None:
                found.append(Found(key, None, stored))
    return None, tuple(found)


def _still_valid(state: BlockStmState, tx: int, entry: ReadEntry, flags: Flags) -> bool:
    """One iteration of ``validate_read_set``: does the recorded read still hold?"""
    if entry.kind == "scan":
        blocker, found = mv_scan(state, entry.key, tx, flags)
        if blocker is not None:
            return False
        if flags.scan_keys_only:
            return [f.key for f in found] == [f.key for f in entry.found]
        return [(f.key, f.version) for f in found] == [(f.key, f.version) for f in entry.found]
    status, version, _ = mv_read(state, entry.key, tx, flags)
    if status == "estimate":
        return False
    if status == "not_found":
        return flags.not_found_ignores_version or entry.version is None
    return version == entry.version


def _set_entry(data: tuple[MVEntry, ...], new: MVEntry) -> tuple[MVEntry, ...]:
    kept = [e for e in data if (e.key, e.tx) != (new.key, new.tx)]
    kept.append(new)
    return tuple(sorted(kept, key=lambda e: (e.key, e.tx)))


def _delete_entry(data: tuple[MVEntry, ...], key: str, tx: int) -> tuple[MVEntry, ...]:
    return tuple(e for e in data if (e.key, e.tx) != (key, tx))


# --- the design ---------------------------------------------------------------------------


class BlockStm:
    """Block-STM with K workers, one action per shared-memory access."""

    name = "block-stm"
    summary = "Block-STM (PPoPP 2023): multi-version memory, collaborative scheduler"
    structure = Structure(
        actors="workers",
        shared=("execution_idx", "validation_idx", "decrease_cnt", "num_active_tasks",
                "done_marker", "status", "dependencies", "data", "last_writes", "last_reads",
                "reverted"),
        interchangeable=True)
    """A worker's step reads and writes the shared memory and itself only (what the packed
    path relies on too): a subclass that leaves the packed path is searched on the
    declared path, each worker's step memoized (``model.Structure``)."""

    def __init__(self, flags: Flags = PUBLISHED, mutant: str | None = None) -> None:
        self.flags = flags
        self.mutant = mutant

    # The design interface -------------------------------------------------------------

    def initial(self, config: Config) -> BlockStmState:
        """Everything READY at incarnation 0, empty memory, every worker in its loop."""
        block = config.workload.block
        n = len(block)
        storage = config.workload.initial
        keys = block_keys(block, tuple(k for k, _ in storage.values))
        return BlockStmState(
            block=Constant(Block(block, storage, keys)),
            execution_idx=0,
            validation_idx=0,
            decrease_cnt=0,
            num_active_tasks=0,
            done_marker=False,
            status=((0, READY),) * n,
            dependencies=((),) * n,
            data=(),
            last_writes=((),) * n,
            last_reads=((),) * n,
            reverted=(False,) * n,
            workers=(IDLE,) * config.workers,
        )

    def actions(self, state: BlockStmState) -> Sequence[Action]:
        """Each worker that has not exited takes its next step."""
        return tuple(
            self._describe(state, w, worker)
            for w, worker in enumerate(state.workers)
            if worker.pc != "exited"
        )

    def step(self, state: BlockStmState, action: Action) -> BlockStmState:
        """Worker ``action.actor`` takes its next step."""
        w = int(action.actor[1:])
        worker = state.workers[w]
        return self._step(state, w, worker)

    def is_terminal(self, state: BlockStmState) -> bool:
        """Every worker has seen the done marker and exited."""
        return all(worker.pc == "exited" for worker in state.workers)

    def outcome(self, state: BlockStmState) -> Outcome:
        """``MVMemory.snapshot()`` over storage, and each transaction's last recorded run."""
        block = state.block.value
        final: dict[str, int] = {}
        for entry in state.data:  # sorted by (key, tx): the highest writer comes last
            if entry.inc != ESTIMATE:
                final[entry.key] = entry.value
            else:
                final.pop(entry.key, None)
        records = []
        for tx in range(len(block.transactions)):
            reads: list[ReadRecord] = []
            for r in state.last_reads[tx]:
                if r.kind == "scan":
                    reads.extend(ReadRecord("scan", f.key, f.value,
                                            f.version.tx if f.version else None)
                                 for f in r.found)
                else:
                    reads.append(ReadRecord(r.kind, r.key, r.value,  # type: ignore[arg-type]
                                            r.version.tx if r.version else None))
            status: TxStatus = "reverted" if state.reverted[tx] else "committed"
            records.append(TxRecord(tx, status, tuple(reads), state.last_writes[tx]))
        order = tuple(range(len(block.transactions)))
        return Outcome(block.storage.with_writes(sorted(final.items())), order, tuple(records))

    def canonical(self, state: BlockStmState) -> BlockStmState:
        """Workers are identical threads: order them by their encoding."""
        ordered = tuple(sorted(state.workers, key=encode))
        if ordered == state.workers:
            return state
        return _with_workers(state, ordered)

    def compact(self, initial: BlockStmState) -> BlockStmPacking:
        """The fast path: states hash-consed into ints, each worker's step memoized."""
        from shardcheck.model.designs.block_stm_compact import (
            BlockStmPacking,  # it imports this module
        )

        return BlockStmPacking(self, initial)

    def properties(self) -> Sequence[Property]:
        """The invariants I2-I5 and L2 of shared/research/designs.md §1.10."""
        return (
            Property("I2-clean-finish", "at the end no ESTIMATE remains, every transaction "
                     "is EXECUTED and its last read set validates", "terminal", self._i2),
            Property("I3-single-execution", "at most one worker executes a transaction, at "
                     "its current incarnation", "state", _i3),
            Property("I4-active-count", "num_active_tasks equals the workers between their "
                     "increment and decrement", "state", self._i4),
            Property("I5-no-lost-wakeup", "a transaction waiting on a blocker is ABORTING and "
                     "the blocker has not finished without waking it", "state", _i5),
            Property("L2-bounded-incarnations", "no transaction exceeds the incarnation bound "
                     "n + W² + 2 (beyond it the run is livelocked)", "state", _l2),
        )

    def mutants(self) -> Sequence[Mutant]:
        """M01-M09 of shared/research/designs.md §6.2."""
        if self.mutant is not None:
            return ()
        return flag_mutants(MUTANTS, Flags(), BlockStm)

    # Properties ------------------------------------------------------------------------

    def _i2(self, state: BlockStmState) -> str | None:
        for entry in state.data:
            if entry.inc == ESTIMATE:
                return f"an ESTIMATE of T{entry.tx} remains on {entry.key}"
        for tx, (inc, phase) in enumerate(state.status):
            if phase != EXECUTED:
                return f"T{tx} finished {phase} at incarnation {inc}, not executed"
        for tx, reads in enumerate(state.last_reads):
            for read in reads:
                if read.recorded and not _still_valid(state, tx, read, Flags()):
                    return f"T{tx}'s last read of {read.key} is stale in the final memory"
        return None

    def _i4(self, state: BlockStmState) -> str | None:
        counted = sum(1 for w in state.workers if self._holds_count(w))
        if state.num_active_tasks < 0:
            return f"num_active_tasks is {state.num_active_tasks}"
        if counted != state.num_active_tasks:
            return (f"num_active_tasks is {state.num_active_tasks} but {counted} worker(s) "
                    "hold a counted task")
        return None

    def _holds_count(self, worker: Worker) -> bool:
        """Whether the worker sits between its increment and its decrement."""
        if worker.task is not None or worker.pc in _COUNTED:
            return True
        return worker.pc == "validation_idx.fetch_add" and not self.flags.active_after_fetch

    # Actions: what each program counter does ------------------------------------------

    def _describe(self, state: BlockStmState, w: int, worker: Worker) -> Action:
        pc = worker.pc
        actor = f"w{w}"
        task = worker.task
        tx = task.tx if task is not None else worker.target
        params: dict[str, int | str | bool | None] = {}
        reads: set[str] = set()
        writes: set[str] = set()
        if pc == "done_marker.load":
            reads.add("done_marker")
        elif pc == "next_task.compare_indices":
            reads |= {"validation_idx", "execution_idx"}
        elif pc in _COUNTER_LOADS:
            reads.add(_COUNTER_LOADS[pc])
        elif pc in _COUNTER_UPDATES:
            reads.add(_COUNTER_UPDATES[pc])
            writes.add(_COUNTER_UPDATES[pc])
            if pc in {"execution_idx.fetch_min", "validation_idx.fetch_min"}:
                params["target"] = worker.target
        elif pc in {"try_incarnate", "validation_idx.status", "try_validation_abort",
                    "set_ready_status", "finish_execution.status"}:
            target = worker.seen[worker.cursor] if pc == "set_ready_status" and task and \
                task.kind == EXECUTE else tx
            params["tx"] = target
            reads.add(f"status[{target}]")
            writes.add(f"status[{target}]")
            if pc == "try_validation_abort":  # it also loads the written locations
                reads.add(f"last_writes[{target}]")
        elif pc == "vm.read":
            assert task is not None and worker.frame is not None
            stmt = self._pending(state, task.tx, worker.frame)
            params["tx"], params["inc"] = task.tx, task.inc
            params["key"] = stmt.prefix + "*" if isinstance(stmt, Scan) else stmt.key
            reads |= self._locations(state, stmt.prefix if isinstance(stmt, Scan) else stmt.key,
                                    isinstance(stmt, Scan))
        elif pc in {"add_dependency", "add_dependency.check", "add_dependency.insert"}:
            assert task is not None
            params["tx"], params["blocker"] = task.tx, worker.target
            reads.add(f"status[{worker.target}]")
            if pc != "add_dependency.check":
                writes |= {f"dependencies[{worker.target}]", f"status[{task.tx}]"}
                reads.add(f"dependencies[{worker.target}]")
        elif pc == "record.write":
            assert task is not None and worker.frame is not None
            key = effective_writes(worker.frame)[worker.cursor][0]
            params["tx"], params["key"] = task.tx, key
            writes.add(f"mv:{key}")
        elif pc in {"record.delete", "convert_writes_to_estimates"}:
            params["tx"], params["key"] = tx, worker.keys[worker.cursor]
            writes.add(f"mv:{worker.keys[worker.cursor]}")
        elif pc == "record.swap_writes":
            params["tx"] = tx
            reads.add(f"last_writes[{tx}]")
            writes.add(f"last_writes[{tx}]")
        elif pc == "record.swap_reads":
            params["tx"] = tx
            writes.add(f"last_reads[{tx}]")
        elif pc == "finish_execution.dependencies":
            params["tx"] = tx
            reads.add(f"dependencies[{tx}]")
            writes.add(f"dependencies[{tx}]")
        elif pc == "validate.load":
            params["tx"] = tx
            reads.add(f"last_reads[{tx}]")
        elif pc == "validate.read":
            assert task is not None
            entry = worker.reads[worker.cursor]
            params["tx"], params["key"] = task.tx, entry.key + ("*" if entry.kind == "scan"
                                                                else "")
            reads |= self._locations(state, entry.key, entry.kind == "scan")
        else:
            raise AssertionError(f"no description for program counter {pc!r}")
        return Action(actor, pc, params, frozenset(reads), frozenset(writes))

    def _pending(self, state: BlockStmState, tx: int, frame: Frame) -> ReadStmt:
        stmt = pending_read(state.block.value.transactions[tx].program, frame)
        assert stmt is not None
        return stmt

    def _locations(self, state: BlockStmState, key: str, scan: bool) -> set[str]:
        """The memory locations a read touches: one key, or every key a scan can cover."""
        if scan:
            return {f"mv:{k}" for k in state.block.value.keys if k.startswith(key)}
        return {f"mv:{key}"}

    # Steps -----------------------------------------------------------------------------

    def _step(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        handler = _HANDLERS.get(worker.pc)
        if handler is None:
            raise AssertionError(f"worker w{w} has no step at {worker.pc!r}")
        return handler(self, state, w, worker)

    def _n(self, state: BlockStmState) -> int:
        return len(state.status)

    def _set(self, state: BlockStmState, w: int, worker: Worker, **shared: Any) -> BlockStmState:
        workers = _replace(state.workers, w, worker)
        if not shared:
            return _with_workers(state, workers)
        return attrs.evolve(state, workers=workers, **shared)

    # Algorithm 1, run(): `while ¬scheduler.done()` then dispatch on the task held.
    def _loop(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        if state.done_marker:
            return self._set(state, w, EXITED)
        task = worker.task
        if task is None:
            return self._set(state, w, Worker(pc="next_task.compare_indices"))
        if task.kind == EXECUTE:
            # try_execute: VM.execute(txn_idx) starts; its local work folds into this step.
            return self._set(state, w, self._begin_execution(state, task))
        return self._set(state, w, Worker(pc="validate.load", task=task))

    def _begin_execution(self, state: BlockStmState, task: Task) -> Worker:
        program = state.block.value.transactions[task.tx].program
        return self._after_vm_step(state, Worker(pc="vm.read", task=task, frame=start(program)))

    def _after_vm_step(self, state: BlockStmState, worker: Worker) -> Worker:
        """Go on reading, or, once the VM has finished, start ``MVMemory.record``."""
        assert worker.frame is not None and worker.task is not None
        if worker.frame.status is Status.RUNNING:
            return attrs.evolve(worker, pc="vm.read")
        return self._next_record_step(state, attrs.evolve(worker, cursor=0), "record.write")

    def _next_record_step(self, state: BlockStmState, worker: Worker, stage: str) -> Worker:
        """Advance through record's stages, skipping stages with nothing to do."""
        assert worker.frame is not None and worker.task is not None
        writes = effective_writes(worker.frame)
        if stage == "record.write":
            if worker.cursor < len(writes):
                return attrs.evolve(worker, pc="record.write")
            previous = {k for k, _ in state.last_writes[worker.task.tx]}
            stale = tuple(sorted(previous - {k for k, _ in writes}))
            if self._keeps_writes(worker.frame):
                stale = ()
            worker = attrs.evolve(worker, keys=stale, cursor=0)
            stage = "record.delete"
        if stage == "record.delete" and worker.cursor < len(worker.keys):
            return attrs.evolve(worker, pc="record.delete")
        return attrs.evolve(worker, pc="record.swap_writes", keys=(), cursor=0)

    # next_task(): `if validation_idx < execution_idx` (heuristic, one action).
    def _next_task(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        if state.validation_idx < state.execution_idx:
            return self._set(state, w, Worker(pc="validation_idx.load"))
        return self._set(state, w, Worker(pc="execution_idx.load"))

    # next_version_to_validate(): `if validation_idx ≥ BLOCK.size() then check_done()`.
    def _validation_idx_load(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        if state.validation_idx >= self._n(state):
            return self._set(state, w, Worker(pc="check_done.decrease_cnt"))
        first = "validation_idx.fetch_add" if self.flags.active_after_fetch \
            else "num_active_tasks.increment_for_validation"
        return self._set(state, w, Worker(pc=first))

    # `num_active_tasks.increment()` (before the fetch-and-increment, unless M01).
    def _active_increment_for_validation(
        self, state: BlockStmState, w: int, worker: Worker
    ) -> BlockStmState:
        if self.flags.active_after_fetch:
            nxt = "validation_idx.status" if worker.target < self._n(state) \
                else "num_active_tasks.decrement"
            return self._set(state, w, attrs.evolve(worker, pc=nxt),
                             num_active_tasks=state.num_active_tasks + 1)
        return self._set(state, w, Worker(pc="validation_idx.fetch_add"),
                         num_active_tasks=state.num_active_tasks + 1)

    # `idx_to_validate ← validation_idx.fetch_and_increment()`.
    def _validation_idx_fetch_add(
        self, state: BlockStmState, w: int, worker: Worker
    ) -> BlockStmState:
        j = state.validation_idx
        if self.flags.active_after_fetch:
            nxt = "num_active_tasks.increment_for_validation"
        else:
            nxt = "validation_idx.status" if j < self._n(state) else "num_active_tasks.decrement"
        return self._set(state, w, Worker(pc=nxt, target=j), validation_idx=j + 1)

    # `(incarnation_number, status) ← txn_status[idx_to_validate]; if status = EXECUTED`.
    def _validation_idx_status(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        inc, phase = state.status[worker.target]
        if phase == EXECUTED:
            return self._set(state, w, Worker(task=Task(VALIDATE, worker.target, inc)))
        return self._set(state, w, Worker(pc="num_active_tasks.decrement"))

    # next_version_to_execute(): `if execution_idx ≥ BLOCK.size() then check_done()`.
    def _execution_idx_load(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        if state.execution_idx >= self._n(state):
            return self._set(state, w, Worker(pc="check_done.decrease_cnt"))
        return self._set(state, w, Worker(pc="num_active_tasks.increment_for_execution"))

    def _active_increment_for_execution(
        self, state: BlockStmState, w: int, worker: Worker
    ) -> BlockStmState:
        return self._set(state, w, Worker(pc="execution_idx.fetch_add"),
                         num_active_tasks=state.num_active_tasks + 1)

    # `idx_to_execute ← execution_idx.fetch_and_increment(); return try_incarnate(...)`.
    def _execution_idx_fetch_add(
        self, state: BlockStmState, w: int, worker: Worker
    ) -> BlockStmState:
        j = state.execution_idx
        nxt = "try_incarnate" if j < self._n(state) else "num_active_tasks.decrement"
        return self._set(state, w, Worker(pc=nxt, target=j), execution_idx=j + 1)

    # try_incarnate(): `with lock txn_status[txn_idx]: if READY_TO_EXECUTE then EXECUTING`.
    def _try_incarnate(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        j = worker.target
        inc, phase = state.status[j]
        if phase == READY:
            return self._set(state, w, Worker(task=Task(EXECUTE, j, inc)),
                             status=_replace(state.status, j, (inc, EXECUTING)))
        return self._set(state, w, Worker(pc="num_active_tasks.decrement"))

    # `num_active_tasks.decrement(); return ⊥` wherever a task ends or was not found.
    def _active_decrement(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        return self._set(state, w, IDLE, num_active_tasks=state.num_active_tasks - 1)

    # check_done(): `observed_cnt ← decrease_cnt` ...
    def _check_done_first(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        return self._set(state, w, Worker(pc="check_done.execution_idx",
                                          seen=(state.decrease_cnt,)))

    # ... `min(execution_idx, validation_idx) ≥ BLOCK.size()` (two loads) ...
    def _check_done_execution_idx(
        self, state: BlockStmState, w: int, worker: Worker
    ) -> BlockStmState:
        return self._set(state, w, attrs.evolve(worker, pc="check_done.validation_idx",
                                                seen=(*worker.seen, state.execution_idx)))

    def _check_done_validation_idx(
        self, state: BlockStmState, w: int, worker: Worker
    ) -> BlockStmState:
        if min(worker.seen[1], state.validation_idx) >= self._n(state):
            return self._set(state, w, attrs.evolve(worker, pc="check_done.num_active_tasks"))
        return self._set(state, w, IDLE)

    # ... `∧ num_active_tasks = 0` ...
    def _check_done_active(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        if state.num_active_tasks != 0:
            return self._set(state, w, IDLE)
        if self.flags.single_collect:
            return self._set(state, w, Worker(pc="check_done.set"))
        return self._set(state, w, attrs.evolve(worker, pc="check_done.decrease_cnt_again"))

    # ... `∧ observed_cnt = decrease_cnt` (the double collect).
    def _check_done_second(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        if worker.seen[0] == state.decrease_cnt:
            return self._set(state, w, Worker(pc="check_done.set"))
        return self._set(state, w, IDLE)

    # `done_marker ← true`.
    def _check_done_set(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        return self._set(state, w, IDLE, done_marker=True)

    # VM.execute, one MVMemory.read per action (Algorithm 3).
    def _vm_read(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        task, frame = worker.task, worker.frame
        assert task is not None and frame is not None
        program = state.block.value.transactions[task.tx].program
        stmt = self._pending(state, task.tx, frame)
        if isinstance(stmt, Scan):
            blocker, found = mv_scan(state, stmt.prefix, task.tx, self.flags)
            if blocker is not None:
                return self._set(state, w, self._blocked(worker, blocker))
            entry = ReadEntry("scan", stmt.prefix, None, sum(f.value for f in found), found, True)
            frame = deliver(program, frame, tuple((f.key, f.value) for f in found))
        else:
            status, version, value = mv_read(state, stmt.key, task.tx, self.flags)
            if status == "estimate":
                return self._set(state, w, self._blocked(worker, value))
            raw = value if status == "ok" else state.block.value.storage.get(stmt.key)
            frame = deliver(program, frame, raw)
            seen = int(raw is not None) if isinstance(stmt, Exists) else raw or 0
            recorded = not (isinstance(stmt, Exists) and self.flags.exists_unrecorded)
            kind = "exists" if isinstance(stmt, Exists) else "read"
            entry = ReadEntry(kind, stmt.key, version, seen, (), recorded)
        worker = attrs.evolve(worker, frame=frame, reads=(*worker.reads, entry))
        return self._set(state, w, self._after_vm_step(state, worker))

    def _blocked(self, worker: Worker, blocker: int) -> Worker:
        pc = "add_dependency.check" if self.flags.dependency_check_outside_lock \
            else "add_dependency"
        return attrs.evolve(worker, pc=pc, target=blocker)

    def _restart(self, state: BlockStmState, worker: Worker) -> Worker:
        """`if ¬add_dependency(...) then return try_execute(version)`: run the VM again."""
        assert worker.task is not None
        return self._begin_execution(state, worker.task)

    # add_dependency(): `with lock txn_dependency[blocking]: if txn_status[blocking] =
    # EXECUTED return false; set ABORTING; txn_dependency[blocking].insert(txn_idx)`.
    def _add_dependency(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        task, b = worker.task, worker.target
        assert task is not None
        if state.status[b][1] == EXECUTED:
            return self._set(state, w, self._restart(state, worker))
        return self._insert_dependency(state, w, worker)

    def _insert_dependency(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        task, b = worker.task, worker.target
        assert task is not None
        inc = state.status[task.tx][0]
        deps = tuple(sorted({*state.dependencies[b], task.tx}))
        return self._set(state, w, Worker(pc="num_active_tasks.decrement"),
                         status=_replace(state.status, task.tx, (inc, ABORTING)),
                         dependencies=_replace(state.dependencies, b, deps))

    # M03: the blocker's status is checked in a step of its own, outside the lock.
    def _add_dependency_check(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        if state.status[worker.target][1] == EXECUTED:
            return self._set(state, w, self._restart(state, worker))
        return self._set(state, w, attrs.evolve(worker, pc="add_dependency.insert"))

    # record() stage 1, apply_write_set: `data[(location, txn_idx)] ← (inc, value)`.
    def _record_write(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        task, frame = worker.task, worker.frame
        assert task is not None and frame is not None
        key, value = effective_writes(frame)[worker.cursor]
        data = _set_entry(state.data, MVEntry(key, task.tx, task.inc, value))
        worker = self._next_record_step(state, attrs.evolve(worker, cursor=worker.cursor + 1),
                                        "record.write")
        return self._set(state, w, worker, data=data)

    # record() stage 2, rcu_update_written_locations: `data.remove((unwritten, txn_idx))`.
    def _record_delete(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        assert worker.task is not None
        data = _delete_entry(state.data, worker.keys[worker.cursor], worker.task.tx)
        worker = self._next_record_step(state, attrs.evolve(worker, cursor=worker.cursor + 1),
                                        "record.delete")
        return self._set(state, w, worker, data=data)

    # `last_written_locations[txn_idx] ← new_locations; return new \ prev ≠ {}`.
    def _record_swap_writes(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        task, frame = worker.task, worker.frame
        assert task is not None and frame is not None
        writes = effective_writes(frame)
        if self._keeps_writes(frame):
            writes = state.last_writes[task.tx]
        previous = {k for k, _ in state.last_writes[task.tx]}
        if self.flags.newloc_first_incarnation:
            newloc = task.inc == 0
        else:
            newloc = bool({k for k, _ in writes} - previous)
        return self._set(state, w, attrs.evolve(worker, pc="record.swap_reads", newloc=newloc),
                         last_writes=_replace(state.last_writes, task.tx, writes))

    def _keeps_writes(self, frame: Frame) -> bool:
        """The revert-keeps-writes mutant's early return on the revert path of record()."""
        return self.flags.revert_keeps_writes and frame.status is Status.REVERTED

    # record() stage 3: `last_read_set[txn_idx] ← read_set`.
    def _record_swap_reads(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        task, frame = worker.task, worker.frame
        assert task is not None and frame is not None
        nxt = Worker(pc="finish_execution.status", task=task, newloc=worker.newloc)
        return self._set(state, w, nxt,
                         last_reads=_replace(state.last_reads, task.tx, worker.reads),
                         reverted=_replace(state.reverted, task.tx,
                                           frame.status is Status.REVERTED))

    # finish_execution(): `with lock txn_status[txn_idx]: status ← EXECUTED`.
    def _finish_execution_status(
        self, state: BlockStmState, w: int, worker: Worker
    ) -> BlockStmState:
        assert worker.task is not None
        j, inc = worker.task.tx, worker.task.inc
        return self._set(state, w, attrs.evolve(worker, pc="finish_execution.dependencies"),
                         status=_replace(state.status, j, (inc, EXECUTED)))

    # `deps ← swap txn_dependency[txn_idx] with {}`.
    def _finish_execution_dependencies(
        self, state: BlockStmState, w: int, worker: Worker
    ) -> BlockStmState:
        assert worker.task is not None
        j = worker.task.tx
        deps = state.dependencies[j]
        pc = "set_ready_status" if deps else "validation_idx.load_after_execution"
        return self._set(state, w, attrs.evolve(worker, pc=pc, seen=deps, cursor=0),
                         dependencies=_replace(state.dependencies, j, ()))

    # set_ready_status(): `(inc, status) ← txn_status; txn_status ← (inc + 1, READY)`,
    # for each resumed dependency, or for the transaction a validation just aborted.
    def _set_ready_status(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        assert worker.task is not None
        resuming = worker.task.kind == EXECUTE
        j = worker.seen[worker.cursor] if resuming else worker.task.tx
        inc, _ = state.status[j]
        status = _replace(state.status, j, (inc + 1, READY))
        if not resuming:
            return self._set(state, w, attrs.evolve(worker, pc="validation_idx.fetch_min",
                                                    target=j + 1), status=status)
        if worker.cursor + 1 < len(worker.seen):
            nxt = attrs.evolve(worker, cursor=worker.cursor + 1)
        elif self.flags.resume_keeps_execution_idx:
            nxt = attrs.evolve(worker, pc="validation_idx.load_after_execution", seen=(),
                               cursor=0)
        else:
            nxt = attrs.evolve(worker, pc="execution_idx.fetch_min", target=min(worker.seen),
                               seen=(), cursor=0)
        return self._set(state, w, nxt, status=status)

    # decrease_execution_idx(): `execution_idx ← min(execution_idx, target_idx)` ...
    def _execution_idx_fetch_min(
        self, state: BlockStmState, w: int, worker: Worker
    ) -> BlockStmState:
        return self._set(state, w, attrs.evolve(worker, pc="decrease_cnt.after_execution_idx",
                                                target=-1),
                         execution_idx=min(state.execution_idx, worker.target))

    # ... `decrease_cnt.increment()`, ending decrease_execution_idx in resume_dependencies.
    def _decrease_cnt_after_execution_idx(
        self, state: BlockStmState, w: int, worker: Worker
    ) -> BlockStmState:
        return self._set(state, w, attrs.evolve(worker, pc="validation_idx.load_after_execution"),
                         decrease_cnt=state.decrease_cnt + 1)

    # ... `decrease_cnt.increment()`, ending decrease_validation_idx.
    def _decrease_cnt_after_validation_idx(
        self, state: BlockStmState, w: int, worker: Worker
    ) -> BlockStmState:
        assert worker.task is not None
        if worker.task.kind == EXECUTE:
            nxt = Worker(pc="num_active_tasks.decrement")
        else:
            nxt = attrs.evolve(worker, pc="execution_idx.load_after_validation")
        return self._set(state, w, nxt, decrease_cnt=state.decrease_cnt + 1)

    # finish_execution(): `if validation_idx > txn_idx then if wrote_new_path
    # decrease_validation_idx(txn_idx) else return validation task`.
    def _validation_idx_load_after_execution(
        self, state: BlockStmState, w: int, worker: Worker
    ) -> BlockStmState:
        task = worker.task
        assert task is not None
        if state.validation_idx > task.tx:
            if worker.newloc:
                return self._set(state, w, attrs.evolve(worker, pc="validation_idx.fetch_min",
                                                        target=task.tx))
            return self._set(state, w, Worker(task=Task(VALIDATE, task.tx, task.inc)))
        return self._set(state, w, Worker(pc="num_active_tasks.decrement"))

    # decrease_validation_idx(): `validation_idx ← min(validation_idx, target_idx)`.
    def _validation_idx_fetch_min(
        self, state: BlockStmState, w: int, worker: Worker
    ) -> BlockStmState:
        return self._set(state, w, attrs.evolve(worker, pc="decrease_cnt.after_validation_idx",
                                                target=-1),
                         validation_idx=min(state.validation_idx, worker.target))

    # needs_reexecution(): `read_set_valid ← MVMemory.validate_read_set(txn_idx)` begins
    # with `prior_reads ← last_read_set[txn_idx]`.
    def _validate_load(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        assert worker.task is not None
        reads = tuple(r for r in state.last_reads[worker.task.tx] if r.recorded)
        if not reads:
            return self._set(state, w, Worker(pc="num_active_tasks.decrement"))
        return self._set(state, w, attrs.evolve(worker, pc="validate.read", reads=reads,
                                                cursor=0))

    # validate_read_set(): one re-read per action; the first mismatch makes it invalid.
    def _validate_read(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        task = worker.task
        assert task is not None
        entry = worker.reads[worker.cursor]
        if not _still_valid(state, task.tx, entry, self.flags):
            return self._set(state, w, Worker(pc="try_validation_abort", task=task))
        if worker.cursor + 1 < len(worker.reads):
            return self._set(state, w, attrs.evolve(worker, cursor=worker.cursor + 1))
        # finish_validation(txn_idx, aborted = false): `num_active_tasks.decrement()`.
        return self._set(state, w, Worker(pc="num_active_tasks.decrement"))

    # try_validation_abort(): `if txn_status = (inc, EXECUTED) then status ← ABORTING`.
    def _try_validation_abort(
        self, state: BlockStmState, w: int, worker: Worker
    ) -> BlockStmState:
        task = worker.task
        assert task is not None
        if state.status[task.tx] != (task.inc, EXECUTED):
            return self._set(state, w, Worker(pc="num_active_tasks.decrement"))
        keys = tuple(k for k, _ in state.last_writes[task.tx])
        pc = "convert_writes_to_estimates" if keys else "set_ready_status"
        return self._set(state, w, Worker(pc=pc, task=task, keys=keys),
                         status=_replace(state.status, task.tx, (task.inc, ABORTING)))

    # convert_writes_to_estimates(): `data[(location, txn_idx)] ← ESTIMATE`, one per action.
    def _convert_writes_to_estimates(
        self, state: BlockStmState, w: int, worker: Worker
    ) -> BlockStmState:
        task = worker.task
        assert task is not None
        key = worker.keys[worker.cursor]
        data = _set_entry(state.data, MVEntry(key, task.tx, ESTIMATE, 0))
        if worker.cursor + 1 < len(worker.keys):
            nxt = attrs.evolve(worker, cursor=worker.cursor + 1)
        else:
            nxt = Worker(pc="set_ready_status", task=task)
        return self._set(state, w, nxt, data=data)

    # finish_validation(aborted): `if execution_idx > txn_idx then try_incarnate(txn_idx)`.
    def _execution_idx_load_after_validation(
        self, state: BlockStmState, w: int, worker: Worker
    ) -> BlockStmState:
        task = worker.task
        assert task is not None
        if state.execution_idx > task.tx:
            return self._set(state, w, Worker(pc="try_incarnate", target=task.tx))
        return self._set(state, w, Worker(pc="num_active_tasks.decrement"))


_COUNTER_LOADS = {
    "validation_idx.load": "validation_idx",
    "execution_idx.load": "execution_idx",
    "check_done.decrease_cnt": "decrease_cnt",
    "check_done.execution_idx": "execution_idx",
    "check_done.validation_idx": "validation_idx",
    "check_done.num_active_tasks": "num_active_tasks",
    "check_done.decrease_cnt_again": "decrease_cnt",
    "validation_idx.load_after_execution": "validation_idx",
    "execution_idx.load_after_validation": "execution_idx",
}
_COUNTER_UPDATES = {
    "num_active_tasks.increment_for_validation": "num_active_tasks",
    "num_active_tasks.increment_for_execution": "num_active_tasks",
    "num_active_tasks.decrement": "num_active_tasks",
    "validation_idx.fetch_add": "validation_idx",
    "execution_idx.fetch_add": "execution_idx",
    "execution_idx.fetch_min": "execution_idx",
    "validation_idx.fetch_min": "validation_idx",
    "decrease_cnt.after_execution_idx": "decrease_cnt",
    "decrease_cnt.after_validation_idx": "decrease_cnt",
    "check_done.set": "done_marker",
}

_COUNTED = frozenset({
    "execution_idx.fetch_add", "try_incarnate", "validation_idx.status",
    "num_active_tasks.decrement",
})

Handler = Callable[[BlockStm, BlockStmState, int, Worker], BlockStmState]

_HANDLERS: dict[str, Handler] = {
    "done_marker.load": BlockStm._loop,
    "next_task.compare_indices": BlockStm._next_task,
    "validation_idx.load": BlockStm._validation_idx_load,
    "num_active_tasks.increment_for_validation": BlockStm._active_increment_for_validation,
    "validation_idx.fetch_add": BlockStm._validation_idx_fetch_add,
    "validation_idx.status": BlockStm._validation_idx_status,
    "execution_idx.load": BlockStm._execution_idx_load,
    "num_active_tasks.increment_for_execution": BlockStm._active_increment_for_execution,
    "execution_idx.fetch_add": BlockStm._execution_idx_fetch_add,
    "try_incarnate": BlockStm._try_incarnate,
    "num_active_tasks.decrement": BlockStm._active_decrement,
    "check_done.decrease_cnt": BlockStm._check_done_first,
    "check_done.execution_idx": BlockStm._check_done_execution_idx,
    "check_done.validation_idx": BlockStm._check_done_validation_idx,
    "check_done.num_active_tasks": BlockStm._check_done_active,
    "check_done.decrease_cnt_again": BlockStm._check_done_second,
    "check_done.set": BlockStm._check_done_set,
    "vm.read": BlockStm._vm_read,
    "add_dependency": BlockStm._add_dependency,
    "add_dependency.check": BlockStm._add_dependency_check,
    "add_dependency.insert": BlockStm._insert_dependency,
    "record.write": BlockStm._record_write,
    "record.delete": BlockStm._record_delete,
    "record.swap_writes": BlockStm._record_swap_writes,
    "record.swap_reads": BlockStm._record_swap_reads,
    "finish_execution.status": BlockStm._finish_execution_status,
    "finish_execution.dependencies": BlockStm._finish_execution_dependencies,
    "set_ready_status": BlockStm._set_ready_status,
    "execution_idx.fetch_min": BlockStm._execution_idx_fetch_min,
    "decrease_cnt.after_execution_idx": BlockStm._decrease_cnt_after_execution_idx,
    "decrease_cnt.after_validation_idx": BlockStm._decrease_cnt_after_validation_idx,
    "validation_idx.load_after_execution": BlockStm._validation_idx_load_after_execution,
    "validation_idx.fetch_min": BlockStm._validation_idx_fetch_min,
    "validate.load": BlockStm._validate_load,
    "validate.read": BlockStm._validate_read,
    "try_validation_abort": BlockStm._try_validation_abort,
    "convert_writes_to_estimates": BlockStm._convert_writes_to_estimates,
    "execution_idx.load_after_validation": BlockStm._execution_idx_load_after_validation,
}


# --- invariants that need no flags ----------------------------------------------------------


def _i3(state: BlockStmState) -> str | None:
    executing: dict[int, int] = {}
    for w, worker in enumerate(state.workers):
        task = worker.task
        if task is None or task.kind != EXECUTE or worker.pc not in EXECUTING_PCS:
            continue
        if task.tx in executing:
            return f"workers w{executing[task.tx]} and w{w} both execute T{task.tx}"
        executing[task.tx] = w
        inc = state.status[task.tx][0]
        if task.inc != inc:
            return f"w{w} executes T{task.tx} incarnation {task.inc} but it is at {inc}"
    return None


def _i5(state: BlockStmState) -> str | None:
    draining = {w.task.tx for w in state.workers
                if w.task is not None and w.pc == "finish_execution.dependencies"}
    for b, waiting in enumerate(state.dependencies):
        for j in waiting:
            if state.status[j][1] != ABORTING:
                return f"T{j} waits on T{b} but is {state.status[j][1]}, not aborting"
            if state.status[b][1] == EXECUTED and b not in draining:
                return (f"lost wakeup: T{j} waits on T{b}, which has finished executing "
                        "without resuming it")
    return None


def _l2(state: BlockStmState) -> str | None:
    bound = incarnation_bound(len(state.status), len(state.workers))
    for tx, (inc, _) in enumerate(state.status):
        if inc > bound:
            return f"T{tx} reached incarnation {inc}, past the bound {bound}: livelock"
    return None


# --- mutants --------------------------------------------------------------------------------


MUTANTS: tuple[FlagMutant, ...] = (
    FlagMutant(
        "active-after-fetch", "active_after_fetch",
        "M01: num_active_tasks incremented after the fetch-and-increment of validation_idx",
        """What is wrong: next_version_to_validate takes its index before counting itself
in num_active_tasks. Between the two, another worker's check_done sees every index past
the block and no active task, and sets done while a validation is about to run.
Where: the paper's next_version_to_validate increments first; designs.md §1.5 marks the
order as required and §6.2 lists the swap (M01) among bugs seen in ports; a premature
done of this kind was fixed in cosmos-sdk's blockstm (PR #26583, designs.md §3.4).
What a user sees: the block finishes with a transaction whose stale read was never
re-validated: the final store differs from serial execution.
Found by: shardcheck explore block-stm:active-after-fetch \
    --workload counter:txs=2,keys=1 --workers 2
(BFS: I4-active-count after 56 steps).""",
        KnownFailure("counter:txs=2,keys=1", 2, "I4-active-count", 56),
    ),
    FlagMutant(
        "single-collect", "single_collect",
        "M02: check_done without the second read of decrease_cnt",
        """What is wrong: check_done reads execution_idx, validation_idx and
num_active_tasks one at a time; without re-reading decrease_cnt it cannot tell that an
index was lowered and raised again between its reads, so it sets done early.
Where: the double collect is what the paper's decrease_cnt exists for; designs.md §6.2
lists dropping it (M02) among bugs seen in ports.
What a user sees: a resumed or aborted transaction is never re-executed.
Found by: shardcheck explore block-stm:single-collect --workload counter:txs=2,keys=1 --workers 2
(BFS: serial-equivalence after 59 steps).""",
        KnownFailure("counter:txs=2,keys=1", 2, "serial-equivalence", 59),
    ),
    FlagMutant(
        "dependency-check-outside-lock", "dependency_check_outside_lock",
        "M03: add_dependency checks the blocker's status outside the dependency lock",
        """What is wrong: the check that the blocking transaction has not yet finished
and the insertion into its dependency set are two critical sections instead of one.
The blocker can finish and drain its (still empty) dependency set in between.
Where: designs.md §6.2 lists this lock-scope bug (M03) among those seen in ports; the
paper's add_dependency does both under the txn_dependency lock.
What a user sees: a transaction waits forever on a blocker that already finished;
it is never re-executed (I5, then I2 at the end).
Found by: shardcheck explore block-stm:dependency-check-outside-lock \
    --workload condwrite:txs=3,mode=vanish --workers 2
(BFS: I5-no-lost-wakeup after 71 steps).""",
        KnownFailure("condwrite:txs=3,mode=vanish", 2, "I5-no-lost-wakeup", 71),
    ),
    FlagMutant(
        "resume-keeps-execution-idx", "resume_keeps_execution_idx",
        "M04: resuming dependencies does not lower execution_idx",
        """What is wrong: finish_execution marks the waiting transactions READY but does
not call decrease_execution_idx, so no worker picks them up again once execution_idx
has passed them.
Where: go-block-stm removed the decrease when it switched to suspend-on-condvar; the
abort-based scheduler needs it (designs.md §1.6, §6.2 M04).
What a user sees: the block ends with a transaction READY and never executed.
Found by: shardcheck explore block-stm:resume-keeps-execution-idx \
    --workload condwrite:txs=3,mode=vanish --workers 2
(BFS: serial-equivalence after 95 steps).""",
        KnownFailure("condwrite:txs=3,mode=vanish", 2, "serial-equivalence", 95),
    ),
    FlagMutant(
        "not-found-ignores-version", "not_found_ignores_version",
        "M05: validation accepts NOT_FOUND whatever version the read recorded",
        """What is wrong: validate_read_set treats a re-read that finds nothing as valid
even when the original read came from a transaction's write. When that writer's new
incarnation stops writing the key, the read is stale but passes.
Where: designs.md §6.2 lists this comparison bug (M05) among those seen in ports.
What a user sees: a transaction keeps a value that, serially, it would never read.
Found by: shardcheck explore block-stm:not-found-ignores-version \
    --workload condwrite:txs=3,mode=vanish --workers 2
(BFS: serial-equivalence after 102 steps).""",
        KnownFailure("condwrite:txs=3,mode=vanish", 2, "serial-equivalence", 102),
    ),
    FlagMutant(
        "newloc-first-incarnation", "newloc_first_incarnation",
        "M06: wrote_new_location computed as incarnation = 0",
        """What is wrong: record() reports a new location only for first incarnations.
A re-execution that writes a key its previous incarnation did not write does not
lower validation_idx, so higher transactions that read that key from storage are never
re-validated.
Where: designs.md §6.2 lists this shortcut (M06) among bugs seen in ports.
What a user sees: a higher transaction's read misses a write below it.
Found by: shardcheck explore block-stm:newloc-first-incarnation \
    --workload condwrite:txs=3,mode=appear --workers 2
(BFS: serial-equivalence after 100 steps).""",
        KnownFailure("condwrite:txs=3,mode=appear", 2, "serial-equivalence", 100),
    ),
    FlagMutant(
        "exists-unrecorded", "exists_unrecorded",
        "M07: the exists read kind is not recorded in the read set",
        """What is wrong: reads through the second path into storage (existence checks,
like EVM's EXTCODESIZE) are served but never put in the read set, so validation cannot
see that they went stale.
Where: designs.md §6.2 lists an unrecorded read kind (M07) among bugs seen in ports.
What a user sees: two registrations of the same name both succeed.
Found by: shardcheck explore block-stm:exists-unrecorded --workload registry:txs=2 --workers 2
(BFS: serial-equivalence after 59 steps).""",
        KnownFailure("registry:txs=2", 2, "serial-equivalence", 59),
    ),
    FlagMutant(
        "read-own-entries", "read_own_entries",
        "M08: MVMemory.read considers entries at index ≤ txn_idx, not < txn_idx",
        """What is wrong: a transaction reads its own previous incarnation's write (or
its own ESTIMATE) from the multi-version memory, instead of only lower transactions'.
Where: designs.md §6.2 lists this off-by-one (M08) among bugs seen in ports.
What a user sees: a transaction depends on itself and is never resumed, or
validates against its own stale write.
Found by: shardcheck explore block-stm:read-own-entries --workload counter:txs=2,keys=1 --workers 2
(BFS: serial-equivalence after 63 steps).""",
        KnownFailure("counter:txs=2,keys=1", 2, "serial-equivalence", 63),
    ),
    FlagMutant(
        "scan-keys-only", "scan_keys_only",
        "M09: range reads record the keys they found, not their versions",
        """What is wrong: validation of a prefix scan re-runs it and compares only the
set of keys, which catches inserted keys (phantoms) but not a changed value of a key
that was already there.
Where: designs.md §6.2 lists key-only range validation (M09) among bugs seen in ports;
go-block-stm's iterator validation (designs.md §1.6) is the correct form.
What a user sees: an audit sums balances that a lower deposit has since changed.
Found by: shardcheck explore block-stm:scan-keys-only --workload audit:txs=2 --workers 2
(BFS: serial-equivalence after 61 steps).""",
        KnownFailure("audit:txs=2", 2, "serial-equivalence", 61),
    ),
    FlagMutant(
        "revert-keeps-writes", "revert_keeps_writes",
        "a reverting re-execution leaves its previous incarnation's writes in MVMemory",
        """What is wrong: record() takes an early return when the new incarnation
reverted, so neither the removal of locations it no longer writes nor the swap of
last_written_locations happens. A revert is an execution whose write set is empty
(the paper's record() treats it like any other), so the speculative writes of the
incarnation before it stay visible to every higher transaction and in the final
snapshot.
Where: an error path that skips the cleanup the success path does is a classic
porting slip; in Block-STM it only shows when an incarnation that committed
speculatively reverts on re-execution, which takes the right balances.
What a user sees: a transfer that reverts serially still moves money. Only some
values show it: with balances of 10 and transfers of 2 no incarnation ever reverts,
and exhaustive search on those values passes; `shardcheck prove-trace` and
`explore --every-input` find the balances that break it.
Found by: shardcheck explore block-stm:revert-keeps-writes \
    --workload transfers:txs=2,accounts=2,seed=2 --workers 2
(BFS: serial-equivalence after 86 steps).""",
        KnownFailure("transfers:txs=2,accounts=2,seed=2", 2, "serial-equivalence", 86),
    ),
)
