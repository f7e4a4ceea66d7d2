"""Block-STM's values: the shared memory, each worker's registers, and the flags of its mutants.

Kept apart from the steps (``block_stm.py``) so that the compact path
(``block_stm_compact.py``) reads the same values without importing the steps. The
names follow Algorithms 1-5 of the Block-STM paper (see ``block_stm.py``).
"""

from __future__ import annotations

from typing import NamedTuple

import attrs

from shardcheck.model.encoding import Constant
from shardcheck.model.language import Frame, Transaction
from shardcheck.model.store import Store

READY, EXECUTING, EXECUTED, ABORTING = "ready", "executing", "executed", "aborting"
ESTIMATE = -1
"""An ``MVEntry.inc`` of ESTIMATE marks the entry as an estimate of a future write."""

EXECUTE, VALIDATE = "execute", "validate"


class Version(NamedTuple):
    """A transaction index and incarnation number."""

    tx: int
    inc: int


class MVEntry(NamedTuple):
    """``data[(key, tx)]``: the value incarnation ``inc`` wrote, or an ESTIMATE."""

    key: str
    tx: int
    inc: int
    value: int


class Found(NamedTuple):
    """One key a scan found: its version (None: from storage) and value."""

    key: str
    version: Version | None
    value: int


class ReadEntry(NamedTuple):
    """One read an incarnation made.

    ``version`` None is the paper's ⊥ (read from storage). ``recorded`` is False only
    for reads a mutant forgets to put in the read set; the history still shows them.
    """

    kind: str
    key: str
    version: Version | None
    value: int
    found: tuple[Found, ...]
    recorded: bool


class Task(NamedTuple):
    """A task a worker holds: execute or validate a version."""

    kind: str
    tx: int
    inc: int


@attrs.frozen
class Block:
    """The block, the pre-block storage and every key the block may touch."""

    transactions: tuple[Transaction, ...]
    storage: Store
    keys: tuple[str, ...]


@attrs.frozen
class Worker:
    """One worker's program counter and registers; dead registers are reset."""

    pc: str = "done_marker.load"
    task: Task | None = None
    frame: Frame | None = None
    reads: tuple[ReadEntry, ...] = ()
    target: int = -1
    cursor: int = 0
    newloc: bool = False
    seen: tuple[int, ...] = ()
    keys: tuple[str, ...] = ()


IDLE = Worker()
EXITED = Worker(pc="exited")


@attrs.frozen
class BlockStmState:
    """Shared memory of the scheduler and MVMemory, plus every worker."""

    block: Constant[Block]
    execution_idx: int
    validation_idx: int
    decrease_cnt: int
    num_active_tasks: int
    done_marker: bool
    status: tuple[tuple[int, str], ...]
    dependencies: tuple[tuple[int, ...], ...]
    data: tuple[MVEntry, ...]
    last_writes: tuple[tuple[tuple[str, int], ...], ...]
    last_reads: tuple[tuple[ReadEntry, ...], ...]
    reverted: tuple[bool, ...]
    workers: tuple[Worker, ...]


@attrs.frozen
class Flags:
    """Which bugs are switched on; all False is Block-STM as published."""

    active_after_fetch: bool = False
    single_collect: bool = False
    dependency_check_outside_lock: bool = False
    resume_keeps_execution_idx: bool = False
    not_found_ignores_version: bool = False
    newloc_first_incarnation: bool = False
    exists_unrecorded: bool = False
    read_own_entries: bool = False
    scan_keys_only: bool = False
    revert_keeps_writes: bool = False


EXECUTING_PCS = frozenset({
    "done_marker.load", "vm.read",
    "add_dependency", "add_dependency.check", "add_dependency.insert",
    "record.write", "record.delete", "record.swap_writes", "record.swap_reads",
    "finish_execution.status",
})
"""Program counters at which a worker is running an incarnation (before it is EXECUTED)."""


def incarnation_bound(n: int, workers: int) -> int:
    """The livelock bound on incarnations, after Aptos's ``W² + n + c`` sanity check."""
    return n + workers * workers + 2
