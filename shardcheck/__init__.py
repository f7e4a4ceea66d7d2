"""shardcheck: a model checker and deterministic replay for parallel transaction execution.

``import shardcheck`` is the public API, for scripts and for users' own tests:

- the design protocol and its values (``Design``, ``Action``, ``Config``, ``Property``,
  ``Outcome``, ``Workload``, the transaction language, ``build_workload``), from
  ``shardcheck.model``;
- the checks (``explore``, ``fuzz_design``, ``replay``, ``check_history``,
  ``prove_invariant`` and the rest), from ``shardcheck.checker``.

The model's names are imported with the package (they are light); the checker's on first
use (PEP 562), so ``import shardcheck`` pays for no solver, graph or fuzzing library until
a check is asked for. The two halves are also importable on their own:
``from shardcheck import model, checker``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shardcheck import checker as _checker
from shardcheck.model import (
    Action,
    Config,
    Design,
    KnownFailure,
    Mutant,
    Outcome,
    Property,
    ReadRecord,
    Store,
    Transaction,
    TxRecord,
    Workload,
    build_workload,
    builtin_designs,
    fingerprint,
)

if TYPE_CHECKING:
    from shardcheck.checker import (
        DesignRef,
        FuzzFailure,
        Judge,
        ReplayResult,
        SearchResult,
        SearchSettings,
        ShardcheckError,
        Suite,
        SuiteOutcome,
        Trace,
        Violation,
        check_history,
        explore,
        explore_parallel,
        fuzz_design,
        load_history,
        load_suite,
        load_trace,
        prove_commute,
        prove_invariant,
        prove_quorum,
        replay,
        resolve_design,
        run_suite,
        write_trace,
    )

__all__ = [
    "Action",
    "Config",
    "Design",
    "DesignRef",
    "FuzzFailure",
    "Judge",
    "KnownFailure",
    "Mutant",
    "Outcome",
    "Property",
    "ReadRecord",
    "ReplayResult",
    "SearchResult",
    "SearchSettings",
    "ShardcheckError",
    "Store",
    "Suite",
    "SuiteOutcome",
    "Trace",
    "Transaction",
    "TxRecord",
    "Violation",
    "Workload",
    "build_workload",
    "builtin_designs",
    "check_history",
    "explore",
    "explore_parallel",
    "fingerprint",
    "fuzz_design",
    "load_history",
    "load_suite",
    "load_trace",
    "prove_commute",
    "prove_invariant",
    "prove_quorum",
    "replay",
    "resolve_design",
    "run_suite",
    "write_trace",
]


def __getattr__(name: str) -> object:
    """A name of the checker's, imported from its subsystem on first use."""
    if name in _checker.__all__:
        return getattr(_checker, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public names too, though the checker's are not yet imported."""
    return sorted({*globals(), *__all__})
