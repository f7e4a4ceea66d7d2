"""Facts for every data value, decided by z3: invariants, commutativity, quorums.

The one home of z3 (``solver``, imported only when a proof is asked for), the small
syntax of state formulas, and the ``prove`` entry points the CLI calls.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from shardcheck.checker.prove.facts import (
    DEFAULT_TIMEOUT,
    ProofResult,
    build_invariant,
    prove_commute,
    prove_invariant,
    prove_quorum,
    quorum_config,
    select_transactions,
)
from shardcheck.checker.prove.formulas import (
    SYNTAX_HELP,
    StateFormula,
    check_atoms,
    parse_expression,
    parse_formula,
)

if TYPE_CHECKING:
    from shardcheck.checker.prove.solver import (
        OrderAnswer,
        input_classes,
        solve_order,
        solve_sides,
    )

# The solver imports z3, which costs a second: it is loaded on first use (PEP 562).
_LAZY = frozenset({'OrderAnswer', 'input_classes', 'solve_order', 'solve_sides'})


def __getattr__(name: str) -> object:
    """A name of the solver, imported with z3 the first time it is asked for."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.solver"), name)

__all__ = [
    "DEFAULT_TIMEOUT",
    "SYNTAX_HELP",
    "OrderAnswer",
    "ProofResult",
    "StateFormula",
    "build_invariant",
    "check_atoms",
    "input_classes",
    "parse_expression",
    "parse_formula",
    "prove_commute",
    "prove_invariant",
    "prove_quorum",
    "quorum_config",
    "select_transactions",
    "solve_order",
    "solve_sides",
]
