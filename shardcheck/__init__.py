"""shardcheck: a model checker and deterministic replay for parallel transaction execution.

``import shardcheck`` is the public API, for scripts and for users' own tests:

- the design protocol and its values (``Design``, ``Action``, ``Config``, ``Property``,
  ``Outcome``, ``Workload``, the transaction language, ``build_workload``), from
  ``shardcheck.model``;
- the checks (``explore``, ``fuzz_design``, ``replay``, ``check_history``,
  ``prove_invariant`` and the rest), from ``shardcheck.checker``.

Every name is imported on first use (PEP 562), so ``import shardcheck`` costs nothing
until a name is asked for. The two halves are also importable on their own:
``from shardcheck import model, checker``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

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

_FROM_MODEL = frozenset({
    "Action", "Config", "Design", "KnownFailure", "Mutant", "Outcome", "Property",
    "ReadRecord", "Store", "Transaction", "TxRecord", "Workload", "build_workload",
    "builtin_designs", "fingerprint",
})

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
    """A public name, imported from its half the first time it is asked for."""
    if name in _FROM_MODEL:
        home = "model"
    elif name in __all__:
        home = "checker"
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names too, though not yet imported."""
    return sorted({*globals(), *__all__})
