"""The built-in scheduler designs, by name."""

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
