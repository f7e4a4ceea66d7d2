"""Block-STM's compact fast path: states as ints by hash-consing, steps memoized.

A Block-STM state is a deep value (multi-version memory, read sets, VM frames), so it
does not fit in hand-laid bit fields the way ``bank``'s does. It is packed by
hash-consing instead: the shared memory (every field but the workers) and each worker
are interned into tables, and a state is the int of their ids side by side::

    code = w_0 | w_1 << 32 | ... | w_(K-1) << 32(K-1) | shared << 32K

A worker's step reads and writes only the shared memory and the worker itself (no
step method of ``BlockStm`` looks at another worker), so it is a function of the pair
``(shared id, worker id)``. The packing memoizes that function: the first time a pair
is met it runs the design's own ``step_worker`` (so a subclass's overrides) on a state
holding just that worker and interns what comes out; every later time is one dict
lookup. Successors are then ints put together from ids, with no ``Action``, no state
object and no encoding.

The state properties (I3, I4, I5, L2) are decided on per-component summaries kept
beside the tables, exactly as the design's own methods decide them (and from what the
design says: ``holds_count``, ``executing_pcs``, ``draining_pcs``,
``incarnation_bound``); a state where one might fail, or a terminal one, is returned as
notable (None) and the explorer judges it the ordinary way. A subclass that overrides
one of those invariants gets it checked on every packed state besides
(``model.packing_properties``), so flagging the base's is only ever more cautious.

The shared memory is every field of the run's state class but ``block`` and
``workers``, so a subclass of ``BlockStmState`` with fields of its own packs too.

Ids are handed out in order of first appearance, which a deterministic search order
fixes, so the same run packs the same states to the same ints every time.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

import shardcheck.model.designs.block_stm_state as bs
from shardcheck.model.packing import field_sorter

if TYPE_CHECKING:
    from shardcheck.model.designs.block_stm import BlockStm, BlockStmState, Worker

ID_BITS = 32
"""Bits of one worker id in a code; the shared id takes the bits above the workers."""

Shared = tuple[Any, ...]
"""Every field of the run's state but ``block`` and ``workers``, in field order."""

NOTABLE = -1
"""A memo entry saying: this worker, in this shared memory, breaks I3 (judge the state)."""


class BlockStmPacking:
    """One run's Block-STM states as ints (``model.Compact``), for the run from ``initial``."""

    def __init__(self, design: BlockStm, initial: BlockStmState) -> None:
        self.design = design
        self.block = initial.block
        self.state_class = cls = type(initial)
        names = tuple(f.name for f in attrs.fields(cls) if f.name not in ("block", "workers"))
        self.shared_names = names
        self._shared: Callable[[BlockStmState], Shared] = operator.attrgetter(*names)
        """The shared memory of a state: its fields but ``block`` and ``workers``."""
        self._active_at = names.index("num_active_tasks")
        self._status_at = names.index("status")
        self._dependencies_at = names.index("dependencies")
        self.k = k = len(initial.workers)
        self.n = len(initial.status)
        self.bound = design.incarnation_bound(self.n, k)
        self.shared_shift = k * ID_BITS
        self.id_mask = (1 << ID_BITS) - 1
        self.slots = tuple(w * ID_BITS for w in range(k))
        self._shared_ids: dict[Shared, int] = {}
        self.shared_values: list[Shared] = []
        # Per shared id: (num_active_tasks, blockers I5 needs draining), or None when a
        # state property fails whatever the workers are (L2, I4's sign, I5's statuses).
        self._shared_info: list[tuple[int, int] | None] = []
        self._worker_ids: dict[Worker, int] = {}
        self.worker_values: list[Worker] = []
        # Per worker id: counted in num_active_tasks (I4); the bit of the transaction it
        # executes (I3); the bit of the transaction whose dependencies it drains (I5).
        self._counted: list[int] = []
        self._executes: list[int] = []
        self._drains: list[int] = []
        # (shared id << ID_BITS | worker id) -> (shared id' << ID_BITS | worker id'), or
        # NOTABLE.
        self._memo: dict[int, int] = {}
        self.exited = self._worker(bs.EXITED)
        # The two hot entry points are the closures themselves, with no method call on
        # the way (a tenth of the search time on issue 8's block).
        self.successors: Callable[[int], list[int] | None] = self._build_successors()
        """``pack(step(s, a))`` for each ``a`` in ``actions(s)``, in worker order; None
        when the state is terminal or one of I3, I4, I5, L2 fails in it."""
        self.canonical: Callable[[int], int] = self._build_canonical()
        """The worker ids sorted: one int per renaming of the workers."""

    # Interning ---------------------------------------------------------------------------

    def _intern_shared(self, shared: Shared) -> int:
        found = self._shared_ids.get(shared)
        if found is not None:
            return found
        number = len(self.shared_values)
        self._shared_ids[shared] = number
        self.shared_values.append(shared)
        self._shared_info.append(self._summarize_shared(shared))
        return number

    def _rebuild(self, shared: Shared, workers: tuple[Worker, ...]) -> BlockStmState:
        """``_shared``'s inverse, with the workers put back (any other field of a state
        subclass goes back by name)."""
        if self.state_class is bs.BlockStmState:
            return bs.BlockStmState(self.block, *shared, workers)  # type: ignore[call-arg]
        fields = dict(zip(self.shared_names, shared, strict=True))
        return self.state_class(block=self.block, workers=workers, **fields)

    def _summarize_shared(self, shared: Shared) -> tuple[int, int] | None:
        active = shared[self._active_at]
        status, dependencies = shared[self._status_at], shared[self._dependencies_at]
        if active < 0:
            return None  # I4
        if any(inc > self.bound for inc, _ in status):
            return None  # L2
        need = 0
        for blocker, waiting in enumerate(dependencies):
            for j in waiting:
                if status[j][1] != bs.ABORTING:
                    return None  # I5, whatever the workers do
            if waiting and status[blocker][1] == bs.EXECUTED:
                need |= 1 << blocker
        return active, need

    def _worker(self, worker: Worker) -> int:
        found = self._worker_ids.get(worker)
        if found is not None:
            return found
        number = len(self.worker_values)
        if number > self.id_mask:
            raise OverflowError(f"more than {self.id_mask + 1:,} distinct workers in one run")
        self._worker_ids[worker] = number
        self.worker_values.append(worker)
        task, design = worker.task, self.design
        self._counted.append(int(design.holds_count(worker)))
        executes = task is not None and task.kind == bs.EXECUTE and \
            worker.pc in design.executing_pcs
        self._executes.append(1 << task.tx if executes and task is not None else 0)
        drains = task is not None and worker.pc in design.draining_pcs
        self._drains.append(1 << task.tx if drains and task is not None else 0)
        return number

    # The Compact protocol ------------------------------------------------------------------

    def pack(self, state: BlockStmState) -> int:
        """The int a state packs into (interning any component not seen before)."""
        code = self._intern_shared(self._shared(state)) << self.shared_shift
        for shift, worker in zip(self.slots, state.workers, strict=True):
            code |= self._worker(worker) << shift
        return code

    def unpack(self, code: int) -> BlockStmState:
        """The state an int stands for (``pack``'s inverse)."""
        shared = self.shared_values[code >> self.shared_shift]
        workers = tuple(self.worker_values[(code >> shift) & self.id_mask]
                        for shift in self.slots)
        return self._rebuild(shared, workers)

    # The hot paths -----------------------------------------------------------------------

    def _step_pair(self, shared_id: int, worker_id: int) -> int:
        """A worker's step in a shared memory, as ids; NOTABLE if I3 fails there."""
        shared = self.shared_values[shared_id]
        worker = self.worker_values[worker_id]
        key = shared_id << ID_BITS | worker_id
        task = worker.task
        if self._executes[worker_id] and task is not None \
                and shared[self._status_at][task.tx][0] != task.inc:
            self._memo[key] = NOTABLE
            return NOTABLE
        after = self.design.step_worker(self._rebuild(shared, (worker,)), 0, worker)
        moved = after.workers[0]
        changed = self._shared(after)
        # Unchanged fields are the same objects, which tuple equality sees at once.
        shared_after = shared_id if changed == shared else self._intern_shared(changed)
        result = shared_after << ID_BITS | self._worker(moved)
        self._memo[key] = result
        return result

    def _build_successors(self) -> Callable[[int], list[int] | None]:
        # A closure over the tables: the hot loop reads locals, not attributes.
        shared_shift, id_mask, exited = self.shared_shift, self.id_mask, self.exited
        low = (1 << shared_shift) - 1
        slots = tuple((shift, low & ~(id_mask << shift)) for shift in self.slots)
        shared_info, memo_get, step_pair = self._shared_info, self._memo.get, self._step_pair
        counted_of, executes_of, drains_of = self._counted, self._executes, self._drains

        def successors(code: int) -> list[int] | None:
            shared_id = code >> shared_shift
            info = shared_info[shared_id]
            if info is None:
                return None
            active, need = info
            base = shared_id << ID_BITS
            out = []
            counted = executing = draining = 0
            for shift, keep in slots:
                worker_id = (code >> shift) & id_mask
                if worker_id == exited:
                    continue
                counted += counted_of[worker_id]
                bit = executes_of[worker_id]
                if bit:
                    if executing & bit:
                        return None  # I3: two workers execute one transaction
                    executing |= bit
                draining |= drains_of[worker_id]
                moved = memo_get(base | worker_id)
                if moved is None:
                    moved = step_pair(shared_id, worker_id)
                if moved < 0:
                    return None
                out.append((moved >> ID_BITS) << shared_shift | (code & keep)
                           | (moved & id_mask) << shift)
            if not out or counted != active or need & ~draining:
                return None  # terminal, I4 or I5
            return out

        return successors

    def _build_canonical(self) -> Callable[[int], int]:
        # Every field below the shared id is a worker's: sort them, keep the shared id.
        return field_sorter(self.slots, self.id_mask, ~((1 << self.shared_shift) - 1))
