"""Everything that explores, judges, records and talks to the user.

One package per subsystem, each with its public seam in its ``__init__``; imports run
downwards only (tests/test_layering.py):

- ``errors``   the exception hierarchy and exit codes every part shares;
- ``prove``    z3: facts for every data value, and the solver the others ask;
- ``history``  recorded histories and their serializability;
- ``design``   a design as the checker sees it: resolved by name, called safely, judged;
- ``trace``    trace files, replay and the HTML page of a run;
- ``search``   exhaustive search, in one process, several, or on a Dask cluster;
- ``fuzz``     hypothesis campaigns and ``fuzz_design`` for users' own tests;
- ``ci``       suites of checks with expected verdicts, and their JUnit report;
- ``cli``      the ``shardcheck`` command.

The names below are the checker's half of ``import shardcheck``. They are imported on
first use (PEP 562), not with the package: importing ``shardcheck.checker.search`` (as
every parallel worker process does) must not pay for hypothesis, z3, jsonschema and the
CI code, which only fuzzing, proofs, traces and CI use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shardcheck.checker.ci import Suite, SuiteOutcome, load_suite, run_suite
    from shardcheck.checker.design import DesignRef, Judge, Violation, resolve_design
    from shardcheck.checker.errors import ShardcheckError
    from shardcheck.checker.fuzz import FuzzFailure, fuzz_design
    from shardcheck.checker.history import check_history, load_history
    from shardcheck.checker.prove import prove_commute, prove_invariant, prove_quorum
    from shardcheck.checker.search import (
        SearchResult,
        SearchSettings,
        explore,
        explore_parallel,
    )
    from shardcheck.checker.trace import ReplayResult, Trace, load_trace, replay, write_trace

# Each public name and the package whose seam exports it.
_HOMES = {
    "DesignRef": "design",
    "FuzzFailure": "fuzz",
    "Judge": "design",
    "ReplayResult": "trace",
    "SearchResult": "search",
    "SearchSettings": "search",
    "ShardcheckError": "errors",
    "Suite": "ci",
    "SuiteOutcome": "ci",
    "Trace": "trace",
    "Violation": "design",
    "check_history": "history",
    "explore": "search",
    "explore_parallel": "search",
    "fuzz_design": "fuzz",
    "load_history": "history",
    "load_suite": "ci",
    "load_trace": "trace",
    "prove_commute": "prove",
    "prove_invariant": "prove",
    "prove_quorum": "prove",
    "replay": "trace",
    "resolve_design": "design",
    "run_suite": "ci",
    "write_trace": "trace",
}

__all__ = [
    "DesignRef",
    "FuzzFailure",
    "Judge",
    "ReplayResult",
    "SearchResult",
    "SearchSettings",
    "ShardcheckError",
    "Suite",
    "SuiteOutcome",
    "Trace",
    "Violation",
    "check_history",
    "explore",
    "explore_parallel",
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
    """A public name, imported from its subsystem the first time it is asked for."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names too, though not yet imported."""
    return sorted({*globals(), *__all__})
