"""A Block-STM variant as a user writes one: a subclass that overrides one method.

Overriding anything means the built-in packed path (``block_stm_compact.py``, written
for ``BlockStm`` itself) no longer describes the class, so the explorer does not take
it. What the subclass keeps is ``BlockStm``'s declared structure (``model.Structure``),
so it is searched on the declared path, each worker's step memoized on the shared
memory and the worker's own registers. The override here changes nothing, so that the
benchmark compares the two paths on the same states:

    shardcheck explore benchmarks/block_stm_variant.py:OneMethod \\
        --workload counter:txs=3,keys=1 --workers 2
"""

from __future__ import annotations

from shardcheck.model.designs.block_stm import BlockStm, BlockStmState, Worker


class OneMethod(BlockStm):
    """Block-STM with its validation read overridden (to the same behaviour)."""

    def validate_read(self, state: BlockStmState, w: int, worker: Worker) -> BlockStmState:
        return super().validate_read(state, w, worker)
