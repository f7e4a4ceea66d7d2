"""A Block-STM variant as a user writes one: a subclass that overrides one method.

Overriding anything means the built-in packed path (``block_stm_compact.py``, written
for ``BlockStm`` itself) no longer describes the class, so the explorer does not take
it, and the subclass is searched on the ordinary path. ``OneMethodDeclared`` adds the
three lines of ``model.Structure``: a worker's step reads and writes only the shared
memory (every field but the block and the workers) and itself, so the explorer memoizes
each worker's step on the pair, as the packed path does by hand. The override here
changes nothing, so that the benchmark compares the paths on the same states:

    shardcheck explore benchmarks/block_stm_variant.py:OneMethodDeclared \\
        --workload counter:txs=3,keys=1 --workers 2
"""

from __future__ import annotations

from typing import ClassVar

from shardcheck.model import Structure
from shardcheck.model.designs.block_stm import BlockStm, BlockStmState, Worker


class OneMethod(BlockStm):
    """Block-STM with its validation read overridden (to the same behaviour)."""

    def validate_read(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        return super().validate_read(state, w, worker)


class OneMethodDeclared(OneMethod):
    """The same variant, its structure declared (the declared path)."""

    structure: ClassVar[Structure] = Structure(actors="workers", constant=("block",),
                                               interchangeable=True)
