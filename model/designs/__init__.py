"""The built-in scheduler designs, by name.

Each built-in design is a class a user's variant subclasses: ``BlockStm``
(``shardcheck.model.designs.block_stm``, with its state values), ``Bank``
(``.bank``) and ``Serial`` (``.serial``); every module's essay has a section
"Extending this design" naming the methods a subclass may override.
"""

from __future__ import annotations

from shardcheck.model.api import Design
from shardcheck.model.designs.bank import Bank
from shardcheck.model.designs.bft import Bft
from shardcheck.model.designs.block_stm import BlockStm
from shardcheck.model.designs.serial import Serial
from shardcheck.model.designs.xmodule_2pc import TwoPhaseCommit
from shardcheck.model.designs.xmodule_receipts import Receipts


def builtin_designs() -> dict[str, Design]:
    """Every built-in design, by the name users type."""
    designs: tuple[Design, ...] = (Serial(), BlockStm(), Bank(), TwoPhaseCommit(),
                                     Receipts(), Bft())
    return {d.name: d for d in designs}


__all__ = ["Bank", "Bft", "BlockStm", "Receipts", "Serial", "TwoPhaseCommit", "builtin_designs"]
