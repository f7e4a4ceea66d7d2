"""Everything that explores, judges, records and talks to the user.

The Python API for users' own tests: ``resolve_design`` picks a design by name,
``explore`` searches it, ``write_trace``/``load_trace`` record a run and ``replay``
re-executes one.
``load_suite`` and ``run_suite`` run a CI suite as ``shardcheck ci`` does (docs/ci.md).
"""

from checker.ci import SuiteOutcome, run_suite
from checker.designs import DesignRef, resolve_design
from checker.errors import ShardcheckError
from checker.explorer import SearchResult, SearchSettings, explore
from checker.fuzz.api import FuzzFailure, fuzz_design
from checker.replay import ReplayResult, replay
from checker.suite import Suite, load_suite
from checker.trace import Trace, load_trace, write_trace

__all__ = [
    "DesignRef",
    "FuzzFailure",
    "ReplayResult",
    "SearchResult",
    "SearchSettings",
    "ShardcheckError",
    "Suite",
    "SuiteOutcome",
    "Trace",
    "explore",
    "fuzz_design",
    "load_suite",
    "load_trace",
    "replay",
    "resolve_design",
    "run_suite",
    "write_trace",
]
