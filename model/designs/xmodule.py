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

What a variant may build on: ``CrossModuleDesign`` is the skeleton both designs share
(flags, mutants built from ``type(self)``, the network's faults, termination, INV-NDS,
the default workload); the functions below are the helpers their steps use, public so
that an overriding method needs no private name: ``transfers_of``, ``budget``,
``number``, ``balances``, ``negative``, ``with_writers``, ``writer_of``, ``lookup``,
``with_entry``, ``replace_at`` and ``first_repeat``.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import Iterable, Sequence
from typing import Generic, Protocol, TypeVar

import attrs
from attrs import AttrsInstance

from shardcheck.model.api import (
    Action,
    Config,
    Outcome,
    ParamValue,
    Property,
    Workload,
)
from shardcheck.model.designs.flag_mutants import FlagDesign
from shardcheck.model.language import BinOp, Const, Read, Require, Transaction, Var, Write
from shardcheck.model.network import Network, apply_fault, fault_actions, is_fault
from shardcheck.model.store import Store
from shardcheck.model.workloads import WorkloadError

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


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


def lookup(pairs: tuple[tuple[K, V], ...], key: K, default: V) -> V:
    """The value of ``key`` in a map kept as sorted (key, value) pairs, or ``default``."""
    for k, value in pairs:
        if k == key:
            return value
    return default


def with_entry(pairs: tuple[tuple[str, V], ...], key: str,
               value: V) -> tuple[tuple[str, V], ...]:
    """The map kept as sorted (key, value) pairs with ``key`` set to ``value``."""
    merged = dict(pairs)
    merged[key] = value
    return tuple(sorted(merged.items()))


def first_repeat(items: Iterable[T]) -> T | None:
    """The first item that occurs a second time, or None when none does."""
    seen: set[T] = set()
    for item in items:
        if item in seen:
            return item
        seen.add(item)
    return None


def replace_at(items: tuple[T, ...], index: int, value: T) -> tuple[T, ...]:
    """The tuple with the item at ``index`` replaced by ``value``."""
    return (*items[:index], value, *items[index + 1:])


class ModuleRun(AttrsInstance, Protocol):
    """What every cross-module state holds: the store and the network (an attrs class)."""

    @property
    def store(self) -> Store:
        """The accounts, and which module owns each."""

    @property
    def network(self) -> Network:
        """The messages in flight and the network's fault budgets."""


StateT = TypeVar("StateT", bound=ModuleRun)
FlagsT = TypeVar("FlagsT")


class CrossModuleDesign(FlagDesign[FlagsT], Generic[StateT, FlagsT], metaclass=ABCMeta):
    """The skeleton both cross-module designs share; subclass a design, not this.

    It fixes the design interface (``actions``, ``step``, ``is_terminal``) on top of a
    few methods each design defines (``protocol_actions``, ``protocol_step``) and a
    variant may override. ``flags`` says which bug a mutant switches on; ``mutants()``
    and ``variant(flags, mutant)`` come from ``FlagDesign`` (``model/designs/
    flag_mutants.py``): a mutant is a copy of the design with other flags, so a
    subclass's mutants run the subclass's code.
    """

    name: str
    summary: str
    default_workload: str
    default_workers = 2
    """The configuration's worker count plays no part: a module's step is one action."""
    workload_kinds: tuple[str, ...] = ("xtransfers", "transfers", "block")
    """Blocks of transfers: ``transfers_of`` refuses any other transaction in one line."""

    # The design interface -------------------------------------------------------------

    def actions(self, state: StateT) -> Sequence[Action]:
        """The modules' and the client's steps (``protocol_actions``), then the
        network's faults (``fault_actions``)."""
        return (*self.protocol_actions(state), *self.fault_actions(state))

    def step(self, state: StateT, action: Action) -> StateT:
        """Apply one action: a network fault (``network_fault``) or a protocol step
        (``protocol_step``)."""
        if is_fault(action):
            return self.network_fault(state, action)
        return self.protocol_step(state, action)

    def is_terminal(self, state: StateT) -> bool:
        """Nothing the protocol can do is left (the network's fault budgets do not count)."""
        return not self.protocol_actions(state)

    # What a design defines and a variant may override ----------------------------------

    @abstractmethod
    def initial(self, config: Config) -> StateT:
        """The state before any action (built as ``state_class``)."""

    @abstractmethod
    def outcome(self, state: StateT) -> Outcome:
        """The committed result of a terminal state."""

    @abstractmethod
    def properties(self) -> Sequence[Property]:
        """The design's invariants, each a method of the design."""

    @abstractmethod
    def protocol_actions(self, state: StateT) -> tuple[Action, ...]:
        """The enabled steps of the modules and the client, in a deterministic order."""

    @abstractmethod
    def protocol_step(self, state: StateT, action: Action) -> StateT:
        """The state after one of ``protocol_actions``."""

    def fault_actions(self, state: StateT) -> tuple[Action, ...]:
        """The network's faults: duplicate a message in flight while ``dups=`` lasts."""
        return fault_actions(state.network)

    def network_fault(self, state: StateT, action: Action) -> StateT:
        """The state after one of the network's ``fault_actions``."""
        # mypy's attrs plugin does not see the bound's AttrsInstance through the TypeVar.
        return attrs.evolve(state, network=apply_fault(state.network, action))  # type: ignore[misc]

    def no_negative(self, state: StateT) -> str | None:
        """INV-NDS: no account is spent below zero."""
        return negative(state.store)

    def notes(self, config: Config) -> tuple[str, ...]:
        """Lines for the report header: what this run's configuration cannot show."""
        return ()
