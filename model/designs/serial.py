"""Serial execution: the reference semantics, and the smallest complete design.

One actor executes the block in order, a whole transaction per action. There is one
schedule, so exploration finds one terminal state, which by construction equals the
reference outcome. It exists as the baseline every other design is held against and
as a readable example of the design interface.

Extending this design
---------------------

A variant is a subclass of ``Serial`` (``from shardcheck.model.designs.serial import
Serial``) that overrides the methods below; each is called through ``self``
(``shardcheck explore my_serial.py:MySerial``). Its default configuration is
``default_workload`` (``counter:txs=3,keys=1``) and ``default_workers`` (1: there is
one executor, whatever the count); ``workload_kinds`` is None (any block).

- ``next_transaction(state: SerialState) -> int | None``: the index of the transaction
  that runs next (block order: the first not yet executed), None when the block is done.
- ``footprint(state, index) -> (reads, writes)``: the keys transaction ``index`` may
  read and write, as ``store:KEY`` (a scan covers every key of the block with its
  prefix).
- ``execute(state, index) -> SerialState``: the state after running transaction
  ``index`` to its end against ``state.store`` (the reference interpreter,
  ``model.execute_transaction``), its record appended.
- ``state_class`` (default ``SerialState``): what ``initial`` creates; a subclass may add
  attrs fields with defaults, and ``execute`` keeps them (``attrs.evolve``).
- ``properties()``: none of its own; a subclass adds invariants over its states here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import attrs

from shardcheck.model.api import Action, Config, Mutant, Outcome, Property, TxRecord
from shardcheck.model.encoding import Constant
from shardcheck.model.language import Exists, Read, Scan, Transaction, Write, WriteIf, block_keys
from shardcheck.model.reference import execute_transaction
from shardcheck.model.store import Store

__all__ = ["Serial", "SerialState"]


@attrs.frozen
class SerialState:
    """The store so far, who last wrote each key, and what each executed transaction did."""

    block: Constant[tuple[Transaction, ...]]
    keys: Constant[tuple[str, ...]]
    store: Store
    writers: tuple[tuple[str, int], ...]
    records: tuple[TxRecord, ...]


class Serial:
    """Executes the block one transaction at a time, in block order."""

    name = "serial"
    summary = "reference semantics: one transaction at a time, in block order"
    default_workload = "counter:txs=3,keys=1"
    """Any block will do: there is one schedule."""
    default_workers = 1
    """One executor, whatever the worker count."""
    workload_kinds: ClassVar[tuple[str, ...] | None] = None
    """Any block of transactions."""
    state_class: ClassVar[type[SerialState]] = SerialState
    """The class of the states ``initial`` creates (a subclass may add fields)."""

    def initial(self, config: Config) -> SerialState:
        """The initial store and nothing executed."""
        block = config.workload.block
        present = tuple(k for k, _ in config.workload.initial.values)
        return self.state_class(block=Constant(block),
                                keys=Constant(block_keys(block, present)),
                                store=config.workload.initial, writers=(), records=())

    def actions(self, state: SerialState) -> Sequence[Action]:
        """Execute the next transaction, while one is left."""
        index = self.next_transaction(state)
        if index is None:
            return ()
        reads, writes = self.footprint(state, index)
        return (Action("executor", "execute", {"tx": index}, reads, writes),)

    def step(self, state: SerialState, action: Action) -> SerialState:
        """Run the transaction the action names against the store."""
        index = self.next_transaction(state)
        assert index is not None, "the block is done: no transaction is left to execute"
        return self.execute(state, index)

    def is_terminal(self, state: SerialState) -> bool:
        """Every transaction has executed."""
        return len(state.records) == len(state.block.value)

    def outcome(self, state: SerialState) -> Outcome:
        """The final store and the records, in block order."""
        return Outcome(state.store, tuple(r.index for r in state.records), state.records)

    def properties(self) -> Sequence[Property]:
        """None beyond the checker's own."""
        return ()

    def mutants(self) -> Sequence[Mutant]:
        """None: the reference has no variants."""
        return ()

    # Rules --------------------------------------------------------------------------

    def next_transaction(self, state: SerialState) -> int | None:
        """The transaction that runs next: block order, the first not yet executed."""
        position = len(state.records)
        return position if position < len(state.block.value) else None

    def footprint(self, state: SerialState,
                  index: int) -> tuple[frozenset[str], frozenset[str]]:
        """The keys transaction ``index`` may read and may write, as ``store:KEY``."""
        reads: set[str] = set()
        writes: set[str] = set()
        for stmt in state.block.value[index].program:
            if isinstance(stmt, Scan):
                reads.update(f"store:{k}" for k in state.keys.value if k.startswith(stmt.prefix))
            elif isinstance(stmt, Read | Exists):
                reads.add(f"store:{stmt.key}")
            elif isinstance(stmt, Write | WriteIf):
                writes.add(f"store:{stmt.key}")
        return frozenset(reads), frozenset(writes)

    def execute(self, state: SerialState, index: int) -> SerialState:
        """Transaction ``index`` runs to its end against the store (the reference
        interpreter); its record is appended and its writes recorded as the keys' last
        writer."""
        writers = dict(state.writers)
        record, store = execute_transaction(state.block.value[index], state.store, writers)
        return attrs.evolve(state, store=store, writers=tuple(sorted(writers.items())),
                            records=(*state.records, record))
