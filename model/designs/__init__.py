"""The built-in scheduler designs, by name."""

from __future__ import annotations

from model.api import Design
from model.designs.bank import Bank
from model.designs.bft import Bft
from model.designs.block_stm import BlockStm
from model.designs.serial import Serial
from model.designs.xmodule_2pc import TwoPhaseCommit
from model.designs.xmodule_receipts import Receipts


def builtin_designs() -> dict[str, Design]:
    """Every built-in design, by the name users type."""
    designs: tuple[Design, ...] = (Serial(), BlockStm(), Bank(), TwoPhaseCommit(),
                                     Receipts(), Bft())
    return {d.name: d for d in designs}
