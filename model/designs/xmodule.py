"""What the cross-module designs share: transfers split by module, messages, supply.

The two designs (``xmodule_2pc.TwoPhaseCommit`` and ``xmodule_receipts.Receipts``) run
transfer workloads over a store whose keys are owned by modules (``Store.owners``). A
transfer whose two accounts live in one module is *local*: its module executes it in
one atomic step. A transfer whose accounts live in two modules is *cross-module*: the
designs differ in how its debit and credit reach their modules.

Each module's own ordering is abstracted as atomic steps: here a module's decision (a
vote, a commit, a debit, a credit) is one action, as if that module's BFT consensus
instance had committed it. The per-module consensus is modelled on its own in
``model/designs/bft*.py``; composing the two multiplies state spaces that are each
explored best alone. The configuration's worker count plays no part: a module's step is
one action whatever threads run it.

Messages between modules travel through a network the explorer controls: the messages
in flight are part of the state, each delivery is an action, and faults are actions
with budgets from the workload spec (``replays=``, ``dups=``). Messages are never
dropped: both protocols assume reliable delivery between modules (a module's outbox is
part of its committed state and is re-sent until acknowledged), and a dropped message
would only block a transaction, which the checker reports as a lock left at the end.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from shardcheck.model.api import Config, ParamValue, Workload
from shardcheck.model.language import BinOp, Const, Read, Require, Transaction, Var, Write
from shardcheck.model.store import Store
from shardcheck.model.workloads import WorkloadError


class XModuleError(WorkloadError):
    """A workload the cross-module designs cannot run (not transfers, one module)."""


@attrs.frozen
class Transfer:
    """One transfer of the block: ``amount`` from ``src`` to ``dst``, and their modules."""

    index: int
    src: str
    dst: str
    amount: int
    src_module: str
    dst_module: str

    @property
    def cross(self) -> bool:
        """True when the two accounts live in different modules."""
        return self.src_module != self.dst_module

    def modules(self) -> tuple[str, ...]:
        """The modules the transfer concerns, source first."""
        return (self.src_module, self.dst_module) if self.cross else (self.src_module,)


def transfer_program(src: str, dst: str, amount: int) -> tuple[Read | Require | Write, ...]:
    """The program of one transfer, in the shape ``as_transfer`` recognizes."""
    return (
        Read("src", src),
        Read("dst", dst),
        Require(BinOp(">=", Var("src"), Const(amount)), f"insufficient balance in {src}"),
        Write(src, BinOp("-", Var("src"), Const(amount))),
        Write(dst, BinOp("+", Var("dst"), Const(amount))),
    )


def as_transfer(tx: Transaction, store: Store) -> Transfer | None:
    """The transfer ``tx`` performs, or None when its program is not a transfer."""
    program = tx.program
    if len(program) != 5:
        return None
    read_src, read_dst, require, write_src, write_dst = program
    if not (isinstance(read_src, Read) and isinstance(read_dst, Read)
            and isinstance(require, Require) and isinstance(write_src, Write)
            and isinstance(write_dst, Write)):
        return None
    cond = require.cond
    if not (isinstance(cond, BinOp) and cond.op == ">=" and isinstance(cond.right, Const)):
        return None
    amount = cond.right.value
    if transfer_program(read_src.key, read_dst.key, amount)[2:] != (
            Require(cond, require.reason), write_src, write_dst) or read_src.key == read_dst.key:
        return None
    if (read_src.var, read_dst.var, cond.left) != ("src", "dst", Var("src")) or amount <= 0:
        return None
    return Transfer(tx.index, read_src.key, read_dst.key, amount,
                    store.module_of(read_src.key), store.module_of(read_dst.key))


def transfers_of(design: str, config: Config, *,
                 local_only_ok: bool = False) -> tuple[Transfer, ...]:
    """Every transaction of the workload as a transfer; a clear error when one is not.

    ``local_only_ok`` accepts a block whose transfers all start inside one module (a
    reshard can still make them cross)."""
    workload = config.workload
    found = []
    for tx in workload.block:
        transfer = as_transfer(tx, workload.initial)
        if transfer is None:
            raise XModuleError(
                f"{design} runs transfer workloads (xtransfers:..., or transfers:...,"
                f"modules=2); transaction {tx.index} of {workload.spec!r} "
                f"({tx.label}) is not a transfer")
        found.append(transfer)
    if not local_only_ok and not any(t.cross for t in found):
        raise XModuleError(
            f"{design}: no transfer of {workload.spec!r} crosses modules; spread the "
            "accounts over modules (modules=2) so that some transfer does")
    return tuple(found)


def budget(workload: Workload, name: str) -> int:
    """A fault budget from the workload spec (0 when the workload has no such parameter)."""
    return int(workload.param(name, 0))


def number(value: ParamValue) -> int:
    """An integer action parameter or message field (they are stored as ParamValue)."""
    return int(str(value))


def balances(store: Store) -> int:
    """The sum of every account's balance."""
    return sum(value for _, value in store.values)


def negative(store: Store) -> str | None:
    """A message naming an account below zero, or None."""
    for key, value in store.values:
        if value < 0:
            return f"{key} holds {value}: a spend its balance did not cover"
    return None


def with_writers(writers: tuple[tuple[str, int], ...], keys: Iterable[str],
                 tx: int) -> tuple[tuple[str, int], ...]:
    """The last-writer map with ``tx`` as the writer of ``keys``."""
    merged = dict(writers)
    merged.update((key, tx) for key in keys)
    return tuple(sorted(merged.items()))


def writer_of(writers: tuple[tuple[str, int], ...], key: str) -> int | None:
    """The transaction that last wrote ``key`` (None: the initial store)."""
    for k, tx in writers:
        if k == key:
            return tx
    return None
