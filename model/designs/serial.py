"""Serial execution: the reference semantics, and the smallest complete design.

One actor executes the block in order, a whole transaction per action. There is one
schedule, so exploration finds one terminal state, which by construction equals the
reference outcome. It exists as the baseline every other design is held against and
as a readable example of the design interface.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from shardcheck.model.api import Action, Config, Mutant, Outcome, Property, TxRecord
from shardcheck.model.encoding import Constant
from shardcheck.model.language import Exists, Read, Scan, Transaction, Write, WriteIf, block_keys
from shardcheck.model.reference import execute_transaction
from shardcheck.model.store import Store


@attrs.frozen
class SerialState:
    """The store so far, who last wrote each key, and what each executed transaction did."""

    block: Constant[tuple[Transaction, ...]]
    keys: Constant[tuple[str, ...]]
    store: Store
    writers: tuple[tuple[str, int], ...]
    records: tuple[TxRecord, ...]


def _footprint(tx: Transaction, keys: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]]:
    reads: set[str] = set()
    writes: set[str] = set()
    for stmt in tx.program:
        if isinstance(stmt, Scan):
            reads.update(f"store:{k}" for k in keys if k.startswith(stmt.prefix))
        elif isinstance(stmt, Read | Exists):
            reads.add(f"store:{stmt.key}")
        elif isinstance(stmt, Write | WriteIf):
            writes.add(f"store:{stmt.key}")
    return frozenset(reads), frozenset(writes)


class Serial:
    """Executes the block one transaction at a time, in block order."""

    name = "serial"
    summary = "reference semantics: one transaction at a time, in block order"

    def initial(self, config: Config) -> SerialState:
        """The initial store and nothing executed."""
        block = config.workload.block
        present = tuple(k for k, _ in config.workload.initial.values)
        return SerialState(Constant(block), Constant(block_keys(block, present)),
                           config.workload.initial, (), ())

    def actions(self, state: SerialState) -> Sequence[Action]:
        """Execute the next transaction, while one is left."""
        position = len(state.records)
        if position >= len(state.block.value):
            return ()
        reads, writes = _footprint(state.block.value[position], state.keys.value)
        return (Action("executor", "execute", {"tx": position}, reads, writes),)

    def step(self, state: SerialState, action: Action) -> SerialState:
        """Run the transaction the action names against the store."""
        tx = state.block.value[len(state.records)]
        writers = dict(state.writers)
        record, store = execute_transaction(tx, state.store, writers)
        return SerialState(state.block, state.keys, store, tuple(sorted(writers.items())),
                           (*state.records, record))

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
