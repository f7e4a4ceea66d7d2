"""Block-STM, the parallel execution engine of Aptos, as atomic steps.

The real system: R. Gelashvili, A. Spiegelman, Z. Xiang, G. Danezis, Z. Li, D. Malkhi,
Y. Xia, R. Zhou, "Block-STM: Scaling Blockchain Execution by Turning Ordering Curse to
a Performance Blessing", PPoPP 2023 (full version arXiv 2203.06871). Its Algorithms 1-5
are the worker loop (``run``, ``try_execute``, ``needs_reexecution``), the multi-version
memory (``MVMemory``), the VM and the collaborative scheduler; the method names below
follow them, and each step's docstring quotes the line it models.

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

Extending this design
---------------------

A variant of Block-STM is a subclass of ``BlockStm`` (import it, and the state values
``BlockStmState``, ``Worker``, ``Task``, ``ReadEntry``, ``MVEntry``, ``Version``,
``Found``, ``Flags``, the status and task constants and ``replace_at``, from
``shardcheck.model.designs.block_stm``) that overrides the methods below; every one of
them is called through ``self``, so an override is what the explorer, the fuzzer, replay
and every mutant of the subclass run. ``shardcheck explore my_stm.py:MyStm`` explores
it; ``my_stm.py:MyStm:scan-keys-only`` is the subclass with that mutant's bug switched
on (``mutants()`` builds variants of ``type(self)`` through ``variant``). Its default
configuration is the class attributes ``default_workload`` (``counter:txs=3,keys=1``)
and ``default_workers`` (2); ``workload_kinds`` is None (any block). An ``__init__`` of
the subclass calls ``super().__init__(flags, mutant)``, which binds the tables below;
the bug switches are ``self.flags`` (``Flags``). The design interface itself
(``initial``, ``actions``, ``step``, ``is_terminal``, ``outcome``, ``canonical``,
``properties``, ``mutants``) may be overridden as for any design. ``W`` below is
``Worker``, ``S`` ``BlockStmState``.

*A worker's steps.* A worker's program counter ``worker.pc`` names its next action;
``steps`` maps each program counter to the name of the method that takes that step,
``(state: S, w: int, worker: W) -> S``, where ``w`` is the worker's index and ``worker``
is ``state.workers[w]``. The method returns the next state, normally through
``with_worker(state, w, next_worker, **changed_fields)``. The step methods, each
documented with the paper's line: ``loop`` (``done_marker.load``), ``next_task``,
``validation_idx_load``, ``active_increment_for_validation``,
``validation_idx_fetch_add``, ``validation_idx_status``, ``execution_idx_load``,
``active_increment_for_execution``, ``execution_idx_fetch_add``, ``try_incarnate``,
``active_decrement``, ``check_done_first``, ``check_done_execution_idx``,
``check_done_validation_idx``, ``check_done_active``, ``check_done_second``,
``check_done_set``, ``vm_read``, ``add_dependency``, ``add_dependency_check``,
``insert_dependency``, ``record_write``, ``record_delete``, ``record_swap_writes``,
``record_swap_reads``, ``finish_execution_status``, ``finish_execution_dependencies``,
``set_ready_status``, ``execution_idx_fetch_min``, ``decrease_cnt_after_execution_idx``,
``decrease_cnt_after_validation_idx``, ``validation_idx_load_after_execution``,
``validation_idx_fetch_min``, ``validate_load``, ``validate_read``,
``try_validation_abort``, ``convert_writes_to_estimates``,
``execution_idx_load_after_validation``. ``step_worker(state, w, worker) -> S`` is the
dispatch itself.

*Footprints.* ``footprints`` maps each program counter to the method that says what
its action touches, ``(state: S, w: int, worker: W) -> Footprint``, a triple ``(params,
reads, writes)``: the action's parameters (kept in this order in traces) and the shared
objects it reads and writes (``"execution_idx"``, ``"status[3]"``, ``"mv:acct0"`` ...),
from which partial-order reduction tells independent actions apart. They are
``done_marker_footprint``, ``compare_indices_footprint``, ``counter_load_footprint`` and
``counter_update_footprint`` (the counter each program counter loads or updates is in
the class attributes ``counter_loads`` and ``counter_updates``), ``fetch_min_footprint``,
``status_footprint``, ``vm_read_footprint``, ``dependency_footprint``,
``record_write_footprint``, ``memory_key_footprint``, ``swap_writes_footprint``,
``swap_reads_footprint``, ``drain_dependencies_footprint``, ``validate_load_footprint``,
``validate_read_footprint``; ``describe(state, w, worker) -> Action`` builds the action.
A new program counter is a new entry in both tables (``steps = {**BlockStm.steps,
"my.pc": "my_step"}``), checked when the design is created.

*Rules*, the algorithm's decisions that several steps share:

- ``mv_read(state, key, tx) -> MVResult``: ``MVMemory.read``, the entry of the highest
  transaction below ``tx`` that wrote ``key``: ``("ok", version, value)``,
  ``("not_found", None, 0)`` or ``("estimate", None, blocker)``.
- ``mv_scan(state, prefix, tx) -> (blocker | None, found)``: a range read over every
  key with ``prefix``.
- ``still_valid(state, tx, entry: ReadEntry) -> bool``: one iteration of
  ``validate_read_set``, whether a recorded read still holds.
- ``records_read(stmt: ReadStmt) -> bool``: whether a read of this kind goes into the
  read set.
- ``blocked_on(worker, blocker) -> W``: where a worker goes when its read hit an
  ESTIMATE of ``blocker`` (``add_dependency``).
- ``dependency_resolved(state, blocker) -> bool``: ``add_dependency``'s test that the
  blocker has already finished (then the read is retried).
- ``restart_execution(state, worker) -> W``: ``return try_execute(version)``, run the
  VM again from the start.
- ``begin_execution(state, task) -> W``, ``after_vm_step(state, worker) -> W`` and
  ``next_record_step(state, worker, stage) -> W``: the VM's run and ``record``'s stages.
- ``wrote_new_location(task, previous, written) -> bool``: ``record``'s
  ``wrote_new_path``, which decides whether ``finish_execution`` lowers
  ``validation_idx``.
- ``keeps_writes(frame) -> bool``: whether ``record`` leaves the previous incarnation's
  writes in place.
- ``write_entry(data, entry)`` and ``remove_entry(data, key, tx)``: one location of
  ``MVMemory.data`` written or removed (it stays sorted by ``(key, tx)``).
- ``snapshot(state) -> dict[str, int]``: ``MVMemory.snapshot()``, the final writes.
- ``holds_count(worker) -> bool``: whether a worker sits between its increment and its
  decrement of ``num_active_tasks`` (by the class attribute ``counted_pcs``).
- ``incarnation_bound(n, workers) -> int``: the livelock bound of L2.
- ``block_size(state)``, ``worker_tx(worker)``, ``pending_read(state, tx, frame)`` and
  ``locations(state, key, scan)``: what steps and footprints look up.

*Invariants.* ``properties()`` lists them as bound methods ``(state: S) -> str | None``
(None: it holds; else what is wrong): ``clean_finish`` (I2, terminal states),
``single_execution`` (I3; the program counters at which a worker is executing are
``executing_pcs``), ``active_count`` (I4), ``no_lost_wakeup`` (I5; a worker at one of
``draining_pcs`` has set EXECUTED and not yet drained its dependencies) and
``bounded_incarnations`` (L2). A subclass adds its own by overriding ``properties()``
and extending ``super().properties()``.

*State.* ``state_class`` (default ``BlockStmState``) is the class ``initial`` creates;
a subclass of it (``@attrs.frozen class MyState(BlockStmState)``) may add fields, each
with a default (to start one at a value the configuration decides, override
``initial`` and ``attrs.evolve`` what ``super().initial(config)`` returns). Every step
keeps fields it does not know: ``with_worker`` and ``with_workers`` go through
``attrs.evolve`` for any class but ``BlockStmState`` itself. A step override sets its
field on what the base step returns: ``after = super().set_ready_status(state, w,
worker)``, then ``attrs.evolve(after, my_field=...)`` (for mypy, narrow ``after`` with
``assert isinstance(after, MyState)`` first: the methods are typed with
``BlockStmState``).

*Mutants.* ``mutant_specs`` lists the flag mutants (``FlagMutant``: a name, the field of
``Flags`` it switches on, its story); ``variant(flags, mutant) -> Self`` builds one, by
default ``type(self)(flags, mutant)``: a subclass whose ``__init__`` takes other
arguments overrides it.

*The packed path.* A subclass uses the inherited packing only if its own class body
says ``compact_fits = True``. The packing runs the design's own ``step_worker`` on one
worker at a time and memoizes it, and carries every field of ``state_class``; what it
asks of a subclass that declares it fits: a step reads and writes only the shared fields
and its own worker (never another worker), and ``actions``, ``step``, ``is_terminal``
and ``canonical`` are BlockStm's (``compact`` refuses otherwise). Invariants a subclass
adds or overrides are checked on every packed state; ``shardcheck explore --audit``
compares the packed and the ordinary path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar

import attrs

from shardcheck.model.api import (
    Action,
    Config,
    KnownFailure,
    Mutant,
    Outcome,
    ParamValue,
    Property,
    ReadRecord,
    TxRecord,
    TxStatus,
)
from shardcheck.model.designs.block_stm_compact import BlockStmPacking
from shardcheck.model.designs.block_stm_state import (
    ABORTING,
    ESTIMATE,
    EXECUTE,
    EXECUTED,
    EXECUTING,
    EXECUTING_PCS,
    EXITED,
    IDLE,
    READY,
    VALIDATE,
    Block,
    BlockStmState,
    Flags,
    Found,
    MVEntry,
    ReadEntry,
    Task,
    Version,
    Worker,
    incarnation_bound,
)
from shardcheck.model.designs.dispatch import bind_methods
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
from shardcheck.model.packing import overridden

__all__ = [
    "ABORTING",
    "ESTIMATE",
    "EXECUTE",
    "EXECUTED",
    "EXECUTING",
    "EXECUTING_PCS",
    "EXITED",
    "IDLE",
    "MUTANTS",
    "PUBLISHED",
    "READY",
    "VALIDATE",
    "Block",
    "BlockStm",
    "BlockStmState",
    "FlagMutant",
    "Flags",
    "Footprint",
    "Found",
    "MVEntry",
    "MVResult",
    "ReadEntry",
    "Task",
    "Version",
    "Worker",
    "incarnation_bound",
    "replace_at",
]

PUBLISHED = Flags()
"""No bug switched on: Block-STM as published."""

MVResult = tuple[str, Version | None, int]
"""("ok", version, value), ("not_found", None, 0) or ("estimate", None, blocker)."""

Footprint = tuple[dict[str, ParamValue], set[str], set[str]]
"""An action's parameters, the shared objects it reads, and those it writes."""

StepMethod = Callable[[BlockStmState, int, Worker], BlockStmState]
FootprintMethod = Callable[[BlockStmState, int, Worker], Footprint]


def _with_workers(state: BlockStmState, workers: tuple[Worker, ...]) -> BlockStmState:
    """``attrs.evolve(state, workers=workers)`` for exactly ``BlockStmState``, spelled out:
    it is on the hottest path."""
    return BlockStmState(
        state.block, state.execution_idx, state.validation_idx, state.decrease_cnt,
        state.num_active_tasks, state.done_marker, state.status, state.dependencies,
        state.data, state.last_writes, state.last_reads, state.reverted, workers)


def replace_at(items: tuple[Any, ...], index: int, value: Any) -> tuple[Any, ...]:
    """``items`` with the one at ``index`` replaced: how a step changes one transaction's
    entry of ``status``, ``dependencies``, ``last_writes``, ``last_reads`` or ``reverted``."""
    return (*items[:index], value, *items[index + 1 :])


# --- the design ---------------------------------------------------------------------------


class BlockStm:
    """Block-STM with K workers, one action per shared-memory access."""

    name = "block-stm"
    summary = "Block-STM (PPoPP 2023): multi-version memory, collaborative scheduler"
    default_workload = "counter:txs=3,keys=1"
    """Three increments of one key: every re-execution and re-validation path shows."""
    default_workers = 2
    workload_kinds: ClassVar[tuple[str, ...] | None] = None
    """Any block of transactions."""

    state_class: ClassVar[type[BlockStmState]] = BlockStmState
    """The class of the states ``initial`` creates (a subclass may add fields)."""

    steps: ClassVar[Mapping[str, str]] = MappingProxyType({
        "done_marker.load": "loop",
        "next_task.compare_indices": "next_task",
        "validation_idx.load": "validation_idx_load",
        "num_active_tasks.increment_for_validation": "active_increment_for_validation",
        "validation_idx.fetch_add": "validation_idx_fetch_add",
        "validation_idx.status": "validation_idx_status",
        "execution_idx.load": "execution_idx_load",
        "num_active_tasks.increment_for_execution": "active_increment_for_execution",
        "execution_idx.fetch_add": "execution_idx_fetch_add",
        "try_incarnate": "try_incarnate",
        "num_active_tasks.decrement": "active_decrement",
        "check_done.decrease_cnt": "check_done_first",
        "check_done.execution_idx": "check_done_execution_idx",
        "check_done.validation_idx": "check_done_validation_idx",
        "check_done.num_active_tasks": "check_done_active",
        "check_done.decrease_cnt_again": "check_done_second",
        "check_done.set": "check_done_set",
        "vm.read": "vm_read",
        "add_dependency": "add_dependency",
        "add_dependency.check": "add_dependency_check",
        "add_dependency.insert": "insert_dependency",
        "record.write": "record_write",
        "record.delete": "record_delete",
        "record.swap_writes": "record_swap_writes",
        "record.swap_reads": "record_swap_reads",
        "finish_execution.status": "finish_execution_status",
        "finish_execution.dependencies": "finish_execution_dependencies",
        "set_ready_status": "set_ready_status",
        "execution_idx.fetch_min": "execution_idx_fetch_min",
        "decrease_cnt.after_execution_idx": "decrease_cnt_after_execution_idx",
        "decrease_cnt.after_validation_idx": "decrease_cnt_after_validation_idx",
        "validation_idx.load_after_execution": "validation_idx_load_after_execution",
        "validation_idx.fetch_min": "validation_idx_fetch_min",
        "validate.load": "validate_load",
        "validate.read": "validate_read",
        "try_validation_abort": "try_validation_abort",
        "convert_writes_to_estimates": "convert_writes_to_estimates",
        "execution_idx.load_after_validation": "execution_idx_load_after_validation",
    })
    """Program counter -> the name of the method that takes a worker's step there."""

    counter_loads: ClassVar[Mapping[str, str]] = MappingProxyType({
        "validation_idx.load": "validation_idx",
        "execution_idx.load": "execution_idx",
        "check_done.decrease_cnt": "decrease_cnt",
        "check_done.execution_idx": "execution_idx",
        "check_done.validation_idx": "validation_idx",
        "check_done.num_active_tasks": "num_active_tasks",
        "check_done.decrease_cnt_again": "decrease_cnt",
        "validation_idx.load_after_execution": "validation_idx",
        "execution_idx.load_after_validation": "execution_idx",
    })
    """Program counter -> the shared counter its action loads."""

    counter_updates: ClassVar[Mapping[str, str]] = MappingProxyType({
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
    })
    """Program counter -> the shared counter (or flag) its action updates."""

    footprints: ClassVar[Mapping[str, str]] = MappingProxyType({
        "done_marker.load": "done_marker_footprint",
        "next_task.compare_indices": "compare_indices_footprint",
        **{pc: "counter_load_footprint" for pc in counter_loads},
        **{pc: "counter_update_footprint" for pc in counter_updates},
        "execution_idx.fetch_min": "fetch_min_footprint",
        "validation_idx.fetch_min": "fetch_min_footprint",
        **{pc: "status_footprint" for pc in (
            "try_incarnate", "validation_idx.status", "try_validation_abort",
            "set_ready_status", "finish_execution.status")},
        "vm.read": "vm_read_footprint",
        "add_dependency": "dependency_footprint",
        "add_dependency.check": "dependency_footprint",
        "add_dependency.insert": "dependency_footprint",
        "record.write": "record_write_footprint",
        "record.delete": "memory_key_footprint",
        "convert_writes_to_estimates": "memory_key_footprint",
        "record.swap_writes": "swap_writes_footprint",
        "record.swap_reads": "swap_reads_footprint",
        "finish_execution.dependencies": "drain_dependencies_footprint",
        "validate.load": "validate_load_footprint",
        "validate.read": "validate_read_footprint",
    })
    """Program counter -> the name of the method that gives its action's footprint."""

    counted_pcs: ClassVar[frozenset[str]] = frozenset({
        "execution_idx.fetch_add", "try_incarnate", "validation_idx.status",
        "num_active_tasks.decrement",
    })
    """Program counters at which a worker holds no task yet is counted in
    ``num_active_tasks`` (it incremented, and has not decremented)."""

    executing_pcs: ClassVar[frozenset[str]] = EXECUTING_PCS
    """Program counters at which a worker holding an EXECUTE task is running that
    incarnation (before it is EXECUTED): what I3 counts."""

    draining_pcs: ClassVar[frozenset[str]] = frozenset({"finish_execution.dependencies"})
    """Program counters at which a worker has set its transaction EXECUTED and not yet
    taken its dependencies: I5 lets a finished blocker keep waiters only there."""

    mutant_specs: ClassVar[tuple[FlagMutant, ...]]
    """The flag mutants ``mutants()`` builds (``MUTANTS``, below the class)."""

    def __init__(self, flags: Flags = PUBLISHED, mutant: str | None = None) -> None:
        self.flags = flags
        self.mutant = mutant
        # The step and footprint of each program counter, as methods bound to this
        # design: looked up once here, so overrides count and dispatch costs one dict get.
        self._step_methods: dict[str, StepMethod] = bind_methods(self, self.steps, "steps")
        self._footprint_methods: dict[str, FootprintMethod] = bind_methods(
            self, self.footprints, "footprints")
        missing = sorted(set(self.steps) ^ set(self.footprints))
        if missing:
            raise TypeError(f"{type(self).__name__}: program counter(s) {', '.join(missing)} "
                            "need an entry in both steps and footprints")

    # The design interface -------------------------------------------------------------

    def initial(self, config: Config) -> BlockStmState:
        """Everything READY at incarnation 0, empty memory, every worker in its loop."""
        block = config.workload.block
        n = len(block)
        storage = config.workload.initial
        keys = block_keys(block, tuple(k for k, _ in storage.values))
        return self.state_class(
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
            self.describe(state, w, worker)
            for w, worker in enumerate(state.workers)
            if worker.pc != "exited"
        )

    def step(self, state: BlockStmState, action: Action) -> BlockStmState:
        """Worker ``action.actor`` takes its next step."""
        w = int(action.actor[1:])
        return self.step_worker(state, w, state.workers[w])

    def is_terminal(self, state: BlockStmState) -> bool:
        """Every worker has seen the done marker and exited."""
        return all(worker.pc == "exited" for worker in state.workers)

    def outcome(self, state: BlockStmState) -> Outcome:
        """``MVMemory.snapshot()`` over storage, and each transaction's last recorded run."""
        block = state.block.value
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
        final = sorted(self.snapshot(state).items())
        return Outcome(block.storage.with_writes(final), order, tuple(records))

    def canonical(self, state: BlockStmState) -> BlockStmState:
        """Workers are identical threads: order them by their encoding."""
        ordered = tuple(sorted(state.workers, key=encode))
        if ordered == state.workers:
            return state
        return self.with_workers(state, ordered)

    def compact(self, initial: BlockStmState) -> BlockStmPacking:
        """The fast path: states hash-consed into ints, each worker's step memoized."""
        changed = overridden(self, BlockStm, ("actions", "step", "is_terminal", "canonical"))
        if changed:
            raise TypeError(
                f"{type(self).__name__} overrides {', '.join(changed)}, which Block-STM's "
                "packed path mirrors instead of calling: it cannot describe this design; "
                "remove compact_fits = True (the ordinary path checks it)")
        return BlockStmPacking(self, initial)

    def properties(self) -> Sequence[Property]:
        """The invariants I2-I5 and L2 of shared/research/designs.md §1.10."""
        return (
            Property("I2-clean-finish", "at the end no ESTIMATE remains, every transaction "
                     "is EXECUTED and its last read set validates", "terminal",
                     self.clean_finish),
            Property("I3-single-execution", "at most one worker executes a transaction, at "
                     "its current incarnation", "state", self.single_execution),
            Property("I4-active-count", "num_active_tasks equals the workers between their "
                     "increment and decrement", "state", self.active_count),
            Property("I5-no-lost-wakeup", "a transaction waiting on a blocker is ABORTING and "
                     "the blocker has not finished without waking it", "state",
                     self.no_lost_wakeup),
            Property("L2-bounded-incarnations", "no transaction exceeds the incarnation bound "
                     "n + W² + 2 (beyond it the run is livelocked)", "state",
                     self.bounded_incarnations),
        )

    def mutants(self) -> Sequence[Mutant]:
        """M01-M09 of shared/research/designs.md §6.2 (``mutant_specs``), as variants of
        this design's own class."""
        if self.mutant is not None:
            return ()
        return flag_mutants(self.mutant_specs, self.flags, self.variant)

    def variant(self, flags: Flags, mutant: str) -> BlockStm:
        """This design's class with other flags: how ``mutants()`` builds each mutant."""
        return type(self)(flags, mutant)

    # How a step is taken -------------------------------------------------------------

    def step_worker(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        """Worker ``w`` (that is ``worker``) takes the step ``steps`` names for its pc."""
        method = self._step_methods.get(worker.pc)
        if method is None:
            raise AssertionError(f"worker w{w} has no step at {worker.pc!r}")
        return method(state, w, worker)

    def describe(self, state: BlockStmState, w: int, worker: Worker) -> Action:
        """The action worker ``w`` takes next: its pc, and the footprint ``footprints``
        names for it."""
        method = self._footprint_methods.get(worker.pc)
        if method is None:
            raise AssertionError(f"no footprint for program counter {worker.pc!r}")
        params, reads, writes = method(state, w, worker)
        return Action(f"w{w}", worker.pc, params, reads, writes)

    def with_worker(self, state: BlockStmState, w: int, worker: Worker,
                    **changes: Any) -> BlockStmState:
        """``state`` with worker ``w`` replaced and the shared fields in ``changes`` set.

        Every other field is kept, a subclass's too (``attrs.evolve``); the exact
        ``BlockStmState`` is rebuilt positionally, which is faster on the hottest path.
        """
        workers = (*state.workers[:w], worker, *state.workers[w + 1 :])
        if changes or type(state) is not BlockStmState:
            return attrs.evolve(state, workers=workers, **changes)
        return _with_workers(state, workers)

    def with_workers(self, state: BlockStmState,
                     workers: tuple[Worker, ...]) -> BlockStmState:
        """``state`` with every worker replaced, every other field kept."""
        if type(state) is BlockStmState:
            return _with_workers(state, workers)
        return attrs.evolve(state, workers=workers)

    def block_size(self, state: BlockStmState) -> int:
        """``BLOCK.size()``."""
        return len(state.status)

    def worker_tx(self, worker: Worker) -> int:
        """The transaction a worker's step is about: its task's, else its target."""
        task = worker.task
        return task.tx if task is not None else worker.target

    def pending_read(self, state: BlockStmState, tx: int, frame: Frame) -> ReadStmt:
        """The read the VM running transaction ``tx`` (at ``frame``) issues next."""
        stmt = pending_read(state.block.value.transactions[tx].program, frame)
        assert stmt is not None
        return stmt

    def locations(self, state: BlockStmState, key: str, scan: bool) -> set[str]:
        """The memory locations a read touches: one key, or every key a scan can cover."""
        if scan:
            return {f"mv:{k}" for k in state.block.value.keys if k.startswith(key)}
        return {f"mv:{key}"}

    # Rules: MVMemory (Algorithm 2) -----------------------------------------------------

    def mv_read(self, state: BlockStmState, key: str, tx: int) -> MVResult:
        """``MVMemory.read(location, txn_idx)``: the entry of the highest lower writer
        (``read_own_entries``: of the highest writer at or below ``txn_idx``)."""
        own = self.flags.read_own_entries
        best: MVEntry | None = None
        for entry in state.data:
            if entry.key == key and (entry.tx < tx or (own and entry.tx == tx)):
                best = entry  # data is sorted by (key, tx), so the last match is the highest
        if best is None:
            return ("not_found", None, 0)
        if best.inc == ESTIMATE:
            return ("estimate", None, best.tx)
        return ("ok", Version(best.tx, best.inc), best.value)

    def mv_scan(self, state: BlockStmState, prefix: str,
                tx: int) -> tuple[int | None, tuple[Found, ...]]:
        """A range read: every present key with ``prefix`` as ``tx`` sees it.

        Returns ``(blocker, ())`` when an ESTIMATE is in range, else ``(None, found)``.
        """
        storage = state.block.value.storage
        keys = set(storage.keys_with_prefix(prefix))
        keys.update(e.key for e in state.data if e.key.startswith(prefix) and e.tx < tx)
        found: list[Found] = []
        for key in sorted(keys):
            status, version, value = self.mv_read(state, key, tx)
            if status == "estimate":
                return value, ()
            if status == "ok":
                found.append(Found(key, version, value))
            else:
                stored = storage.get(key)
                if stored is not None:
                    found.append(Found(key, None, stored))
        return None, tuple(found)

    def still_valid(self, state: BlockStmState, tx: int, entry: ReadEntry) -> bool:
        """One iteration of ``validate_read_set``: the read is stale if the re-read is a
        READ_ERROR, or NOT_FOUND where a version was read, or OK at another version (§1.4
        of shared/research/designs.md); a scan holds when it finds the same keys at the
        same versions."""
        if entry.kind == "scan":
            blocker, found = self.mv_scan(state, entry.key, tx)
            if blocker is not None:
                return False
            if self.flags.scan_keys_only:
                return [f.key for f in found] == [f.key for f in entry.found]
            return [(f.key, f.version) for f in found] == [(f.key, f.version)
                                                             for f in entry.found]
        status, version, _ = self.mv_read(state, entry.key, tx)
        if status == "estimate":
            return False
        if status == "not_found":
            return self.flags.not_found_ignores_version or entry.version is None
        return version == entry.version

    def write_entry(self, data: tuple[MVEntry, ...], new: MVEntry) -> tuple[MVEntry, ...]:
        """``data[(location, txn_idx)] ← (incarnation, value)`` (or ESTIMATE), kept sorted
        by ``(key, tx)``."""
        kept = [e for e in data if (e.key, e.tx) != (new.key, new.tx)]
        kept.append(new)
        return tuple(sorted(kept, key=lambda e: (e.key, e.tx)))

    def remove_entry(self, data: tuple[MVEntry, ...], key: str,
                     tx: int) -> tuple[MVEntry, ...]:
        """``data.remove((location, txn_idx))``."""
        return tuple(e for e in data if (e.key, e.tx) != (key, tx))

    def snapshot(self, state: BlockStmState) -> dict[str, int]:
        """``MVMemory.snapshot()``: per key the value of its highest writer (a key whose
        highest entry is an ESTIMATE is left out)."""
        final: dict[str, int] = {}
        for entry in state.data:  # sorted by (key, tx): the highest writer comes last
            if entry.inc != ESTIMATE:
                final[entry.key] = entry.value
            else:
                final.pop(entry.key, None)
        return final

    # Rules: the VM, dependencies, record (Algorithms 1 and 3) --------------------------

    def records_read(self, stmt: ReadStmt) -> bool:
        """Whether the VM puts a read of this kind in the read set (every kind does,
        unless ``exists_unrecorded``)."""
        return not (isinstance(stmt, Exists) and self.flags.exists_unrecorded)

    def blocked_on(self, worker: Worker, blocker: int) -> Worker:
        """`if read_result.status = READ_ERROR then ... add_dependency(txn_idx,
        blocking_txn_idx)`: the worker goes to ``add_dependency`` (one critical section,
        or two with ``dependency_check_outside_lock``)."""
        pc = "add_dependency.check" if self.flags.dependency_check_outside_lock \
            else "add_dependency"
        return attrs.evolve(worker, pc=pc, target=blocker)

    def dependency_resolved(self, state: BlockStmState, blocker: int) -> bool:
        """`if txn_status[blocking_txn_idx].status = EXECUTED then return false`: the
        blocker finished since the read, so there is nothing to wait for."""
        return state.status[blocker][1] == EXECUTED

    def restart_execution(self, state: BlockStmState, worker: Worker) -> Worker:
        """`if ¬add_dependency(...) then return try_execute(version)`: run the VM again."""
        assert worker.task is not None
        return self.begin_execution(state, worker.task)

    def begin_execution(self, state: BlockStmState, task: Task) -> Worker:
        """``try_execute``: ``VM.execute(txn_idx)`` starts; its local work before the first
        read folds into this step."""
        program = state.block.value.transactions[task.tx].program
        return self.after_vm_step(state, Worker(pc="vm.read", task=task, frame=start(program)))

    def after_vm_step(self, state: BlockStmState, worker: Worker) -> Worker:
        """Go on reading, or, once the VM has finished, start ``MVMemory.record``."""
        assert worker.frame is not None and worker.task is not None
        if worker.frame.status is Status.RUNNING:
            return attrs.evolve(worker, pc="vm.read")
        return self.next_record_step(state, attrs.evolve(worker, cursor=0), "record.write")

    def next_record_step(self, state: BlockStmState, worker: Worker, stage: str) -> Worker:
        """Advance through record's stages (``record.write``, then ``record.delete``, then
        ``record.swap_writes``), skipping stages with nothing to do."""
        assert worker.frame is not None and worker.task is not None
        writes = effective_writes(worker.frame)
        if stage == "record.write":
            if worker.cursor < len(writes):
                return attrs.evolve(worker, pc="record.write")
            previous = {k for k, _ in state.last_writes[worker.task.tx]}
            stale = tuple(sorted(previous - {k for k, _ in writes}))
            if self.keeps_writes(worker.frame):
                stale = ()
            worker = attrs.evolve(worker, keys=stale, cursor=0)
            stage = "record.delete"
        if stage == "record.delete" and worker.cursor < len(worker.keys):
            return attrs.evolve(worker, pc="record.delete")
        return attrs.evolve(worker, pc="record.swap_writes", keys=(), cursor=0)

    def wrote_new_location(self, task: Task, previous: set[str],
                           written: set[str]) -> bool:
        """``record``'s `return new_locations \\ prev_locations ≠ {}` (``wrote_new_path``);
        with ``newloc_first_incarnation``, whether this is incarnation 0."""
        if self.flags.newloc_first_incarnation:
            return task.inc == 0
        return bool(written - previous)

    def keeps_writes(self, frame: Frame) -> bool:
        """The revert-keeps-writes mutant's early return on the revert path of record()."""
        return self.flags.revert_keeps_writes and frame.status is Status.REVERTED

    # Rules: the scheduler's count of active tasks --------------------------------------

    def holds_count(self, worker: Worker) -> bool:
        """Whether the worker sits between its increment and its decrement of
        ``num_active_tasks``: it holds a task, or stands at one of ``counted_pcs``."""
        if worker.task is not None or worker.pc in self.counted_pcs:
            return True
        return worker.pc == "validation_idx.fetch_add" and not self.flags.active_after_fetch

    def incarnation_bound(self, n: int, workers: int) -> int:
        """The livelock bound of L2, after Aptos's ``W² + n + c`` sanity check."""
        return incarnation_bound(n, workers)

    # Invariants (shared/research/designs.md §1.10) ---------------------------------------

    def clean_finish(self, state: BlockStmState) -> str | None:
        """I2, at the end: no ESTIMATE remains, every transaction is EXECUTED, and its last
        read set validates (``still_valid``) against the final memory."""
        for entry in state.data:
            if entry.inc == ESTIMATE:
                return f"an ESTIMATE of T{entry.tx} remains on {entry.key}"
        for tx, (inc, phase) in enumerate(state.status):
            if phase != EXECUTED:
                return f"T{tx} finished {phase} at incarnation {inc}, not executed"
        for tx, reads in enumerate(state.last_reads):
            for read in reads:
                if read.recorded and not self.still_valid(state, tx, read):
                    return f"T{tx}'s last read of {read.key} is stale in the final memory"
        return None

    def single_execution(self, state: BlockStmState) -> str | None:
        """I3: at most one worker executes a transaction, and at its current incarnation."""
        executing: dict[int, int] = {}
        executing_pcs = self.executing_pcs
        for w, worker in enumerate(state.workers):
            task = worker.task
            if task is None or task.kind != EXECUTE or worker.pc not in executing_pcs:
                continue
            if task.tx in executing:
                return f"workers w{executing[task.tx]} and w{w} both execute T{task.tx}"
            executing[task.tx] = w
            inc = state.status[task.tx][0]
            if task.inc != inc:
                return f"w{w} executes T{task.tx} incarnation {task.inc} but it is at {inc}"
        return None

    def active_count(self, state: BlockStmState) -> str | None:
        """I4: ``num_active_tasks`` is never negative and equals the workers that hold a
        count (``holds_count``)."""
        counted = sum(1 for w in state.workers if self.holds_count(w))
        if state.num_active_tasks < 0:
            return f"num_active_tasks is {state.num_active_tasks}"
        if counted != state.num_active_tasks:
            return (f"num_active_tasks is {state.num_active_tasks} but {counted} worker(s) "
                    "hold a counted task")
        return None

    def no_lost_wakeup(self, state: BlockStmState) -> str | None:
        """I5: a transaction in ``dependencies[b]`` is ABORTING, and ``b`` is not EXECUTED
        unless a worker is about to drain its dependencies (``draining_pcs``)."""
        dependencies = state.dependencies
        if not any(dependencies):
            return None
        draining = {w.task.tx for w in state.workers
                    if w.task is not None and w.pc in self.draining_pcs}
        for b, waiting in enumerate(dependencies):
            for j in waiting:
                if state.status[j][1] != ABORTING:
                    return f"T{j} waits on T{b} but is {state.status[j][1]}, not aborting"
                if state.status[b][1] == EXECUTED and b not in draining:
                    return (f"lost wakeup: T{j} waits on T{b}, which has finished executing "
                            "without resuming it")
        return None

    def bounded_incarnations(self, state: BlockStmState) -> str | None:
        """L2: no incarnation number passes ``incarnation_bound``."""
        bound = self.incarnation_bound(len(state.status), len(state.workers))
        for tx, (inc, _) in enumerate(state.status):
            if inc > bound:
                return f"T{tx} reached incarnation {inc}, past the bound {bound}: livelock"
        return None

    # Footprints: what each action touches ------------------------------------------------

    def done_marker_footprint(self, state: BlockStmState, w: int,
                              worker: Worker) -> Footprint:
        """``done_marker.load`` reads the done marker."""
        return {}, {"done_marker"}, set()

    def compare_indices_footprint(self, state: BlockStmState, w: int,
                                  worker: Worker) -> Footprint:
        """``next_task``'s heuristic loads both indices."""
        return {}, {"validation_idx", "execution_idx"}, set()

    def counter_load_footprint(self, state: BlockStmState, w: int,
                               worker: Worker) -> Footprint:
        """A load of the counter ``counter_loads`` names."""
        return {}, {self.counter_loads[worker.pc]}, set()

    def counter_update_footprint(self, state: BlockStmState, w: int,
                                 worker: Worker) -> Footprint:
        """A read-modify-write of the counter ``counter_updates`` names."""
        counter = self.counter_updates[worker.pc]
        return {}, {counter}, {counter}

    def fetch_min_footprint(self, state: BlockStmState, w: int,
                            worker: Worker) -> Footprint:
        """A fetch-min of an index, with the target it lowers the index to."""
        counter = self.counter_updates[worker.pc]
        return {"target": worker.target}, {counter}, {counter}

    def status_footprint(self, state: BlockStmState, w: int, worker: Worker) -> Footprint:
        """A critical section under ``txn_status[tx]``; ``try_validation_abort`` also
        loads the transaction's written locations."""
        pc, task = worker.pc, worker.task
        if pc == "set_ready_status" and task is not None and task.kind == EXECUTE:
            target = worker.seen[worker.cursor]  # a dependency being resumed
        else:
            target = self.worker_tx(worker)
        reads = {f"status[{target}]"}
        if pc == "try_validation_abort":
            reads.add(f"last_writes[{target}]")
        return {"tx": target}, reads, {f"status[{target}]"}

    def vm_read_footprint(self, state: BlockStmState, w: int, worker: Worker) -> Footprint:
        """``MVMemory.read`` of one key, or of every key a scan covers."""
        task = worker.task
        assert task is not None and worker.frame is not None
        stmt = self.pending_read(state, task.tx, worker.frame)
        scan = isinstance(stmt, Scan)
        key = stmt.prefix if isinstance(stmt, Scan) else stmt.key
        params: dict[str, ParamValue] = {"tx": task.tx, "inc": task.inc,
                                         "key": key + "*" if scan else key}
        return params, self.locations(state, key, scan), set()

    def dependency_footprint(self, state: BlockStmState, w: int,
                             worker: Worker) -> Footprint:
        """``add_dependency``: the blocker's status, and (but for the check alone) its
        dependency set and the waiting transaction's status."""
        task = worker.task
        assert task is not None
        blocker = worker.target
        reads = {f"status[{blocker}]"}
        writes: set[str] = set()
        if worker.pc != "add_dependency.check":
            writes |= {f"dependencies[{blocker}]", f"status[{task.tx}]"}
            reads.add(f"dependencies[{blocker}]")
        return {"tx": task.tx, "blocker": blocker}, reads, writes

    def record_write_footprint(self, state: BlockStmState, w: int,
                               worker: Worker) -> Footprint:
        """``record``'s write of one location."""
        task = worker.task
        assert task is not None and worker.frame is not None
        key = effective_writes(worker.frame)[worker.cursor][0]
        return {"tx": task.tx, "key": key}, set(), {f"mv:{key}"}

    def memory_key_footprint(self, state: BlockStmState, w: int,
                             worker: Worker) -> Footprint:
        """A removal or ESTIMATE of one location (``record.delete``,
        ``convert_writes_to_estimates``)."""
        key = worker.keys[worker.cursor]
        return {"tx": self.worker_tx(worker), "key": key}, set(), {f"mv:{key}"}

    def swap_writes_footprint(self, state: BlockStmState, w: int,
                              worker: Worker) -> Footprint:
        """The swap of ``last_written_locations[tx]``."""
        tx = self.worker_tx(worker)
        return {"tx": tx}, {f"last_writes[{tx}]"}, {f"last_writes[{tx}]"}

    def swap_reads_footprint(self, state: BlockStmState, w: int,
                             worker: Worker) -> Footprint:
        """The swap of ``last_read_set[tx]``."""
        tx = self.worker_tx(worker)
        return {"tx": tx}, set(), {f"last_reads[{tx}]"}

    def drain_dependencies_footprint(self, state: BlockStmState, w: int,
                                     worker: Worker) -> Footprint:
        """The swap of ``txn_dependency[tx]`` with the empty set."""
        tx = self.worker_tx(worker)
        return {"tx": tx}, {f"dependencies[{tx}]"}, {f"dependencies[{tx}]"}

    def validate_load_footprint(self, state: BlockStmState, w: int,
                                worker: Worker) -> Footprint:
        """The load of ``last_read_set[tx]``."""
        tx = self.worker_tx(worker)
        return {"tx": tx}, {f"last_reads[{tx}]"}, set()

    def validate_read_footprint(self, state: BlockStmState, w: int,
                                worker: Worker) -> Footprint:
        """The re-read of one recorded read: one key, or every key a scan covers."""
        task = worker.task
        assert task is not None
        entry = worker.reads[worker.cursor]
        scan = entry.kind == "scan"
        params: dict[str, ParamValue] = {"tx": task.tx,
                                         "key": entry.key + ("*" if scan else "")}
        return params, self.locations(state, entry.key, scan), set()

    # Steps: what each program counter does -----------------------------------------------

    def loop(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        """Algorithm 1, ``run()``: `while ¬scheduler.done()`, then dispatch on the task held
        (``try_execute`` starts the VM; a validation loads the read set next)."""
        if state.done_marker:
            return self.with_worker(state, w, EXITED)
        task = worker.task
        if task is None:
            return self.with_worker(state, w, Worker(pc="next_task.compare_indices"))
        if task.kind == EXECUTE:
            return self.with_worker(state, w, self.begin_execution(state, task))
        return self.with_worker(state, w, Worker(pc="validate.load", task=task))

    def next_task(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        """``next_task()``: `if validation_idx < execution_idx` (a heuristic, one action)."""
        if state.validation_idx < state.execution_idx:
            return self.with_worker(state, w, Worker(pc="validation_idx.load"))
        return self.with_worker(state, w, Worker(pc="execution_idx.load"))

    def validation_idx_load(self, state: BlockStmState, w: int,
                            worker: Worker) -> BlockStmState:
        """``next_version_to_validate()``: `if validation_idx ≥ BLOCK.size() then
        check_done()`."""
        if state.validation_idx >= self.block_size(state):
            return self.with_worker(state, w, Worker(pc="check_done.decrease_cnt"))
        first = "validation_idx.fetch_add" if self.flags.active_after_fetch \
            else "num_active_tasks.increment_for_validation"
        return self.with_worker(state, w, Worker(pc=first))

    def active_increment_for_validation(self, state: BlockStmState, w: int,
                                        worker: Worker) -> BlockStmState:
        """`num_active_tasks.increment()` (before the fetch-and-increment, unless M01)."""
        if self.flags.active_after_fetch:
            nxt = "validation_idx.status" if worker.target < self.block_size(state) \
                else "num_active_tasks.decrement"
            return self.with_worker(state, w, attrs.evolve(worker, pc=nxt),
                                    num_active_tasks=state.num_active_tasks + 1)
        return self.with_worker(state, w, Worker(pc="validation_idx.fetch_add"),
                                num_active_tasks=state.num_active_tasks + 1)

    def validation_idx_fetch_add(self, state: BlockStmState, w: int,
                                 worker: Worker) -> BlockStmState:
        """`idx_to_validate ← validation_idx.fetch_and_increment()`."""
        j = state.validation_idx
        if self.flags.active_after_fetch:
            nxt = "num_active_tasks.increment_for_validation"
        else:
            nxt = "validation_idx.status" if j < self.block_size(state) \
                else "num_active_tasks.decrement"
        return self.with_worker(state, w, Worker(pc=nxt, target=j), validation_idx=j + 1)

    def validation_idx_status(self, state: BlockStmState, w: int,
                              worker: Worker) -> BlockStmState:
        """`(incarnation_number, status) ← txn_status[idx_to_validate]; if status =
        EXECUTED then return (version, VALIDATION_TASK)`."""
        inc, phase = state.status[worker.target]
        if phase == EXECUTED:
            return self.with_worker(state, w, Worker(task=Task(VALIDATE, worker.target, inc)))
        return self.with_worker(state, w, Worker(pc="num_active_tasks.decrement"))

    def execution_idx_load(self, state: BlockStmState, w: int,
                           worker: Worker) -> BlockStmState:
        """``next_version_to_execute()``: `if execution_idx ≥ BLOCK.size() then
        check_done()`."""
        if state.execution_idx >= self.block_size(state):
            return self.with_worker(state, w, Worker(pc="check_done.decrease_cnt"))
        return self.with_worker(state, w, Worker(pc="num_active_tasks.increment_for_execution"))

    def active_increment_for_execution(self, state: BlockStmState, w: int,
                                       worker: Worker) -> BlockStmState:
        """`num_active_tasks.increment()`, before the fetch-and-increment."""
        return self.with_worker(state, w, Worker(pc="execution_idx.fetch_add"),
                                num_active_tasks=state.num_active_tasks + 1)

    def execution_idx_fetch_add(self, state: BlockStmState, w: int,
                                worker: Worker) -> BlockStmState:
        """`idx_to_execute ← execution_idx.fetch_and_increment(); return
        try_incarnate(idx_to_execute)`."""
        j = state.execution_idx
        nxt = "try_incarnate" if j < self.block_size(state) else "num_active_tasks.decrement"
        return self.with_worker(state, w, Worker(pc=nxt, target=j), execution_idx=j + 1)

    def try_incarnate(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        """``try_incarnate()``: `with lock txn_status[txn_idx]: if status =
        READY_TO_EXECUTE then status ← EXECUTING; return (version, EXECUTION_TASK)`."""
        j = worker.target
        inc, phase = state.status[j]
        if phase == READY:
            return self.with_worker(state, w, Worker(task=Task(EXECUTE, j, inc)),
                                    status=replace_at(state.status, j, (inc, EXECUTING)))
        return self.with_worker(state, w, Worker(pc="num_active_tasks.decrement"))

    def active_decrement(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        """`num_active_tasks.decrement(); return ⊥`, wherever a task ends or none was
        found."""
        return self.with_worker(state, w, IDLE, num_active_tasks=state.num_active_tasks - 1)

    def check_done_first(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        """``check_done()``: `observed_cnt ← decrease_cnt` ..."""
        return self.with_worker(state, w, Worker(pc="check_done.execution_idx",
                                                 seen=(state.decrease_cnt,)))

    def check_done_execution_idx(self, state: BlockStmState, w: int,
                                 worker: Worker) -> BlockStmState:
        """... `min(execution_idx, ...` (the first of two loads) ..."""
        return self.with_worker(state, w, attrs.evolve(
            worker, pc="check_done.validation_idx", seen=(*worker.seen, state.execution_idx)))

    def check_done_validation_idx(self, state: BlockStmState, w: int,
                                  worker: Worker) -> BlockStmState:
        """... `..., validation_idx) ≥ BLOCK.size()` ..."""
        if min(worker.seen[1], state.validation_idx) >= self.block_size(state):
            return self.with_worker(state, w, attrs.evolve(worker,
                                                           pc="check_done.num_active_tasks"))
        return self.with_worker(state, w, IDLE)

    def check_done_active(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        """... `∧ num_active_tasks = 0` ... (M02 sets done here, without the second
        collect)."""
        if state.num_active_tasks != 0:
            return self.with_worker(state, w, IDLE)
        if self.flags.single_collect:
            return self.with_worker(state, w, Worker(pc="check_done.set"))
        return self.with_worker(state, w, attrs.evolve(worker,
                                                       pc="check_done.decrease_cnt_again"))

    def check_done_second(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        """... `∧ observed_cnt = decrease_cnt` (the double collect)."""
        if worker.seen[0] == state.decrease_cnt:
            return self.with_worker(state, w, Worker(pc="check_done.set"))
        return self.with_worker(state, w, IDLE)

    def check_done_set(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        """`done_marker ← true`."""
        return self.with_worker(state, w, IDLE, done_marker=True)

    def vm_read(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        """``VM.execute``, one ``MVMemory.read`` (or scan) per action (Algorithm 3): `if
        read_result.status = READ_ERROR then return read_result.blocking_txn_idx`, else
        the value (from storage if NOT_FOUND) goes into the VM and the read set."""
        task, frame = worker.task, worker.frame
        assert task is not None and frame is not None
        program = state.block.value.transactions[task.tx].program
        stmt = self.pending_read(state, task.tx, frame)
        if isinstance(stmt, Scan):
            blocker, found = self.mv_scan(state, stmt.prefix, task.tx)
            if blocker is not None:
                return self.with_worker(state, w, self.blocked_on(worker, blocker))
            entry = ReadEntry("scan", stmt.prefix, None, sum(f.value for f in found), found, True)
            frame = deliver(program, frame, tuple((f.key, f.value) for f in found))
        else:
            status, version, value = self.mv_read(state, stmt.key, task.tx)
            if status == "estimate":
                return self.with_worker(state, w, self.blocked_on(worker, value))
            raw = value if status == "ok" else state.block.value.storage.get(stmt.key)
            frame = deliver(program, frame, raw)
            seen = int(raw is not None) if isinstance(stmt, Exists) else raw or 0
            kind = "exists" if isinstance(stmt, Exists) else "read"
            entry = ReadEntry(kind, stmt.key, version, seen, (), self.records_read(stmt))
        worker = attrs.evolve(worker, frame=frame, reads=(*worker.reads, entry))
        return self.with_worker(state, w, self.after_vm_step(state, worker))

    def add_dependency(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        """``add_dependency()``: `with lock txn_dependency[blocking_txn_idx]: if
        txn_status[blocking_txn_idx].status = EXECUTED then return false; set ABORTING;
        txn_dependency[blocking_txn_idx].insert(txn_idx)` (one critical section)."""
        if self.dependency_resolved(state, worker.target):
            return self.with_worker(state, w, self.restart_execution(state, worker))
        return self.insert_dependency(state, w, worker)

    def add_dependency_check(self, state: BlockStmState, w: int,
                             worker: Worker) -> BlockStmState:
        """M03: the blocker's status is checked in a step of its own, outside the lock."""
        if self.dependency_resolved(state, worker.target):
            return self.with_worker(state, w, self.restart_execution(state, worker))
        return self.with_worker(state, w, attrs.evolve(worker, pc="add_dependency.insert"))

    def insert_dependency(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        """`txn_status[txn_idx].status ← ABORTING; txn_dependency[blocking].insert(txn_idx)`,
        then `num_active_tasks.decrement()` follows."""
        task, b = worker.task, worker.target
        assert task is not None
        inc = state.status[task.tx][0]
        deps = tuple(sorted({*state.dependencies[b], task.tx}))
        return self.with_worker(state, w, Worker(pc="num_active_tasks.decrement"),
                                status=replace_at(state.status, task.tx, (inc, ABORTING)),
                                dependencies=replace_at(state.dependencies, b, deps))

    def record_write(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        """``record()`` stage 1, ``apply_write_set``: `data[(location, txn_idx)] ←
        (incarnation_number, value)`, one location per action."""
        task, frame = worker.task, worker.frame
        assert task is not None and frame is not None
        key, value = effective_writes(frame)[worker.cursor]
        data = self.write_entry(state.data, MVEntry(key, task.tx, task.inc, value))
        worker = self.next_record_step(state, attrs.evolve(worker, cursor=worker.cursor + 1),
                                       "record.write")
        return self.with_worker(state, w, worker, data=data)

    def record_delete(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        """``record()`` stage 2, ``rcu_update_written_locations``: `data.remove((unwritten
        location, txn_idx))`, one location per action."""
        assert worker.task is not None
        data = self.remove_entry(state.data, worker.keys[worker.cursor], worker.task.tx)
        worker = self.next_record_step(state, attrs.evolve(worker, cursor=worker.cursor + 1),
                                       "record.delete")
        return self.with_worker(state, w, worker, data=data)

    def record_swap_writes(self, state: BlockStmState, w: int,
                           worker: Worker) -> BlockStmState:
        """`last_written_locations[txn_idx] ← new_locations; return new_locations \\
        prev_locations ≠ {}` (``wrote_new_location``)."""
        task, frame = worker.task, worker.frame
        assert task is not None and frame is not None
        writes = effective_writes(frame)
        if self.keeps_writes(frame):
            writes = state.last_writes[task.tx]
        previous = {k for k, _ in state.last_writes[task.tx]}
        newloc = self.wrote_new_location(task, previous, {k for k, _ in writes})
        return self.with_worker(state, w, attrs.evolve(worker, pc="record.swap_reads",
                                                       newloc=newloc),
                                last_writes=replace_at(state.last_writes, task.tx, writes))

    def record_swap_reads(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        """``record()`` stage 3: `last_read_set[txn_idx] ← read_set`."""
        task, frame = worker.task, worker.frame
        assert task is not None and frame is not None
        nxt = Worker(pc="finish_execution.status", task=task, newloc=worker.newloc)
        return self.with_worker(state, w, nxt,
                                last_reads=replace_at(state.last_reads, task.tx, worker.reads),
                                reverted=replace_at(state.reverted, task.tx,
                                                    frame.status is Status.REVERTED))

    def finish_execution_status(self, state: BlockStmState, w: int,
                                worker: Worker) -> BlockStmState:
        """``finish_execution()``: `with lock txn_status[txn_idx]: status ← EXECUTED`."""
        assert worker.task is not None
        j, inc = worker.task.tx, worker.task.inc
        return self.with_worker(state, w,
                                attrs.evolve(worker, pc="finish_execution.dependencies"),
                                status=replace_at(state.status, j, (inc, EXECUTED)))

    def finish_execution_dependencies(self, state: BlockStmState, w: int,
                                      worker: Worker) -> BlockStmState:
        """`deps ← swap txn_dependency[txn_idx] with {}`; ``resume_dependencies(deps)``
        follows (``set_ready_status`` per dependency)."""
        assert worker.task is not None
        j = worker.task.tx
        deps = state.dependencies[j]
        pc = "set_ready_status" if deps else "validation_idx.load_after_execution"
        return self.with_worker(state, w, attrs.evolve(worker, pc=pc, seen=deps, cursor=0),
                                dependencies=replace_at(state.dependencies, j, ()))

    def set_ready_status(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        """``set_ready_status()``: `with lock txn_status[txn_idx]: (incarnation_number,
        status) ← (incarnation_number + 1, READY_TO_EXECUTE)`, for each resumed dependency
        (then `decrease_execution_idx(min(deps))`, unless M04), or for the transaction a
        validation just aborted (then `decrease_validation_idx(txn_idx + 1)`)."""
        assert worker.task is not None
        resuming = worker.task.kind == EXECUTE
        j = worker.seen[worker.cursor] if resuming else worker.task.tx
        inc, _ = state.status[j]
        status = replace_at(state.status, j, (inc + 1, READY))
        if not resuming:
            return self.with_worker(state, w, attrs.evolve(worker, pc="validation_idx.fetch_min",
                                                           target=j + 1), status=status)
        if worker.cursor + 1 < len(worker.seen):
            nxt = attrs.evolve(worker, cursor=worker.cursor + 1)
        elif self.flags.resume_keeps_execution_idx:
            nxt = attrs.evolve(worker, pc="validation_idx.load_after_execution", seen=(),
                               cursor=0)
        else:
            nxt = attrs.evolve(worker, pc="execution_idx.fetch_min", target=min(worker.seen),
                               seen=(), cursor=0)
        return self.with_worker(state, w, nxt, status=status)

    def execution_idx_fetch_min(self, state: BlockStmState, w: int,
                                worker: Worker) -> BlockStmState:
        """``decrease_execution_idx()``: `execution_idx ← min(execution_idx, target_idx)`
        ..."""
        return self.with_worker(state, w,
                                attrs.evolve(worker, pc="decrease_cnt.after_execution_idx",
                                             target=-1),
                                execution_idx=min(state.execution_idx, worker.target))

    def decrease_cnt_after_execution_idx(self, state: BlockStmState, w: int,
                                         worker: Worker) -> BlockStmState:
        """... `decrease_cnt.increment()`, ending ``decrease_execution_idx`` in
        ``resume_dependencies``."""
        return self.with_worker(state, w,
                                attrs.evolve(worker, pc="validation_idx.load_after_execution"),
                                decrease_cnt=state.decrease_cnt + 1)

    def decrease_cnt_after_validation_idx(self, state: BlockStmState, w: int,
                                          worker: Worker) -> BlockStmState:
        """... `decrease_cnt.increment()`, ending ``decrease_validation_idx``."""
        assert worker.task is not None
        if worker.task.kind == EXECUTE:
            nxt = Worker(pc="num_active_tasks.decrement")
        else:
            nxt = attrs.evolve(worker, pc="execution_idx.load_after_validation")
        return self.with_worker(state, w, nxt, decrease_cnt=state.decrease_cnt + 1)

    def validation_idx_load_after_execution(self, state: BlockStmState, w: int,
                                            worker: Worker) -> BlockStmState:
        """``finish_execution()``: `if validation_idx > txn_idx then if wrote_new_path then
        decrease_validation_idx(txn_idx) else return (version, VALIDATION_TASK)`."""
        task = worker.task
        assert task is not None
        if state.validation_idx > task.tx:
            if worker.newloc:
                return self.with_worker(state, w, attrs.evolve(
                    worker, pc="validation_idx.fetch_min", target=task.tx))
            return self.with_worker(state, w, Worker(task=Task(VALIDATE, task.tx, task.inc)))
        return self.with_worker(state, w, Worker(pc="num_active_tasks.decrement"))

    def validation_idx_fetch_min(self, state: BlockStmState, w: int,
                                 worker: Worker) -> BlockStmState:
        """``decrease_validation_idx()``: `validation_idx ← min(validation_idx,
        target_idx)`."""
        return self.with_worker(state, w,
                                attrs.evolve(worker, pc="decrease_cnt.after_validation_idx",
                                             target=-1),
                                validation_idx=min(state.validation_idx, worker.target))

    def validate_load(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        """``needs_reexecution()``: `read_set_valid ← MVMemory.validate_read_set(txn_idx)`
        begins with `prior_reads ← last_read_set[txn_idx]`."""
        assert worker.task is not None
        reads = tuple(r for r in state.last_reads[worker.task.tx] if r.recorded)
        if not reads:
            return self.with_worker(state, w, Worker(pc="num_active_tasks.decrement"))
        return self.with_worker(state, w, attrs.evolve(worker, pc="validate.read", reads=reads,
                                                       cursor=0))

    def validate_read(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        """``validate_read_set()``: one re-read per action (``still_valid``); the first
        mismatch makes the read set invalid, and `try_validation_abort` follows."""
        task = worker.task
        assert task is not None
        entry = worker.reads[worker.cursor]
        if not self.still_valid(state, task.tx, entry):
            return self.with_worker(state, w, Worker(pc="try_validation_abort", task=task))
        if worker.cursor + 1 < len(worker.reads):
            return self.with_worker(state, w, attrs.evolve(worker, cursor=worker.cursor + 1))
        # finish_validation(txn_idx, aborted = false): `num_active_tasks.decrement()`.
        return self.with_worker(state, w, Worker(pc="num_active_tasks.decrement"))

    def try_validation_abort(self, state: BlockStmState, w: int,
                             worker: Worker) -> BlockStmState:
        """``try_validation_abort()``: `with lock txn_status[txn_idx]: if txn_status =
        (incarnation_number, EXECUTED) then status ← ABORTING; return true`."""
        task = worker.task
        assert task is not None
        if state.status[task.tx] != (task.inc, EXECUTED):
            return self.with_worker(state, w, Worker(pc="num_active_tasks.decrement"))
        keys = tuple(k for k, _ in state.last_writes[task.tx])
        pc = "convert_writes_to_estimates" if keys else "set_ready_status"
        return self.with_worker(state, w, Worker(pc=pc, task=task, keys=keys),
                                status=replace_at(state.status, task.tx, (task.inc, ABORTING)))

    def convert_writes_to_estimates(self, state: BlockStmState, w: int,
                                    worker: Worker) -> BlockStmState:
        """``convert_writes_to_estimates()``: `data[(location, txn_idx)] ← ESTIMATE`, one
        location per action."""
        task = worker.task
        assert task is not None
        key = worker.keys[worker.cursor]
        data = self.write_entry(state.data, MVEntry(key, task.tx, ESTIMATE, 0))
        if worker.cursor + 1 < len(worker.keys):
            nxt = attrs.evolve(worker, cursor=worker.cursor + 1)
        else:
            nxt = Worker(pc="set_ready_status", task=task)
        return self.with_worker(state, w, nxt, data=data)

    def execution_idx_load_after_validation(self, state: BlockStmState, w: int,
                                            worker: Worker) -> BlockStmState:
        """``finish_validation(txn_idx, aborted)``: `if execution_idx > txn_idx then return
        try_incarnate(txn_idx)`."""
        task = worker.task
        assert task is not None
        if state.execution_idx > task.tx:
            return self.with_worker(state, w, Worker(pc="try_incarnate", target=task.tx))
        return self.with_worker(state, w, Worker(pc="num_active_tasks.decrement"))


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

BlockStm.mutant_specs = MUTANTS
