"""shardcheck: a model checker and deterministic replay for parallel transaction execution.

``import shardcheck`` is the public API, for scripts and for users' own tests:

- the design protocol and its values (``Design``, ``Action``, ``Config``, ``Property``,
  ``Outcome``, ``Workload``, the transaction language, ``build_workload``), from
  ``shardcheck.model``;
- the checks (``explore``, ``fuzz_design``, ``replay``, ``check_history``,
  ``prove_invariant`` and the rest), from ``shardcheck.checker``.

Every name is imported on first use (PEP 562): ``import shardcheck`` costs almost nothing
(the pytest plugin loads it in every test run), and no solver, graph or fuzzing library
is loaded until a check is asked for. The two halves are also importable on their own:
``from shardcheck import model, checker``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from shardcheck import checker as _checker

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


_FROM_MODEL = frozenset({
    "Action", "Config", "Design", "KnownFailure", "Mutant", "Outcome", "Property",
    "ReadRecord", "Store", "Transaction", "TxRecord", "Workload", "build_workload",
    "builtin_designs", "fingerprint"
})


def __getattr__(name: str) -> object:
    """A public name, imported on first use: from the model, or from the checker's
    subsystem that holds it."""
    if name in _FROM_MODEL:
        return getattr(importlib.import_module("shardcheck.model"), name)
    if name in _checker.__all__:
        return getattr(_checker, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public names too, though the checker's are not yet imported."""
    return sorted({*globals(), *__all__})
